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
import org.postgresql.copy.CopyManager;
import weir.loaders.staging.StagedFile;
import weir.loaders.staging.StagingStore;
import weir.loaders.warehouse.ColumnEvolution;
import weir.loaders.warehouse.SqlWarehouseLoader;
import weir.protocol.ColumnType;
import weir.protocol.TableSpec;

/**
 * Loads staged NDJSON.gz files into PostgreSQL (13+), one transaction per load.
 *
 * <p>Each table's files are streamed with {@code COPY ... FROM STDIN} (the driver's {@code
 * CopyManager}) into a temporary {@code jsonb} table; columns are extracted with their types (JSON
 * columns as {@code jsonb}); dynamic columns are added ({@code ADD COLUMN IF NOT EXISTS}) and
 * widened (bigint to double precision, any other conflict to text) as in {@link ColumnEvolution}.
 * Append tables insert with {@code ON CONFLICT (key) DO NOTHING}; merge tables upsert with {@code
 * ON CONFLICT DO UPDATE}, applying the batch's rows per key in order. Batch ids go to {@code
 * _weir_loads} in the same transaction.
 *
 * <p>Failures: connection, resource, serialization and shutdown errors are transient (retry); bad
 * credentials, missing permissions or a missing database are permanent; a row PostgreSQL cannot
 * store (SQLSTATE class 22: a number beyond {@code numeric}'s range, say) becomes a dead letter and
 * the rest loads.
 *
 * <p>PostgreSQL cannot hold U+0000 in {@code text} or {@code jsonb}: a NUL in a string is loaded as
 * the six characters {@code \u0000} ({@link NulEscapes}), so the row loads and nothing else
 * changes.
 */
public final class PostgresLoader extends SqlWarehouseLoader {
  private static final String RAW = "_weir_raw";

  private final String url;
  private final Properties credentials;
  private final StagingStore staging;

