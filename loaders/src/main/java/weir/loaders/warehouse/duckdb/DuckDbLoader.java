package weir.loaders.warehouse.duckdb;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import weir.loaders.staging.LocalFiles;
import weir.loaders.staging.StagedFile;
import weir.loaders.staging.StagingStore;
import weir.loaders.warehouse.ColumnEvolution;
import weir.loaders.warehouse.SqlWarehouseLoader;
import weir.protocol.ColumnType;
import weir.protocol.Json;
import weir.protocol.TableSpec;

/**
 * Loads staged NDJSON.gz files into an embedded DuckDB database file, one transaction per load.
 *
 * <p>One mechanism for every table: the staged files are read as raw JSON objects ({@code
 * read_json_objects}) into a temporary table, and each column is extracted from them with its type.
 * Declared columns come from the {@link TableSpec}; for tables with dynamic columns the remaining
 * top-level keys become columns too (type from the JSON values: integers BIGINT, numbers DOUBLE,
 * booleans BOOLEAN, anything else VARCHAR), added with {@code ALTER TABLE} when new, and widened
 * (BIGINT to DOUBLE, any other conflict to VARCHAR) when values of another type arrive. Append
 * tables insert rows whose key is not in the table yet (one per key); merge tables upsert by key,
 * applying the batch's rows in {@code orderColumn} order with each column's merge rule.
 *
 * <p>The database file is opened for each load and closed afterwards: DuckDB allows one writing
 * process per file, so between loads users can open the warehouse (read-only) with their own tools.
 */
public final class DuckDbLoader extends SqlWarehouseLoader {
  private static final String RAW = "_weir_raw";

  /** The struct of a raw row's columns, parsed once. */
  private static final String PARSED = "_weir_parsed";

  private final Path databaseFile;
  private final StagingStore staging;

  public DuckDbLoader(Path databaseFile, StagingStore staging) {
    super("");
    this.databaseFile = databaseFile.toAbsolutePath();
    this.staging = staging;
  }

  /**
   * The warehouse file is attached under this catalog name: a file's own name would become its
   * catalog, and a connection schema of the same name ({@code shop.duckdb} with schema {@code
   * shop}) would be ambiguous.
   */
  static final String CATALOG = "weir_warehouse";

