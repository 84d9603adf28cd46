package weir.loaders.warehouse.duckdb;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import weir.loaders.staging.StagedFile;
import weir.loaders.staging.LocalFiles;
import weir.loaders.staging.StagingStore;
import weir.loaders.warehouse.ColumnEvolution;
import weir.loaders.warehouse.SqlWarehouseLoader;
import weir.protocol.ColumnType;
import weir.protocol.TableSpec;

/**
 * Loads staged NDJSON.gz files into an embedded DuckDB database file, one transaction per load.
 *
 * <p>One mechanism for every table: the staged files are read as raw JSON objects
 * ({@code read_json_objects}) into a temporary table, and each column is extracted from them with its
 * type. Declared columns come from the {@link TableSpec}; for tables with dynamic columns the remaining
 * top-level keys become columns too (type from the JSON values: integers BIGINT, numbers DOUBLE, booleans
 * BOOLEAN, anything else VARCHAR), added with {@code ALTER TABLE} when new, and widened (BIGINT to DOUBLE,
 * any other conflict to VARCHAR) when values of another type arrive. Append tables insert rows whose key
 * is not in the table yet (one per key); merge tables upsert by key, applying the batch's rows in
 * {@code orderColumn} order with each column's merge rule.
 *
 * <p>The database file is opened for each load and closed afterwards: DuckDB allows one writing process
 * per file, so between loads users can open the warehouse (read-only) with their own tools.
 */
public final class DuckDbLoader extends SqlWarehouseLoader {
  private static final Logger log = LoggerFactory.getLogger(DuckDbLoader.class);
  private static final String RAW = "_weir_raw";

  private final Path databaseFile;
  private final StagingStore staging;

  public DuckDbLoader(Path databaseFile, StagingStore staging) {
    this.databaseFile = databaseFile.toAbsolutePath();
    this.staging = staging;
  }

  /**
   * The warehouse file is attached under this catalog name: a file's own name would become its catalog, and a
   * connection schema of the same name ({@code shop.duckdb} with schema {@code shop}) would be ambiguous.
   */
  static final String CATALOG = "weir_warehouse";

  @Override
  protected Connection open() throws SQLException, java.io.IOException {
    Files.createDirectories(databaseFile.getParent());
    Properties props = new Properties();
    props.setProperty("extension_directory", databaseFile.resolveSibling(".duckdb_extensions").toString());
    Connection c = DriverManager.getConnection("jdbc:duckdb:", props);
    try (Statement s = c.createStatement()) {
      s.execute("ATTACH " + literal(databaseFile.toString()) + " AS " + CATALOG);
      s.execute("USE " + CATALOG);
    } catch (SQLException e) {
      c.close();
      throw e;
    }
    return c;
  }

  /** DuckDB's failures here are a lock held by another process, or a staged file missing: retry. */
  @Override
  protected boolean isTransient(SQLException e) {
    return true;
  }

  /**
   * DuckDB gives no SQLSTATE: its row errors are told by their message — a JSON object over
   * {@code maximum_object_size}, malformed JSON, a conversion or range error (reading a missing file is an
   * IO error, not a row's).
   */
  @Override
  protected boolean isRowError(SQLException e) {
    String m = String.valueOf(e.getMessage());
    if (m.contains("IO Error")) return false;
    return m.contains("maximum_object_size") || m.contains("Malformed JSON") || m.contains("Conversion Error")
        || m.contains("Out of Range Error");
  }

  @Override
  protected StagingStore staging() {
    return staging;
  }

  @Override
  protected String describe() {
    return "DuckDB (" + databaseFile.getFileName() + ")";
  }