  /**
   * @param schemaPrefix prepended to every connection's schema name (may be empty)
   */
  public PostgresLoader(
      String url, String user, String password, String schemaPrefix, StagingStore staging) {
    super(schemaPrefix);
    this.url = url;
    this.credentials = new Properties();
    credentials.setProperty("user", user);
    credentials.setProperty("password", password == null ? "" : password);
    credentials.setProperty("ApplicationName", "weir-loader");
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

  /**
   * Connection trouble, resources, serialization/deadlock, shutdown, lock timeouts: worth retrying.
   */
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
  protected void prepare(Statement s) throws SQLException {
    s.execute("CREATE TEMP TABLE IF NOT EXISTS " + RAW + " (json jsonb) ON COMMIT DELETE ROWS");
  }

  /** Streams the decompressed NDJSON of every file into the raw table, one jsonb value per line. */
  @Override
  protected void readFiles(Connection c, Statement s, TableSpec spec, List<StagedFile> files)
      throws SQLException, IOException {
    s.execute("TRUNCATE " + RAW);
    // CSV with quote and delimiter bytes that JSON text never contains raw (it escapes control
    // characters).
    String sql =
        "COPY " + RAW + " (json) FROM STDIN WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')";
    CopyManager copy = c.unwrap(PGConnection.class).getCopyAPI();
    for (StagedFile f : files) {
      try (InputStream in = new NulEscapes(new GZIPInputStream(staging.open(f.key()), 1 << 16))) {
        copy.copyIn(sql, in, 1 << 16);
      }
    }
  }

  /**
   * The keys of the raw rows and the jsonb types of their values (a number without a fraction is an
   * integer).
   */
  @Override
  protected Map<String, Set<ColumnEvolution.JsonKind>> dynamicKeys(
      Statement s, TableSpec spec, List<StagedFile> files, Set<String> declared)
      throws SQLException {
    Map<String, Set<ColumnEvolution.JsonKind>> kinds = new LinkedHashMap<>();
    try (ResultSet rs =
        s.executeQuery(
            "SELECT k, jsonb_typeof(json->k) AS t, bool_and(CASE WHEN jsonb_typeof(json->k) "
                + "= 'number' THEN (json->>k) ~ '^-?[0-9]+$' ELSE true END) FROM "
                + RAW
                + ", jsonb_object_keys(json) AS k "
                + "GROUP BY k, t ORDER BY k")) {
      while (rs.next()) {
        String k = rs.getString(1);
        if (declared.contains(k) || !ColumnEvolution.dynamicName(k)) continue;
        Set<ColumnEvolution.JsonKind> set = kinds.computeIfAbsent(k, x -> new HashSet<>());
        switch (rs.getString(2)) {
          case "null" -> {}
          case "number" ->
              set.add(
                  rs.getBoolean(3)
                      ? ColumnEvolution.JsonKind.INTEGER
                      : ColumnEvolution.JsonKind.NUMBER);
          case "boolean" -> set.add(ColumnEvolution.JsonKind.BOOLEAN);
          case "string" -> set.add(ColumnEvolution.JsonKind.STRING);
          default -> set.add(ColumnEvolution.JsonKind.OTHER);
        }
      }
    }
    return kinds;
  }

  /**
   * Append, period and replace read the typed rows straight from the raw table (a subquery: {@code
   * ON CONFLICT DO NOTHING} keeps the first row of a key, no ranking needed); merge ranks them per
   * key into {@link #SOURCE}, one row per source event first (its {@code event_id}, else its
   * content).
   */
  @Override
  protected String rankRows(
      Statement s, TableSpec spec, Map<String, ColumnType> columns, List<StagedFile> files)
      throws SQLException {
    String values =
        columns.entrySet().stream()
            .map(e -> extract(e.getKey(), e.getValue()) + " AS " + ident(e.getKey()))
            .collect(Collectors.joining(", "));
    String key = ident(spec.keyColumn());
    if (spec.mode() != TableSpec.Mode.MERGE) {
      return "(SELECT * FROM (SELECT "
          + values
          + " FROM "
          + RAW
          + ") AS r WHERE "
          + key
          + " IS NOT NULL) AS src";
    }
    String order = ident(spec.orderColumn());
    s.execute("DROP TABLE IF EXISTS " + SOURCE);
    s.execute(
        "CREATE TEMP TABLE "
            + SOURCE
            + " ON COMMIT DROP AS SELECT *, row_number() OVER (PARTITION BY "
            + key
            + " ORDER BY "
            + order
            + ") AS _weir_rank FROM (SELECT DISTINCT ON (_weir_source) * FROM (SELECT "
            + values
            // Connector rows are each one operation (their event_id, if any, is the source's).
            + (spec.hasOps()
                ? ", md5(json::text) AS _weir_source FROM "
                : ", coalesce(json->>'event_id', md5(json::text)) AS _weir_source FROM ")
            + RAW
            + ") AS x) AS y WHERE "
            + key
            + " IS NOT NULL");
    return SOURCE;
  }

  /** {@code ON CONFLICT DO NOTHING} also skips repeats of a key within the statement. */
  @Override
  protected String appendNew(String target, String source, TableSpec spec, List<String> names) {
    return insertFirstOfEachKey(target, source, spec, names);
  }

  @Override
  protected String insertFirstOfEachKey(
      String into, String source, TableSpec spec, List<String> names) {
    String list = list(names);
    return "INSERT INTO "
        + into
        + " ("
        + list
        + ") SELECT "
        + list
        + " FROM "
        + source
        + " ON CONFLICT ("
        + ident(spec.keyColumn())
        + ") DO NOTHING";
  }

  @Override
  protected String utcDate(String expr) {
    return "(" + expr + " AT TIME ZONE 'UTC')::date";
  }

  /** Same columns, defaults, key and indexes, so none is ever dropped. */
  @Override
  protected List<String> createTableLike(String fresh, String target, TableSpec spec) {
    return List.of(
        "CREATE TABLE "
            + fresh
            + " (LIKE "
            + target
            + " INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
            + "INCLUDING INDEXES)");
  }

  /** {@code ON CONFLICT DO UPDATE}, the existing row named by an alias. */
  @Override
  protected String mergeRound(
      String target, String source, TableSpec spec, List<String> names, int round) {
    String list = list(names);
    return "INSERT INTO "
        + target
        + " AS t ("
        + list
        + ") SELECT "
        + list
        + " FROM "
        + source
        + " WHERE _weir_rank = "
        + round
        + " ON CONFLICT ("
        + ident(spec.keyColumn())
        + ") DO UPDATE SET "
        + mergeUpdates(spec, names, "t", "excluded", now());
  }

  /** A shallow merge: PostgreSQL's jsonb {@code ||} replaces nested objects whole. */
  @Override
  protected String jsonMerge(String base, String patch) {
    return "coalesce(" + base + ", '{}'::jsonb) || coalesce(" + patch + ", '{}'::jsonb)";
  }

  /** {@code ADD COLUMN IF NOT EXISTS}. */
  @Override
  protected String addColumn(String target, String column, ColumnType type) {
    return "ALTER TABLE "
        + target
        + " ADD COLUMN IF NOT EXISTS "
        + ident(column)
        + " "
        + sqlType(type);
  }

  /** In place, with {@code ALTER COLUMN ... TYPE ... USING}. */
  @Override
  protected List<String> widenColumn(String target, String column, ColumnType type) {
    return List.of(
        "ALTER TABLE "
            + target
            + " ALTER COLUMN "
            + ident(column)
            + " TYPE "
            + sqlType(type)
            + " USING "
            + ident(column)
            + "::"
            + sqlType(type));
  }

  private String extract(String column, ColumnType type) {
    String key = literal(column);
    return switch (type) {
      case JSON -> "(json->" + key + ")";
      case STRING -> "(json->>" + key + ")";
      default -> "(json->>" + key + ")::" + sqlType(type);
    };
  }

  @Override
  protected String createTable(String schema, TableSpec spec) {
    String cols =
        spec.columns().stream()
            .map(col -> ident(col.name()) + " " + sqlType(col.type()))
            .collect(Collectors.joining(", "));
    if (spec.loadedAt()) cols += ", loaded_at timestamptz DEFAULT now()";
    String table =
        "CREATE TABLE IF NOT EXISTS "
            + schema
            + "."
            + ident(spec.name())
            + " ("
            + cols
            + ", PRIMARY KEY ("
            + ident(spec.keyColumn())
            + "))";
    // Not partitioned by day: a partitioned table's unique keys must include the partition column,
    // so
    // event_id could no longer be deduplicated across days (a retried event whose corrected
    // timestamp moved
    // would load twice). A BRIN index on the event time serves time-range queries and period
    // reloads instead.
    String time =
        spec.columns().stream()
            .map(TableSpec.Column::name)
            .filter(n -> n.equals("timestamp") || n.equals("received_at"))
            .findFirst()
            .orElse(null);
    // Replace builds a copy LIKE the table INCLUDING INDEXES: a named index there would multiply.
    if (time == null || spec.mode() == TableSpec.Mode.REPLACE) return table;
    String index = spec.name().length() > 50 ? spec.name().substring(0, 50) : spec.name();
    return table
        + "; CREATE INDEX IF NOT EXISTS "
        + ident(index + "_" + time + "_brin")
        + " ON "
        + schema
        + "."
        + ident(spec.name())
        + " USING brin ("
        + ident(time)
        + ")";
  }

  @Override
  protected String sqlType(ColumnType type) {
    return switch (type) {
      case STRING -> "text";
      case LONG -> "bigint";
      case DOUBLE -> "double precision";
      case BOOLEAN -> "boolean";
      case TIMESTAMP -> "timestamptz";
      case JSON -> "jsonb";
    };
  }

  @Override
  protected ColumnType columnType(String pgType) {
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