  @Override
  protected Connection open() throws SQLException, IOException {
    Files.createDirectories(databaseFile.getParent());
    Properties props = new Properties();
    props.setProperty(
        "extension_directory", databaseFile.resolveSibling(".duckdb_extensions").toString());
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
   * DuckDB gives no SQLSTATE: its row errors are told by their message — a JSON object over {@code
   * maximum_object_size}, malformed JSON, a conversion or range error (reading a missing file is an
   * IO error, not a row's).
   */
  @Override
  protected boolean isRowError(SQLException e) {
    String m = String.valueOf(e.getMessage());
    if (m.contains("IO Error")) return false;
    return m.contains("maximum_object_size")
        || m.contains("Malformed JSON")
        || m.contains("Conversion Error")
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

  /** Reads the files as raw JSON objects into the temporary table {@code _weir_raw}. */
  @Override
  protected void readFiles(Connection c, Statement s, TableSpec spec, List<StagedFile> files)
      throws SQLException, IOException {
    try (LocalFiles local =
        new LocalFiles(staging, databaseFile.resolveSibling(".duckdb_staging"))) {
      List<String> paths = new ArrayList<>();
      for (StagedFile f : files) paths.add(literal(local.path(f.key()).toString()));
      s.execute(
          "CREATE OR REPLACE TEMP TABLE "
              + RAW
              + " AS SELECT json FROM read_json_objects(["
              + String.join(", ", paths)
              + "], format = 'newline_delimited', compression = 'gzip')");
    }
  }

  /**
   * The keys of the raw rows and the JSON types DuckDB sees in their values: each row's structure
   * ({@code json_structure}, one parse of the row), the distinct structures merged here. Asking
   * {@code json_type} per key parsed every row once per key, and was a fifth of a load's time.
   */
  @Override
  protected Map<String, Set<ColumnEvolution.JsonKind>> dynamicKeys(
      Statement s, TableSpec spec, List<StagedFile> files, Set<String> declared)
      throws SQLException {
    Map<String, Set<ColumnEvolution.JsonKind>> kinds = new TreeMap<>();
    try (ResultSet rs =
        s.executeQuery("SELECT DISTINCT CAST(json_structure(json) AS VARCHAR) FROM " + RAW)) {
      while (rs.next()) {
        JsonNode structure;
        try {
          structure = Json.MAPPER.readTree(rs.getString(1));
        } catch (IOException e) {
          throw new SQLException("DuckDB gave an unreadable JSON structure: " + e.getMessage(), e);
        }
        if (!(structure instanceof ObjectNode row)) continue;
        for (Map.Entry<String, JsonNode> field : row.properties()) {
          String k = field.getKey();
          if (declared.contains(k) || !ColumnEvolution.dynamicName(k)) continue;
          Set<ColumnEvolution.JsonKind> seen = kinds.computeIfAbsent(k, x -> new HashSet<>());
          JsonNode type = field.getValue();
          if (type.isTextual()) seen.addAll(kindsOf(type.asText()));
          else seen.add(ColumnEvolution.JsonKind.OTHER); // an object or array
        }
      }
    }
    return kinds;
  }

  /**
   * Extracts each column with its type from the raw rows into {@link #SOURCE}, ranked per key; in
   * merge mode one row per source event first (its {@code event_id}, else its content). Every row
   * is parsed once ({@code json_transform} into a struct of the columns, as text or JSON, cast from
   * there): extracting each column with a path parsed the row once per column.
   */
  @Override
  protected String rankRows(
      Statement s, TableSpec spec, Map<String, ColumnType> columns, List<StagedFile> files)
      throws SQLException {
    ObjectNode structure = Json.MAPPER.createObjectNode();
    columns.forEach(
        (name, type) -> structure.put(name, sqlType(type).equals("JSON") ? "JSON" : "VARCHAR"));
    String values =
        columns.entrySet().stream()
            .map(e -> extract(e.getKey(), sqlType(e.getValue())) + " AS " + ident(e.getKey()))
            .collect(Collectors.joining(", "));
    String parsed =
        "(SELECT json, json_transform(json, "
            + literal(Json.write(structure))
            + ") AS "
            + PARSED
            + " FROM "
            + RAW
            + ")";
    String key = ident(spec.keyColumn());
    String order = ident(spec.orderColumn() != null ? spec.orderColumn() : spec.keyColumn());
    String rows =
        spec.mode() == TableSpec.Mode.MERGE
            ? "SELECT DISTINCT ON (_weir_source) * FROM (SELECT "
                + values
                // Connector rows are each one operation (their event_id, if any, is the
                // source's column).
                + (spec.hasOps()
                    ? ", md5(CAST(json AS VARCHAR)) AS _weir_source FROM "
                    : ", coalesce(json->>'$.event_id', md5(CAST(json AS VARCHAR))) AS _weir_source"
                        + " FROM ")
                + parsed
                + ")"
            : "SELECT " + values + " FROM " + parsed;
    s.execute(
        "CREATE OR REPLACE TEMP TABLE "
            + SOURCE
            + " AS SELECT *, row_number() OVER (PARTITION BY "
            + key
            + " ORDER BY "
            + order
            + ") AS _weir_rank FROM ("
            + rows
            + ") WHERE "
            + key
            + " IS NOT NULL");
    return SOURCE;
  }

  /**
   * A table with dynamic columns has no primary key here (see {@link #createTable}), so {@code ON
   * CONFLICT} has nothing to conflict on: such tables merge with {@code MERGE INTO}.
   */
  @Override
  protected String mergeRound(
      String target, String source, TableSpec spec, List<String> names, int round) {
    return spec.dynamicColumns()
        ? mergeInto(target, source, spec, names, round)
        : super.mergeRound(target, source, spec, names, round);
  }

  @Override
  protected String utcDate(String expr) {
    return "CAST(timezone('UTC', " + expr + ") AS DATE)";
  }

  /** A copy of the columns keeps no defaults in DuckDB: {@code loaded_at}'s is set again. */
  @Override
  protected List<String> createTableLike(String fresh, String target, TableSpec spec) {
    List<String> out =
        new ArrayList<>(
            List.of("CREATE TABLE " + fresh + " AS SELECT * FROM " + target + " LIMIT 0"));
    if (spec.loadedAt())
      out.add("ALTER TABLE " + fresh + " ALTER COLUMN loaded_at SET DEFAULT current_timestamp");
    return out;
  }

  @Override
  protected String jsonMerge(String base, String patch) {
    return "json_merge_patch(coalesce(" + base + ", '{}'), coalesce(" + patch + ", '{}'))";
  }

  /** DuckDB changes a column's type in place. */
  @Override
  protected List<String> widenColumn(String target, String column, ColumnType type) {
    return List.of(
        "ALTER TABLE " + target + " ALTER COLUMN " + ident(column) + " TYPE " + sqlType(type));
  }

  /** The kinds of the JSON types DuckDB reports for one key ({@code [BIGINT, VARCHAR]}). */
  static Set<ColumnEvolution.JsonKind> kindsOf(String jsonTypes) {
    Set<ColumnEvolution.JsonKind> kinds = new HashSet<>();
    for (String t : jsonTypes.replaceAll("[\\[\\]\\s]", "").split(",")) {
      switch (t) {
        case "", "NULL" -> {}
        case "BIGINT", "UBIGINT" -> kinds.add(ColumnEvolution.JsonKind.INTEGER);
        case "DOUBLE" -> kinds.add(ColumnEvolution.JsonKind.NUMBER);
        case "BOOLEAN" -> kinds.add(ColumnEvolution.JsonKind.BOOLEAN);
        case "VARCHAR" -> kinds.add(ColumnEvolution.JsonKind.STRING);
        default -> kinds.add(ColumnEvolution.JsonKind.OTHER);
      }
    }
    return kinds;
  }

  @Override
  protected ColumnType columnType(String duckdbType) {
    return switch (duckdbType) {
      case "BIGINT" -> ColumnType.LONG;
      case "DOUBLE" -> ColumnType.DOUBLE;
      case "BOOLEAN" -> ColumnType.BOOLEAN;
      case "JSON" -> ColumnType.JSON;
      case "TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ" -> ColumnType.TIMESTAMP;
      default -> ColumnType.STRING;
    };
  }

  /**
   * The expression that reads one column of the given SQL type from the parsed row: the text (or
   * JSON text) {@code json_transform} gave, cast to the type (NULL where it does not convert).
   */
  private static String extract(String column, String sqlType) {
    String field = PARSED + "." + ident(column);
    return switch (sqlType) {
      case "JSON", "VARCHAR" -> field;
      default -> "TRY_CAST(" + field + " AS " + sqlType + ")";
    };
  }

  /**
   * The table's DDL. Tables with dynamic columns have no primary key (DuckDB cannot alter indexed
   * tables); their key is enforced by the insert instead. Merge tables need theirs for the upsert.
   */
  @Override
  protected String createTable(String schema, TableSpec spec) {
    boolean primaryKey = !spec.dynamicColumns();
    String cols =
        spec.columns().stream()
            .map(
                col ->
                    ident(col.name())
                        + " "
                        + sqlType(col.type())
                        + (primaryKey && col.name().equals(spec.keyColumn()) ? " PRIMARY KEY" : ""))
            .collect(Collectors.joining(", "));
    if (spec.loadedAt()) cols += ", loaded_at TIMESTAMPTZ DEFAULT current_timestamp";
    return "CREATE TABLE IF NOT EXISTS " + schema + "." + ident(spec.name()) + " (" + cols + ")";
  }

  @Override
  protected String sqlType(ColumnType type) {
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
