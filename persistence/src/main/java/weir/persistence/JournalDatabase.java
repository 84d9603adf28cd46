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

  /**
   * An H2 journal in {@code <dir>/journal.mv.db}, opened through {@link SyncedFilePath}: every
   * write is synced ({@code O_DSYNC}), so a commit is on disk when H2 returns it and a 200 survives
   * a power loss. {@code WRITE_DELAY=0}: a commit is written before it returns (never only in
   * memory). {@code MAX_LENGTH_INPLACE_LOB}: journal payloads up to 256 KiB (a group of a few
   * hundred events) stay in the table's own pages; H2's default (256 bytes) put every event into
   * LOB storage, at four times the CPU per commit and ~7 KB of file per event. {@code
   * RETENTION_TIME=0}: H2 appends each commit as a new chunk and, by default, reuses the space of
   * chunks without live data only 45 s later, a guard against writes the operating system may still
   * reorder or lose. Ours are synced one by one, in order, so the guard buys nothing and cost 45 s
   * (then, at 2 s, still two seconds) of every byte written: under load the file grew by hundreds
   * of MB (the store header H2 rewrites whenever a chunk it points past is freed keeps recovery
   * sound). With 0 the file stays near what is live ({@code JournalCompactionTest}: ~8 MB after
   * ~180 MB of commits that leave ~1.3 MB live); chunks that stay a little live are rewritten by
   * {@link H2Compaction}.
   */
  public static JournalDatabase h2File(Path dir) {
    SyncedFilePath.register();
    String url =
        "jdbc:h2:"
            + SyncedFilePath.SCHEME
            + ":"
            + dir.toAbsolutePath().resolve("journal")
            + ";DB_CLOSE_ON_EXIT=FALSE;WRITE_DELAY=0;MAX_LENGTH_INPLACE_LOB=262144;RETENTION_TIME=0";
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
            # H2 has one writer: parallel journal transactions only queue on its lock, while one
            # at a time lets every write that arrives meanwhile join the next transaction.
            jdbc-journal.parallelism = ${parallelism}
            jdbc-snapshot-store.use-shared-db = "slick"
            jdbc-read-journal.use-shared-db = "slick"
            jdbc-durable-state-store.use-shared-db = "slick"
            """
                    .replace("${parallelism}", dialect == Dialect.H2 ? "1" : "8")));
  }

  @Override
  public String toString() {
    return "JournalDatabase[" + dialect + " " + url + " user=" + user + "]";
  }
}