  @Override
  protected long loadTable(Connection c, Statement s, String schema, TableSpec spec, List<StagedFile> files)
      throws SQLException, java.io.IOException {
    try (LocalFiles local = new LocalFiles(staging, databaseFile.resolveSibling(".duckdb_staging"))) {
      List<String> paths = new ArrayList<>();
      for (StagedFile f : files) paths.add(literal(local.path(f.key()).toString()));
      s.execute("CREATE OR REPLACE TEMP TABLE " + RAW + " AS SELECT json FROM read_json_objects(["
          + String.join(", ", paths) + "], format = 'newline_delimited', compression = 'gzip')");
    }
    String target = schema + "." + ident(spec.name());
    Map<String, String> columns = new LinkedHashMap<>();
    for (TableSpec.Column col : spec.columns()) columns.put(col.name(), sqlType(col.type()));
    if (spec.dynamicColumns()) columns.putAll(evolve(s, schema, spec));
    String names = columns.keySet().stream().map(SqlWarehouseLoader::ident).collect(Collectors.joining(", "));
    String values = columns.entrySet().stream().map(e -> extract(e.getKey(), e.getValue()) + " AS " + ident(e.getKey()))
        .collect(Collectors.joining(", "));
    String key = ident(spec.keyColumn());
    String dedupedSource = "(SELECT " + values + " FROM " + RAW + ") AS src";
    String newRows = "SELECT " + names + " FROM " + dedupedSource + " WHERE NOT EXISTS (SELECT 1 FROM " + target
        + " AS t WHERE t." + key + " = src." + key + ") QUALIFY row_number() OVER (PARTITION BY src." + key + ") = 1";
    switch (spec.mode()) {
      case APPEND -> {
        return s.executeUpdate("INSERT INTO " + target + " (" + names + ") " + newRows);
      }
      case PERIOD -> {
        // Drop the UTC days this load covers, then append its rows of them.
        String day = "CAST(timezone('UTC', " + ident(spec.orderColumn()) + ") AS DATE)";
        s.execute("DELETE FROM " + target + " WHERE " + day + " IN (SELECT DISTINCT CAST(timezone('UTC', "
            + extract(spec.orderColumn(), "TIMESTAMPTZ") + ") AS DATE) FROM " + RAW + ")");
        return s.executeUpdate("INSERT INTO " + target + " (" + names + ") " + newRows);
      }
      case REPLACE -> {
        // Build the new table next to the old one (same columns, so none is ever dropped), then swap.
        String fresh = schema + "." + ident(spec.name() + "__weir_new");
        s.execute("DROP TABLE IF EXISTS " + fresh);
        s.execute("CREATE TABLE " + fresh + " AS SELECT * FROM " + target + " LIMIT 0");
        String loadedAt = spec.loadedAt() ? ", loaded_at" : "";
        long n = s.executeUpdate("INSERT INTO " + fresh + " (" + names + loadedAt + ") SELECT " + names
            + (spec.loadedAt() ? ", now()" : "") + " FROM " + dedupedSource + " QUALIFY row_number() OVER (PARTITION BY src."
            + key + ") = 1");
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

  /** Merge mode: ranks the load's rows per key into {@code _weir_merge}, then {@link #mergeRounds}. */
  private long merge(Statement s, String target, TableSpec spec, String names, String values)
      throws SQLException {
    String key = ident(spec.keyColumn());
    String order = ident(spec.orderColumn());
    // One row per source event (its event_id, else its content), ranked per key in order.
    s.execute("CREATE OR REPLACE TEMP TABLE _weir_merge AS SELECT *, row_number() OVER (PARTITION BY " + key
        + " ORDER BY " + order + ") AS _weir_rank FROM (SELECT DISTINCT ON (_weir_source) * FROM (SELECT " + values
        + ", coalesce(json->>'$.event_id', md5(CAST(json AS VARCHAR))) AS _weir_source FROM " + RAW + ")) WHERE "
        + key + " IS NOT NULL");
    return mergeRounds(s, target, target, spec, names);
  }

  @Override
  protected String jsonMerge(String base, String patch) {
    return "json_merge_patch(coalesce(" + base + ", '{}'), coalesce(" + patch + ", '{}'))";
  }

  /**
   * For a table with dynamic columns: the staged keys that are not declared columns, with the type to load
   * them as; adds new columns and widens existing ones first. Columns are never dropped.
   */
  private static Map<String, String> evolve(Statement s, String schema, TableSpec spec) throws SQLException {
    Set<String> declared = new HashSet<>();
    spec.columns().forEach(col -> declared.add(col.name()));
    declared.add("loaded_at");
    Map<String, String> staged = new LinkedHashMap<>();
    try (ResultSet rs = s.executeQuery("SELECT k, list(DISTINCT json_type(json, '$.' || k)) FROM (SELECT json, "
        + "unnest(json_keys(json)) AS k FROM " + RAW + ") GROUP BY k ORDER BY k")) {
      while (rs.next()) {
        String k = rs.getString(1);
        if (declared.contains(k) || !k.matches("[a-z_][a-z0-9_]*")) continue;
        staged.put(k, typeOf(rs.getString(2)));
      }
    }
    Map<String, String> existing = new LinkedHashMap<>();
    try (ResultSet rs = s.executeQuery("SELECT column_name, data_type FROM information_schema.columns WHERE "
        + "table_schema = " + literal(unquote(schema)) + " AND table_name = " + literal(spec.name()))) {
      while (rs.next()) existing.put(rs.getString(1), rs.getString(2));
    }
    String target = schema + "." + ident(spec.name());
    Map<String, String> out = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : staged.entrySet()) {
      String col = e.getKey();
      String incoming = e.getValue();
      String current = existing.get(col);
      if (current == null) {
        s.execute("ALTER TABLE " + target + " ADD COLUMN " + ident(col) + " " + incoming);
        out.put(col, incoming);
        continue;
      }
      String wanted = sqlType(ColumnEvolution.widen(columnType(current), columnType(incoming)));
      if (!wanted.equals(current)) {
        s.execute("ALTER TABLE " + target + " ALTER COLUMN " + ident(col) + " TYPE " + wanted);
        log.info("Widened {}.{} from {} to {} (values of type {} arrived)", target, col, current, wanted, incoming);
      }
      out.put(col, wanted);
    }
    return out;
  }

  /** The column type for the JSON types DuckDB reports for one key. */
  static String typeOf(String jsonTypes) {
    Set<ColumnEvolution.JsonKind> kinds = new HashSet<>();
    for (String t : jsonTypes.replaceAll("[\\[\\]\\s]", "").split(",")) {
      switch (t) {
        case "", "NULL" -> { }
        case "BIGINT", "UBIGINT" -> kinds.add(ColumnEvolution.JsonKind.INTEGER);
        case "DOUBLE" -> kinds.add(ColumnEvolution.JsonKind.NUMBER);
        case "BOOLEAN" -> kinds.add(ColumnEvolution.JsonKind.BOOLEAN);
        case "VARCHAR" -> kinds.add(ColumnEvolution.JsonKind.STRING);
        default -> kinds.add(ColumnEvolution.JsonKind.OTHER);
      }
    }
    return sqlType(ColumnEvolution.typeOf(kinds));
  }

  private static ColumnType columnType(String duckdbType) {
    return switch (duckdbType) {
      case "BIGINT" -> ColumnType.LONG;
      case "DOUBLE" -> ColumnType.DOUBLE;
      case "BOOLEAN" -> ColumnType.BOOLEAN;
      case "JSON" -> ColumnType.JSON;
      case "TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ" -> ColumnType.TIMESTAMP;
      default -> ColumnType.STRING;
    };
  }

  /** The expression that reads one column of the given SQL type from a raw JSON row. */
  private static String extract(String column, String sqlType) {
    String path = literal("$." + column);
    return switch (sqlType) {
      case "JSON" -> "json_extract(json, " + path + ")";
      case "VARCHAR" -> "json_extract_string(json, " + path + ")";
      default -> "TRY_CAST(json_extract_string(json, " + path + ") AS " + sqlType + ")";
    };
  }



  /**
   * The table's DDL. Tables with dynamic columns have no primary key (DuckDB cannot alter indexed tables);
   * their key is enforced by the insert instead. Merge tables need theirs for the upsert.
   */
  @Override
  protected String createTable(String schema, TableSpec spec) {
    boolean primaryKey = !spec.dynamicColumns();
    String cols = spec.columns().stream()
        .map(col -> ident(col.name()) + " " + sqlType(col.type())
            + (primaryKey && col.name().equals(spec.keyColumn()) ? " PRIMARY KEY" : ""))
        .collect(Collectors.joining(", "));
    if (spec.loadedAt()) cols += ", loaded_at TIMESTAMPTZ DEFAULT current_timestamp";
    return "CREATE TABLE IF NOT EXISTS " + schema + "." + ident(spec.name()) + " (" + cols + ")";
  }

  static String sqlType(ColumnType type) {
    return switch (type) {
      case STRING -> "VARCHAR";
      case LONG -> "BIGINT";
      case DOUBLE -> "DOUBLE";
      case BOOLEAN -> "BOOLEAN";
      case TIMESTAMP -> "TIMESTAMPTZ";
      case JSON -> "JSON";
    };
  }



}
