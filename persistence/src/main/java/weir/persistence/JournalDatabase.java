package weir.persistence;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import java.nio.file.Path;
import java.util.Map;

/**
 * The JDBC database behind Akka Persistence (journal, snapshots, durable state): an H2 file for a
 * single node, PostgreSQL for a cluster. Produces the Akka Persistence JDBC configuration; {@link
 * JournalSchema} creates its tables.
 *
 * @param dialect which database
 * @param url JDBC URL
 * @param user user name
 * @param password password (never logged: {@link #toString()} hides it)
 * @param maxConnections connection pool size
 */
public record JournalDatabase(
    Dialect dialect, String url, String user, String password, int maxConnections) {

  /** The databases Weir's journal runs on. */
  public enum Dialect {
    H2("slick.jdbc.H2Profile$", "org.h2.Driver", "schema/h2/h2-create-schema.sql"),
    POSTGRES(
        "slick.jdbc.PostgresProfile$",
        "org.postgresql.Driver",
        "schema/postgres/postgres-create-schema.sql");

    final String slickProfile;
    final String driver;
    final String ddlResource;

    Dialect(String slickProfile, String driver, String ddlResource) {
      this.slickProfile = slickProfile;
      this.driver = driver;
      this.ddlResource = ddlResource;
    }
  }

  /** An H2 journal in {@code <dir>/journal.mv.db}. */
  public static JournalDatabase h2File(Path dir) {
    String url =
        "jdbc:h2:file:"
            + dir.toAbsolutePath().resolve("journal")
            + ";DB_CLOSE_ON_EXIT=FALSE;WRITE_DELAY=0";
    return new JournalDatabase(Dialect.H2, url, "weir", "", 8);
  }

  /** A PostgreSQL journal. */
  public static JournalDatabase postgres(String url, String user, String password) {
    return new JournalDatabase(Dialect.POSTGRES, url, user, password, 8);
  }

  /**
   * Configuration for Akka Persistence JDBC with one shared Slick database for journal, snapshots,
   * read journal and durable state. Layer it over the application config ({@code withFallback}).
   */
  public Config akkaConfig() {
    Config db =
        ConfigFactory.parseMap(
            Map.of(
                "url", url,
                "user", user,
                "password", password,
                "driver", dialect.driver,
                "numThreads", maxConnections,
                "maxConnections", maxConnections,
                "minConnections", 1,
                "connectionTestQuery", "SELECT 1"));
    return ConfigFactory.empty()
        .withValue(
            "akka-persistence-jdbc.shared-databases.slick.profile",
            ConfigValueFactory.fromAnyRef(dialect.slickProfile))
        .withValue("akka-persistence-jdbc.shared-databases.slick.db", db.root())
        .withFallback(
            ConfigFactory.parseString(
                """
            akka.persistence.journal.plugin = "jdbc-journal"
            akka.persistence.snapshot-store.plugin = "jdbc-snapshot-store"
            akka.persistence.state.plugin = "jdbc-durable-state-store"
            jdbc-journal.use-shared-db = "slick"
            jdbc-snapshot-store.use-shared-db = "slick"
            jdbc-read-journal.use-shared-db = "slick"
            jdbc-durable-state-store.use-shared-db = "slick"
            """));
  }

  @Override
  public String toString() {
    return "JournalDatabase[" + dialect + " " + url + " user=" + user + "]";
  }
}
