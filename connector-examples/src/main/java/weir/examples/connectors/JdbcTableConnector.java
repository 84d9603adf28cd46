package weir.examples.connectors;

import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import weir.sdk.ConnectorException;
import weir.sdk.ExtractMode;
import weir.sdk.Operations;
import weir.sdk.SourceConnector;
import weir.sdk.Table;

/**
 * Copies one table of a PostgreSQL database incrementally, by a timestamp column that every insert
 * and update sets (a {@code DEFAULT now()} plus a trigger, or the application), with deletions read
 * from an optional tombstone table. The node provides PostgreSQL's JDBC driver; the SQL it sends
 * (row-value comparison, {@code LIMIT}) is PostgreSQL's.
 *
 * <p>Configuration:
 *
 * <ul>
 *   <li>{@code jdbc_url} (required): {@code jdbc:postgresql://host:5432/database}. Error messages
 *       show it without its parameters (which may hold credentials).
 *   <li>{@code user}, {@code password} (optional): the database login; never shown in a message.
 *   <li>{@code table} (required): the source table, a plain SQL identifier (letters, digits, {@code
 *       _}); the emitted table is named after it, lower-case.
 *   <li>{@code primary_key} (default {@code id}): the key columns, comma-separated.
 *   <li>{@code cursor_column} (default {@code updated_at}): a {@code timestamp} or {@code
 *       timestamptz} column; rows where it is NULL are not synced.
 *   <li>{@code tombstone_table} (optional): a table with the primary-key columns (of the same
 *       types) and a {@code deleted_at} timestamp or timestamptz: a row per key deleted at the
 *       source, {@code deleted_at} the time of its last deletion.
 *   <li>{@code page_size} (default 1000): rows per query, from 1 to 100000.
 * </ul>
 *
 * <p>State, under the table's name as the convention wants (a per-table re-sync removes it): {@code
 * {"<table>": {"cursor": "<ISO timestamp>", "tombstone_cursor": "<ISO timestamp>"}}}, an instant
 * ({@code 2024-05-01T10:00:00.123456Z}) for a {@code timestamptz} column, a local date-time for a
 * {@code timestamp} one. Every row with a cursor value up to {@code cursor} has been emitted, and
 * every tombstone up to {@code tombstone_cursor}.
 *
 * <p>Semantics: one {@link ExtractMode#INCREMENTAL_UPDATES} table keyed by {@code primary_key}, its
 * column types inferred from the values: {@code timestamptz} becomes an {@link Instant}, {@code
 * timestamp} a {@link LocalDateTime}, {@code date} a {@link LocalDate}; numbers, booleans, strings
 * and {@code bytea} stay as the driver reads them; anything else (uuid, json, arrays, intervals) is
 * its text. A sync upserts every row whose cursor is after the saved one, in pages ordered by
 * (cursor, key): within a sync the next page starts after the last (cursor, key) read, so rows
 * sharing one cursor value across a page boundary are neither skipped nor read again. The
 * checkpoint after a page saves the last cursor value known to be read completely (a page that ends
 * inside the value it started in saves nothing new), so a sync that fails resumes by reading again
 * at most the rows of the cursor value it was in (harmless: upserts by key). Then it deletes the
 * keys of the tombstones after the saved tombstone cursor whose row is not in the source table (a
 * row deleted and inserted again stays live). As with any cursor, a transaction that commits a
 * cursor value older than one already synced is missed: set the cursor at commit, or re-sync.
 */
