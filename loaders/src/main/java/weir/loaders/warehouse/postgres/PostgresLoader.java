package weir.loaders.warehouse.postgres;

import java.io.IOException;
import java.io.InputStream;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.zip.GZIPInputStream;
import org.postgresql.PGConnection;
import weir.loaders.staging.StagedFile;
import weir.loaders.staging.StagingStore;
import weir.loaders.warehouse.ColumnEvolution;
import weir.loaders.warehouse.SqlWarehouseLoader;
import weir.protocol.ColumnType;
import weir.protocol.TableSpec;

/**
 * Loads staged NDJSON.gz files into PostgreSQL (13+), one transaction per load.
 *
 * <p>Each table's files are streamed with {@code COPY ... FROM STDIN} (the driver's {@code CopyManager})
 * into a temporary {@code jsonb} table; columns are extracted with their types (JSON columns as
 * {@code jsonb}); dynamic columns are added ({@code ADD COLUMN IF NOT EXISTS}) and widened (bigint to
 * double precision, any other conflict to text) as in {@link ColumnEvolution}. Append tables insert with
 * {@code ON CONFLICT (key) DO NOTHING}; merge tables upsert with {@code ON CONFLICT DO UPDATE}, applying the
 * batch's rows per key in order. Batch ids go to {@code _weir_loads} in the same transaction.
 *
 * <p>Failures: connection, resource, serialization and shutdown errors are transient (retry); bad
 * credentials, missing permissions or a missing database are permanent; a row PostgreSQL cannot store (SQLSTATE
 * class 22: a number beyond {@code numeric}'s range, say) becomes a dead letter and the rest loads.
 *
 * <p>PostgreSQL cannot hold U+0000 in {@code text} or {@code jsonb}: a NUL in a string is loaded as the six
 * characters {@code \u0000} ({@link NulEscapes}), so the row loads and nothing else changes.
 */
public final class PostgresLoader extends SqlWarehouseLoader {
  private static final String RAW = "_weir_raw";

  private final String url;
  private final Properties credentials;
  private final String schemaPrefix;
  private final StagingStore staging;

  /**
   * @param schemaPrefix prepended to every connection's schema name (may be empty)
   */
  public PostgresLoader(String url, String user, String password, String schemaPrefix, StagingStore staging) {
    this.url = url;
    this.credentials = new Properties();
    credentials.setProperty("user", user);
    credentials.setProperty("password", password == null ? "" : password);
    credentials.setProperty("ApplicationName", "weir-loader");
    this.schemaPrefix = schemaPrefix == null ? "" : schemaPrefix;
    this.staging = staging;
  }

  @Override
  protected Connection open() throws SQLException {
    return DriverManager.getConnection(url, credentials);
  }

  @Override
  protected boolean isTransient(SQLException e) {
    return isTransient(e.getSQLState());
  }

  /** Connection trouble, resources, serialization/deadlock, shutdown, lock timeouts: worth retrying. */
  static boolean isTransient(String sqlState) {
    return transientSqlState(sqlState) || "55P03".equals(sqlState);
  }

  @Override
  protected String describe() {
    return "PostgreSQL";
  }

  @Override
  protected StagingStore staging() {
    return staging;
  }

  @Override
  protected String schema(String logical) {
    return ident(schemaPrefix + logical);
  }

  @Override
  protected void prepare(Statement s) throws SQLException {
    s.execute("CREATE TEMP TABLE IF NOT EXISTS " + RAW + " (json jsonb) ON COMMIT DELETE ROWS");
  }

