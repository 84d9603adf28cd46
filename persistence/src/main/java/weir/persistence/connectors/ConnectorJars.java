package weir.persistence.connectors;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import weir.persistence.JournalDatabase;

/**
 * The uploaded Connector SDK jars, stored content-addressed (id = SHA-256 of the bytes) in the
 * journal database, so that every node of a cluster can load any of them. A jar is immutable: an
 * upload of the same bytes finds the stored one. The table is created on first use, idempotently.
 *
 * <p>Blocking JDBC: call from a blocking dispatcher. Thread-safe (a connection per call).
 */
public final class ConnectorJars {
  private static final String TABLE = "weir_connector_jars";

  /** A stored jar: its id, size, the connector classes it holds, and when it was uploaded. */
  public record Jar(String id, long size, List<String> classes, long uploadedAtMillis) {
    public Jar {
      classes = List.copyOf(classes);
    }
  }

  private final JournalDatabase db;
  private volatile boolean ensured;

  public ConnectorJars(JournalDatabase db) {
    this.db = db;
  }

  /** The id of {@code bytes}: the hex SHA-256. */
  public static String idOf(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Stores {@code bytes} with the connector {@code classes} found in it; returns the stored jar
   * (the one already there when the same bytes were uploaded before) and whether it is new.
   */
  public Stored put(byte[] bytes, List<String> classes) throws SQLException {
    String id = idOf(bytes);
    try (Connection c = open()) {
      Optional<Jar> existing = find(c, id);
      if (existing.isPresent()) return new Stored(existing.get(), false);
      long now = System.currentTimeMillis();
      try (PreparedStatement ps =
          c.prepareStatement(
              "INSERT INTO "
                  + TABLE
                  + " (id, size_bytes, classes, uploaded_at, content) VALUES (?, ?, ?, ?, ?)")) {
        ps.setString(1, id);
        ps.setLong(2, bytes.length);
        ps.setString(3, String.join("\n", classes));
        ps.setTimestamp(4, Timestamp.from(Instant.ofEpochMilli(now)));
        ps.setBytes(5, bytes);
        ps.executeUpdate();
      } catch (SQLException e) {
        // Another node stored the same bytes a moment ago.
        Optional<Jar> raced = find(c, id);
        if (raced.isPresent()) return new Stored(raced.get(), false);
        throw e;
      }
      return new Stored(new Jar(id, bytes.length, classes, now), true);
    }
  }

  /** What {@link #put} did. */
  public record Stored(Jar jar, boolean created) {}

  /** The bytes of a stored jar. */
  public Optional<byte[]> bytes(String id) throws SQLException {
    try (Connection c = open();
        PreparedStatement ps =
            c.prepareStatement("SELECT content FROM " + TABLE + " WHERE id = ?")) {
      ps.setString(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.of(rs.getBytes(1)) : Optional.empty();
      }
    }
  }

  /** Every stored jar, oldest first. */
  public List<Jar> list() throws SQLException {
    List<Jar> out = new ArrayList<>();
    try (Connection c = open();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT id, size_bytes, classes, uploaded_at FROM "
                    + TABLE
                    + " ORDER BY uploaded_at, id")) {
      while (rs.next()) out.add(jar(rs));
    }
    return out;
  }

  private static Optional<Jar> find(Connection c, String id) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT id, size_bytes, classes, uploaded_at FROM " + TABLE + " WHERE id = ?")) {
      ps.setString(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.of(jar(rs)) : Optional.empty();
      }
    }
  }

  private static Jar jar(ResultSet rs) throws SQLException {
    String classes = rs.getString(3);
    return new Jar(
        rs.getString(1),
        rs.getLong(2),
        classes == null || classes.isEmpty() ? List.of() : Arrays.asList(classes.split("\n")),
        rs.getTimestamp(4).getTime());
  }

  private Connection open() throws SQLException {
    Connection c = DriverManager.getConnection(db.url(), db.user(), db.password());
    c.setAutoCommit(true);
    if (!ensured) {
      try (Statement s = c.createStatement()) {
        s.execute(
            "CREATE TABLE IF NOT EXISTS "
                + TABLE
                + " (id VARCHAR(64) PRIMARY KEY, size_bytes BIGINT NOT NULL, classes TEXT NOT NULL,"
                + " uploaded_at TIMESTAMP NOT NULL, content "
                + (db.dialect() == JournalDatabase.Dialect.POSTGRES ? "BYTEA" : "BLOB")
                + " NOT NULL)");
      }
      ensured = true;
    }
    return c;
  }
}
