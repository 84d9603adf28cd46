package weir.persistence;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates the Akka Persistence JDBC tables at start, from the DDL shipped in the persistence-jdbc
 * jar. Idempotent: every {@code CREATE TABLE/INDEX} is made {@code IF NOT EXISTS}, statements run
 * one by one with auto-commit, and on PostgreSQL a session advisory lock serialises nodes that
 * start at the same time. The shipped PostgreSQL DDL builds two indexes {@code CONCURRENTLY}; that
 * form waits for every other open transaction, including another node's session waiting on the
 * advisory lock, which deadlocks. Indexes are only ever built here on a new schema, so the plain
 * form is used.
 */
public final class JournalSchema {
  private static final Logger log = LoggerFactory.getLogger(JournalSchema.class);

  /** Arbitrary, fixed key of the advisory lock that serialises schema creation on PostgreSQL. */
  private static final long PG_SCHEMA_LOCK = 0x5745_4952_0001L;

  private static final Pattern CREATE =
      Pattern.compile(
          "^CREATE\\s+(UNIQUE\\s+)?(TABLE|INDEX)\\s+(?!IF\\s+NOT\\s+EXISTS)",
          Pattern.CASE_INSENSITIVE);

  private JournalSchema() {}

  /**
   * Applies the DDL of {@code db}'s dialect; safe to call on every start, from several nodes at
   * once.
   */
  public static void ensure(JournalDatabase db) {
    List<String> statements = statements(db.dialect());
    try (Connection c = DriverManager.getConnection(db.url(), db.user(), db.password())) {
      c.setAutoCommit(true);
      try (Statement s = c.createStatement()) {
        if (db.dialect() == JournalDatabase.Dialect.POSTGRES) {
          s.execute("SELECT pg_advisory_lock(" + PG_SCHEMA_LOCK + ")");
        }
        try {
          for (String sql : statements) {
            s.execute(sql);
          }
        } finally {
          if (db.dialect() == JournalDatabase.Dialect.POSTGRES) {
            s.execute("SELECT pg_advisory_unlock(" + PG_SCHEMA_LOCK + ")");
          }
        }
      }
      log.info("Journal schema ready ({} statements, {})", statements.size(), db.dialect());
    } catch (SQLException e) {
      throw new IllegalStateException(
          "Could not create the journal schema on "
              + db.dialect()
              + " ("
              + e.getSQLState()
              + "): "
              + e.getMessage(),
          e);
    }
  }

  /** The dialect's DDL as idempotent statements. */
  static List<String> statements(JournalDatabase.Dialect dialect) {
    String ddl;
    try (InputStream in =
        JournalSchema.class.getClassLoader().getResourceAsStream(dialect.ddlResource)) {
      if (in == null)
        throw new IllegalStateException("DDL resource missing: " + dialect.ddlResource);
      ddl = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalStateException("Cannot read " + dialect.ddlResource, e);
    }
    List<String> out = new ArrayList<>();
    StringBuilder current = new StringBuilder();
    for (String line : ddl.split("\n")) {
      String trimmed = line.strip();
      if (trimmed.startsWith("--") || trimmed.isEmpty()) continue;
      current.append(line).append('\n');
      if (trimmed.endsWith(";")) {
        out.add(idempotent(current.toString().strip().replaceAll(";$", "")));
        current.setLength(0);
      }
    }
    if (!current.toString().isBlank()) out.add(idempotent(current.toString().strip()));
    return out;
  }

  private static String idempotent(String statement) {
    statement =
        statement.replaceFirst("(?i)^(CREATE\\s+(?:UNIQUE\\s+)?INDEX)\\s+CONCURRENTLY\\b", "$1");
    Matcher m = CREATE.matcher(statement);
    if (!m.find()) return statement;
    return m.replaceFirst(m.group(0) + "IF NOT EXISTS ");
  }
}