  @Override
  protected long loadTable(Connection c, Statement s, String schema, TableSpec spec, List<StagedFile> files)
      throws SQLException, IOException {
    s.execute("TRUNCATE " + RAW);
    copy(c, files);
    String target = schema + "." + ident(spec.name());
    Map<String, ColumnType> columns = new LinkedHashMap<>();
    for (TableSpec.Column col : spec.columns()) columns.put(col.name(), col.type());
    if (spec.dynamicColumns()) columns.putAll(evolve(s, schema, spec));
    String names = columns.keySet().stream().map(SqlWarehouseLoader::ident).collect(Collectors.joining(", "));
    String values = columns.entrySet().stream().map(e -> extract(e.getKey(), e.getValue()) + " AS " + ident(e.getKey()))
        .collect(Collectors.joining(", "));
    String key = ident(spec.keyColumn());
    String source = "(SELECT " + values + " FROM " + RAW + ") AS src WHERE " + key + " IS NOT NULL";
    switch (spec.mode()) {
      case APPEND -> {
        // ON CONFLICT DO NOTHING also skips repeats of a key within this statement: no sort needed.
        return s.executeUpdate("INSERT INTO " + target + " (" + names + ") SELECT " + names + " FROM " + source
            + " ON CONFLICT (" + key + ") DO NOTHING");
      }
      case PERIOD -> {
        // Drop the UTC days this load covers, then append its rows of them.
        s.execute("DELETE FROM " + target + " WHERE (" + ident(spec.orderColumn()) + " AT TIME ZONE 'UTC')::date IN "
            + "(SELECT DISTINCT (" + extract(spec.orderColumn(), ColumnType.TIMESTAMP) + " AT TIME ZONE 'UTC')::date FROM "
            + RAW + ")");
        return s.executeUpdate("INSERT INTO " + target + " (" + names + ") SELECT " + names + " FROM " + source
            + " ON CONFLICT (" + key + ") DO NOTHING");
      }
      case REPLACE -> {
        // Build the new table next to the old one (same columns and key, so none is ever dropped), then swap.
        String freshName = spec.name() + "__weir_new";
        String fresh = schema + "." + ident(freshName);
        s.execute("DROP TABLE IF EXISTS " + fresh);
        s.execute("CREATE TABLE " + fresh + " (LIKE " + target + " INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
            + "INCLUDING INDEXES)");
        long n = s.executeUpdate("INSERT INTO " + fresh + " (" + names + ") SELECT " + names + " FROM " + source
            + " ON CONFLICT (" + key + ") DO NOTHING");
        s.execute("DROP TABLE " + target);
        s.execute("ALTER TABLE " + fresh + " RENAME TO " + ident(spec.name()));
        return n;
      }
      case MERGE -> {
        return merge(s, target, spec, names, values);
      }
      default -> throw new IllegalStateException("unknown mode " + spec.mode());
    }
  }

  /** Streams the decompressed NDJSON of every file into the raw table, one jsonb value per line. */
  private void copy(Connection c, List<StagedFile> files) throws SQLException, IOException {
    // CSV with quote and delimiter bytes that JSON text never contains raw (it escapes control characters).
    String sql = "COPY " + RAW + " (json) FROM STDIN WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')";
    var copy = c.unwrap(PGConnection.class).getCopyAPI();
    for (StagedFile f : files) {
      try (InputStream in = new NulEscapes(new GZIPInputStream(staging.open(f.key()), 1 << 16))) {
        copy.copyIn(sql, in, 1 << 16);
      }
    }
  }

  /** Merge mode: ranks the load's rows per key into {@code _weir_merge}, then {@link #mergeRounds}. */
  private long merge(Statement s, String target, TableSpec spec, String names, String values)
      throws SQLException {
    String key = ident(spec.keyColumn());
    String order = ident(spec.orderColumn());
    s.execute("DROP TABLE IF EXISTS _weir_merge");
    s.execute("CREATE TEMP TABLE _weir_merge ON COMMIT DROP AS SELECT *, row_number() OVER (PARTITION BY " + key
        + " ORDER BY " + order + ") AS _weir_rank FROM (SELECT DISTINCT ON (_weir_source) * FROM (SELECT " + values
        + ", coalesce(json->>'event_id', md5(json::text)) AS _weir_source FROM " + RAW + ") AS x) AS y WHERE "
        + key + " IS NOT NULL");
    return mergeRounds(s, target + " AS t", "t", spec, names);
  }

  /** A shallow merge: PostgreSQL's jsonb {@code ||} replaces nested objects whole. */
  @Override
  protected String jsonMerge(String base, String patch) {
    return "coalesce(" + base + ", '{}'::jsonb) || coalesce(" + patch + ", '{}'::jsonb)";
  }

  /** Adds columns with {@code ADD COLUMN IF NOT EXISTS}, widens in place with {@code ALTER COLUMN ... TYPE}. */
  private static final ColumnDdl DDL = new ColumnDdl() {
    @Override
    public ColumnType columnType(String dataType) {
      return PostgresLoader.columnType(dataType);
    }

    @Override
    public String add(String target, String column, ColumnType type) {
      return "ALTER TABLE " + target + " ADD COLUMN IF NOT EXISTS " + ident(column) + " " + sqlType(type);
    }

    @Override
    public List<String> widen(String target, String column, ColumnType type) {
      return List.of("ALTER TABLE " + target + " ALTER COLUMN " + ident(column) + " TYPE " + sqlType(type) + " USING "
          + ident(column) + "::" + sqlType(type));
    }
  };