public final class JdbcTableConnector implements SourceConnector {
  private static final Pattern IDENTIFIER = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,62}");
  private static final DateTimeFormatter LOCAL = DateTimeFormatter.ISO_LOCAL_DATE_TIME;

  @Override
  public List<Table> schema(Map<String, String> configuration) {
    Settings s = Settings.from(configuration);
    return List.of(new Table(s.table(), s.primaryKey(), Map.of(), ExtractMode.INCREMENTAL_UPDATES));
  }

  @Override
  public void update(Map<String, String> configuration, Map<String, Object> state, Operations ops)
      throws SQLException {
    Settings s = Settings.from(configuration);
    Map<String, Object> next = new LinkedHashMap<>(state);
    Map<String, Object> mine = savedState(state.get(s.table()), s);
    Consumer<Map<String, Object>> save =
        changed -> {
          mine.putAll(changed);
          next.put(s.table(), new LinkedHashMap<>(mine));
          ops.checkpoint(next);
        };
    try (Connection db = connect(s)) {
      Pass rows =
          new Pass(
              "table " + s.table(), s.table(), "s", "s.*", null, s.cursorColumn(), "cursor_column");
      sweep(
          db,
          s,
          rows,
          (String) mine.get("cursor"),
          row -> ops.upsert(s.table(), row),
          c -> save.accept(Map.of("cursor", c)));
      if (s.tombstoneTable() == null) return;
      List<String> columns = new ArrayList<>();
      List<String> joins = new ArrayList<>();
      for (String k : s.primaryKey()) {
        columns.add("d." + k);
        joins.add("s." + k + " = d." + k);
      }
      columns.add("d.deleted_at");
      Pass tombstones =
          new Pass(
              "tombstone table " + s.tombstoneTable(),
              s.tombstoneTable(),
              "d",
              String.join(", ", columns),
              "NOT EXISTS (SELECT 1 FROM "
                  + s.table()
                  + " s WHERE "
                  + String.join(" AND ", joins)
                  + ")",
              "deleted_at",
              "tombstone_table");
      sweep(
          db,
          s,
          tombstones,
          (String) mine.get("tombstone_cursor"),
          row -> {
            row.keySet().retainAll(s.primaryKey());
            ops.delete(s.table(), row);
          },
          c -> save.accept(Map.of("tombstone_cursor", c)));
    }
  }

  /**
   * One ordered pass over {@code table} (as {@code alias}): {@code columns} of its rows whose
   * {@code timestamp} column is after a saved value and that match {@code condition} (if any), by
   * (timestamp, key); {@code setting} is the configuration key that names the timestamp column.
   */
  private record Pass(
      String description,
      String table,
      String alias,
      String columns,
      String condition,
      String timestamp,
      String setting) {}

  /**
   * Runs {@code pass} after {@code saved}, page by page, handing each row to {@code emit}; after a
   * page, hands {@code save} the last timestamp whose rows are all read, if it moved.
   */
  private static void sweep(
      Connection db,
      Settings s,
      Pass pass,
      String saved,
      Consumer<Map<String, Object>> emit,
      Consumer<String> save) {
    Object afterTimestamp = saved == null ? null : parseCursor(saved, s, pass);
    List<Object> afterKey = null;
    Object previous = null;
    String complete = saved;
    String checkpointed = saved;
    try {
      while (true) {
        int read = 0;
        try (PreparedStatement q =
            db.prepareStatement(query(pass, s, afterTimestamp != null, afterKey != null))) {
          int p = 1;
          if (afterTimestamp != null) q.setObject(p++, bindable(afterTimestamp));
          if (afterKey != null) for (Object k : afterKey) q.setObject(p++, k);
          q.setInt(p, s.pageSize());
          try (ResultSet rs = q.executeQuery()) {
            Columns columns = Columns.of(rs.getMetaData(), pass, s);
            while (rs.next()) {
              read++;
              Object timestamp = columns.value(rs, columns.timestamp());
              // Rows come by timestamp: once it changes, every row of the previous one is read.
              if (previous != null && !timestamp.equals(previous)) complete = iso(previous);
              previous = timestamp;
              afterTimestamp = timestamp;
              afterKey = columns.rawKey(rs);
              emit.accept(columns.row(rs));
            }
          }
        }
        boolean last = read < s.pageSize();
        if (last && previous != null) complete = iso(previous);
        if (!Objects.equals(complete, checkpointed)) {
          save.accept(complete);
          checkpointed = complete;
        }
        if (last) return;
      }
    } catch (SQLException e) {
      throw new ConnectorException(
          "reading " + pass.description() + " failed: " + s.redact(firstLine(e.getMessage())), e);
    }
  }

  private static String query(Pass pass, Settings s, boolean after, boolean keyset) {
    String timestamp = pass.alias() + "." + pass.timestamp();
    List<String> order = new ArrayList<>(List.of(timestamp));
    for (String k : s.primaryKey()) order.add(pass.alias() + "." + k);
    StringBuilder sql = new StringBuilder("SELECT ").append(pass.columns());
    sql.append(" FROM ").append(pass.table()).append(' ').append(pass.alias());
    sql.append(" WHERE ").append(timestamp).append(" IS NOT NULL");
    if (pass.condition() != null) sql.append(" AND ").append(pass.condition());
    if (keyset)
      sql.append(" AND (")
          .append(String.join(", ", order))
          .append(") > (")
          .append(String.join(", ", Collections.nCopies(order.size(), "?")))
          .append(")");
    else if (after) sql.append(" AND ").append(timestamp).append(" > ?");
    return sql.append(" ORDER BY ").append(String.join(", ", order)).append(" LIMIT ?").toString();
  }

  /** The columns of a result: their names (lower-case) and how each is read. */
  private record Columns(List<String> names, List<Kind> kinds, int timestamp, List<Integer> key) {
    enum Kind {
      INSTANT,
      LOCAL_DATE_TIME,
      LOCAL_DATE,
      AS_READ
    }

    static Columns of(ResultSetMetaData md, Pass pass, Settings s) throws SQLException {
      List<String> names = new ArrayList<>();
      List<Kind> kinds = new ArrayList<>();
      for (int i = 1; i <= md.getColumnCount(); i++) {
        names.add(md.getColumnLabel(i).toLowerCase(Locale.ROOT));
        String type = md.getColumnTypeName(i);
        kinds.add(
            "timestamptz".equalsIgnoreCase(type)
                    || md.getColumnType(i) == Types.TIMESTAMP_WITH_TIMEZONE
                ? Kind.INSTANT
                : switch (md.getColumnType(i)) {
                  case Types.TIMESTAMP -> Kind.LOCAL_DATE_TIME;
                  case Types.DATE -> Kind.LOCAL_DATE;
                  default -> Kind.AS_READ;
                });
      }
      int timestamp = index(names, pass.timestamp(), pass, pass.setting());
      if (kinds.get(timestamp) != Kind.INSTANT && kinds.get(timestamp) != Kind.LOCAL_DATE_TIME)
        throw new ConnectorException(
            "column '"
                + pass.timestamp()
                + "' of "
                + pass.description()
                + " is a "
                + md.getColumnTypeName(timestamp + 1)
                + ": "
                + pass.setting()
                + " needs a timestamp or timestamptz column");
      List<Integer> key = new ArrayList<>();
      for (String k : s.primaryKey()) key.add(index(names, k, pass, "primary_key"));
      return new Columns(names, kinds, timestamp, key);
    }

    private static int index(List<String> names, String column, Pass pass, String setting) {
      int i = names.indexOf(column);
      if (i < 0)
        throw new ConnectorException(
            pass.description() + " has no column '" + column + "' (" + setting + ")");
      return i;
    }

    /** Column {@code i} (0-based) of the current row as an SDK value. */
    Object value(ResultSet rs, int i) throws SQLException {
      return switch (kinds.get(i)) {
        case INSTANT -> {
          OffsetDateTime v = rs.getObject(i + 1, OffsetDateTime.class);
          yield v == null ? null : v.toInstant();
        }
        case LOCAL_DATE_TIME -> rs.getObject(i + 1, LocalDateTime.class);
        case LOCAL_DATE -> rs.getObject(i + 1, LocalDate.class);
        case AS_READ -> {
          Object v = rs.getObject(i + 1);
          yield v == null
                  || v instanceof String
                  || v instanceof Boolean
                  || v instanceof Short
                  || v instanceof Integer
                  || v instanceof Long
                  || v instanceof BigDecimal
                  || v instanceof Float
                  || v instanceof Double
                  || v instanceof byte[]
              ? v
              : v.toString();
        }
      };
    }

    Map<String, Object> row(ResultSet rs) throws SQLException {
      Map<String, Object> row = new LinkedHashMap<>();
      for (int i = 0; i < names.size(); i++) row.put(names.get(i), value(rs, i));
      return row;
    }

    /** The key of the current row as the driver reads it, to compare with in the next query. */
    List<Object> rawKey(ResultSet rs) throws SQLException {
      List<Object> out = new ArrayList<>();
      for (int i : key) out.add(rs.getObject(i + 1));
      return out;
    }
  }

  private static Object bindable(Object timestamp) {
    return timestamp instanceof Instant i ? OffsetDateTime.ofInstant(i, ZoneOffset.UTC) : timestamp;
  }

  private static String iso(Object timestamp) {
    return timestamp instanceof LocalDateTime t ? LOCAL.format(t) : timestamp.toString();
  }

  private static Object parseCursor(String saved, Settings s, Pass pass) {
    try {
      return saved.endsWith("Z") ? Instant.parse(saved) : LocalDateTime.parse(saved, LOCAL);
    } catch (DateTimeParseException e) {
      throw new ConnectorException(
          "the saved state of table "
              + s.table()
              + " holds an unreadable cursor for "
              + pass.description()
              + " ('"
              + saved
              + "'): re-sync the table");
    }
  }

  private static Map<String, Object> savedState(Object saved, Settings s) {
    Map<String, Object> out = new LinkedHashMap<>();
    if (saved == null) return out;
    if (!(saved instanceof Map<?, ?> m))
      throw new ConnectorException(
          "the saved state of table " + s.table() + " is not an object: re-sync the table");
    for (String k : List.of("cursor", "tombstone_cursor")) {
      Object v = m.get(k);
      if (v == null) continue;
      if (!(v instanceof String))
        throw new ConnectorException(
            "the saved state of table " + s.table() + " has a " + k + " that is not text");
      out.put(k, v);
    }
    return out;
  }

  private static Connection connect(Settings s) {
    try {
      DriverManager.getDriver(s.jdbcUrl());
    } catch (SQLException e) {
      throw new ConnectorException(
          "no JDBC driver on the node takes jdbc_url "
              + s.scheme()
              + "... (the node provides PostgreSQL's: jdbc:postgresql://host:5432/database)");
    }
    Properties login = new Properties();
    if (s.user() != null) login.setProperty("user", s.user());
    if (s.password() != null) login.setProperty("password", s.password());
    try {
      Connection db = DriverManager.getConnection(s.jdbcUrl(), login);
      db.setReadOnly(true);
      return db;
    } catch (SQLException e) {
      // No cause attached: a driver's exception may quote the URL with its parameters.
      throw new ConnectorException(
          "cannot connect to "
              + s.safeUrl()
              + (s.user() == null ? "" : " as " + s.user())
              + ": "
              + s.redact(firstLine(e.getMessage())));
    }
  }

  private static String firstLine(String message) {
    if (message == null) return "(no message)";
    int nl = message.indexOf('\n');
    return nl < 0 ? message : message.substring(0, nl);
  }

  /** The configuration, validated. */
  private record Settings(
      String jdbcUrl,
      String user,
      String password,
      String table,
      List<String> primaryKey,
      String cursorColumn,
      String tombstoneTable,
      int pageSize) {
    static Settings from(Map<String, String> c) {
      String url = required(c, "jdbc_url", "the database's JDBC URL");
      if (!url.startsWith("jdbc:") || url.indexOf(':', 5) < 0)
        throw new ConnectorException(
            "jdbc_url must be a JDBC URL, e.g. jdbc:postgresql://db.example.com:5432/shop");
      List<String> key = new ArrayList<>();
      for (String k : c.getOrDefault("primary_key", "id").split(",", -1))
        key.add(identifier("primary_key", k.trim()));
      String tombstones = optional(c, "tombstone_table");
      return new Settings(
          url,
          optional(c, "user"),
          c.get("password") == null || c.get("password").isEmpty() ? null : c.get("password"),
          identifier("table", required(c, "table", "the source table's name")),
          List.copyOf(key),
          identifier("cursor_column", c.getOrDefault("cursor_column", "updated_at").trim()),
          tombstones == null ? null : identifier("tombstone_table", tombstones),
          pageSize(c.get("page_size")));
    }

    String scheme() {
      return jdbcUrl.substring(0, jdbcUrl.indexOf(':', 5) + 1);
    }

    /** The URL without its parameters or user info, which may hold credentials. */
    String safeUrl() {
      String url = jdbcUrl;
      int q = url.indexOf('?');
      if (q >= 0) url = url.substring(0, q) + "?...";
      return url.replaceAll("//[^/@]*@", "//***@");
    }

    /** {@code message} with the password and the full URL taken out. */
    String redact(String message) {
      String out = message.replace(jdbcUrl, safeUrl());
      return password == null ? out : out.replace(password, "***");
    }

    private static String required(Map<String, String> c, String key, String what) {
      String v = optional(c, key);
      if (v == null)
        throw new ConnectorException("missing configuration key '" + key + "' (" + what + ")");
      return v;
    }

    private static String optional(Map<String, String> c, String key) {
      String v = c.get(key);
      return v == null || v.isBlank() ? null : v.trim();
    }

    private static String identifier(String key, String value) {
      if (!IDENTIFIER.matcher(value).matches())
        throw new ConnectorException(
            key
                + " must be a plain SQL identifier (letters, digits and _, not starting with a"
                + " digit, at most 63): got '"
                + value
                + "'");
      return value.toLowerCase(Locale.ROOT);
    }

    private static int pageSize(String value) {
      if (value == null || value.isBlank()) return 1000;
      try {
        int n = Integer.parseInt(value.trim());
        if (n >= 1 && n <= 100_000) return n;
      } catch (NumberFormatException ignored) {
        // answered below
      }
      throw new ConnectorException(
          "page_size must be a whole number from 1 to 100000: got '" + value + "'");
    }
  }
}