  /** Staged keys beyond the declared columns, with their types; adds and widens columns first. */
  private Map<String, ColumnType> evolve(Statement s, String schema, TableSpec spec) throws SQLException {
    Set<String> declared = ColumnEvolution.declared(spec);
    Map<String, Set<ColumnEvolution.JsonKind>> kinds = new LinkedHashMap<>();
    try (ResultSet rs = s.executeQuery("SELECT k, jsonb_typeof(json->k) AS t, bool_and(CASE WHEN jsonb_typeof(json->k) "
        + "= 'number' THEN (json->>k) ~ '^-?[0-9]+$' ELSE true END) FROM " + RAW + ", jsonb_object_keys(json) AS k "
        + "GROUP BY k, t ORDER BY k")) {
      while (rs.next()) {
        String k = rs.getString(1);
        if (declared.contains(k) || !ColumnEvolution.dynamicName(k)) continue;
        Set<ColumnEvolution.JsonKind> set = kinds.computeIfAbsent(k, x -> new HashSet<>());
        switch (rs.getString(2)) {
          case "null" -> { }
          case "number" -> set.add(rs.getBoolean(3) ? ColumnEvolution.JsonKind.INTEGER : ColumnEvolution.JsonKind.NUMBER);
          case "boolean" -> set.add(ColumnEvolution.JsonKind.BOOLEAN);
          case "string" -> set.add(ColumnEvolution.JsonKind.STRING);
          default -> set.add(ColumnEvolution.JsonKind.OTHER);
        }
      }
    }
    return evolveColumns(s, schema, spec, kinds, DDL);
  }

  private static String extract(String column, ColumnType type) {
    String key = literal(column);
    return switch (type) {
      case JSON -> "(json->" + key + ")";
      case STRING -> "(json->>" + key + ")";
      default -> "(json->>" + key + ")::" + sqlType(type);
    };
  }

  @Override
  protected String createTable(String schema, TableSpec spec) {
    String cols = spec.columns().stream().map(col -> ident(col.name()) + " " + sqlType(col.type()))
        .collect(Collectors.joining(", "));
    if (spec.loadedAt()) cols += ", loaded_at timestamptz DEFAULT now()";
    String table = "CREATE TABLE IF NOT EXISTS " + schema + "." + ident(spec.name()) + " (" + cols + ", PRIMARY KEY ("
        + ident(spec.keyColumn()) + "))";
    // Not partitioned by day: a partitioned table's unique keys must include the partition column, so
    // event_id could no longer be deduplicated across days (a retried event whose corrected timestamp moved
    // would load twice). A BRIN index on the event time serves time-range queries and period reloads instead.
    String time = spec.columns().stream().map(TableSpec.Column::name)
        .filter(n -> n.equals("timestamp") || n.equals("received_at")).findFirst().orElse(null);
    // Replace builds a copy LIKE the table INCLUDING INDEXES: a named index there would multiply.
    if (time == null || spec.mode() == TableSpec.Mode.REPLACE) return table;
    String index = spec.name().length() > 50 ? spec.name().substring(0, 50) : spec.name();
    return table + "; CREATE INDEX IF NOT EXISTS " + ident(index + "_" + time + "_brin") + " ON " + schema + "."
        + ident(spec.name()) + " USING brin (" + ident(time) + ")";
  }

  static String sqlType(ColumnType type) {
    return switch (type) {
      case STRING -> "text";
      case LONG -> "bigint";
      case DOUBLE -> "double precision";
      case BOOLEAN -> "boolean";
      case TIMESTAMP -> "timestamptz";
      case JSON -> "jsonb";
    };
  }

  private static ColumnType columnType(String pgType) {
    return switch (pgType) {
      case "bigint", "integer" -> ColumnType.LONG;
      case "double precision", "numeric", "real" -> ColumnType.DOUBLE;
      case "boolean" -> ColumnType.BOOLEAN;
      case "jsonb", "json" -> ColumnType.JSON;
      case "timestamp with time zone" -> ColumnType.TIMESTAMP;
      default -> ColumnType.STRING;
    };
  }



}
