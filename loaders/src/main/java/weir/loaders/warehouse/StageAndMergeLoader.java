package weir.loaders.warehouse;

import java.io.IOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import weir.loaders.staging.StagedFile;
import weir.loaders.staging.StagingStore;
import weir.protocol.ColumnType;
import weir.protocol.TableSpec;

/**
 * The load of cloud warehouses whose bulk path is "copy files into a typed table, then SQL" and whose upsert
 * is a {@code MERGE} statement (Redshift, Snowflake). Per table: add or widen dynamic columns (found by
 * reading the staged files), create the temporary {@code _weir_stage} table with the target's columns, copy
 * the files into it (the dialect's bulk path), rank its rows per key into {@code _weir_src}, then by mode:
 * append the first row of each new key ({@code NOT EXISTS}), drop the covered UTC days and append (period),
 * build a new table and swap it in (replace), or {@code MERGE} rank by rank (merge).
 */
public abstract class StageAndMergeLoader extends SqlWarehouseLoader {
  protected static final String STAGE = "_weir_stage";
  protected static final String SOURCE = "_weir_src";

  /** Opens connections (the driver in production; a recording connection in the contract tests). */
  @FunctionalInterface
  public interface Connector extends AutoCloseable {
    Connection connect() throws SQLException;

    /** Releases the driver (a class loader of its own, say). */
    @Override
    default void close() {}
  }

  @Override
  public void close() {
    connector.close();
  }

  protected final StagingStore staging;
  private final Connector connector;

  protected StageAndMergeLoader(Connector connector, StagingStore staging) {
    this.connector = connector;
    this.staging = staging;
  }

  @Override
  protected final Connection open() throws SQLException {
    return connector.connect();
  }

  @Override
  protected final StagingStore staging() {
    return staging;
  }

  /** The SQL type of a column type. */
  protected abstract String sqlType(ColumnType type);

  /** The column type of a type name from {@code information_schema.columns.data_type}. */
  protected abstract ColumnType columnType(String dataType);

  /** {@code CREATE TEMP TABLE name (columns)} in this dialect. */
  protected abstract String createTempTable(String name, String columns);

  /** {@code CREATE TEMP TABLE name AS select} in this dialect. */
  protected abstract String createTempTableAs(String name, String select);

  /** Copies the staged files into {@link #STAGE}, whose columns are {@code columns} (name → type). */
  protected abstract void copyIntoStage(Statement s, Map<String, ColumnType> columns, List<StagedFile> files)
      throws SQLException, IOException;

  /** The statements that make {@code fresh} (same schema) the table {@code name}, dropping the old one. */
  protected abstract List<String> swap(String schema, String fresh, String name);

  /** {@code CREATE TABLE fresh} with the columns of {@code target}. */
  protected abstract String createTableLike(String fresh, String target);

  /** The current time in this dialect. */
  protected abstract String now();

  /** The UTC date of a timestamp expression (sessions run in UTC). */
  protected String utcDate(String expr) {
    return "CAST(" + expr + " AS DATE)";
  }

  /** Extra DDL after a created table's column list (distribution, sort or cluster keys). */
  protected String tableOptions(TableSpec spec) {
    return "";
  }

  @Override
  protected String createTable(String schema, TableSpec spec) {
    String cols = spec.columns().stream().map(col -> ident(col.name()) + " " + sqlType(col.type()))
        .collect(Collectors.joining(", "));
    if (spec.loadedAt()) cols += ", loaded_at " + sqlType(ColumnType.TIMESTAMP) + " DEFAULT " + now();
    return "CREATE TABLE IF NOT EXISTS " + schema + "." + ident(spec.name()) + " (" + cols + ", PRIMARY KEY ("
        + ident(spec.keyColumn()) + "))" + tableOptions(spec);
  }

  @Override
  protected final long loadTable(Connection c, Statement s, String schema, TableSpec spec, List<StagedFile> files)
      throws SQLException, IOException {
    String target = schema + "." + ident(spec.name());
    Map<String, ColumnType> columns = new LinkedHashMap<>();
    for (TableSpec.Column col : spec.columns()) columns.put(col.name(), col.type());
    if (spec.dynamicColumns()) columns.putAll(evolve(s, schema, spec, files));
    List<String> names = List.copyOf(columns.keySet());
    String list = names.stream().map(SqlWarehouseLoader::ident).collect(Collectors.joining(", "));
    String key = ident(spec.keyColumn());
    String order = ident(spec.orderColumn() != null ? spec.orderColumn() : spec.keyColumn());

    s.execute("DROP TABLE IF EXISTS " + STAGE);
    s.execute(createTempTable(STAGE, columns.entrySet().stream()
        .map(e -> ident(e.getKey()) + " " + sqlType(e.getValue())).collect(Collectors.joining(", "))));
    copyIntoStage(s, columns, files);
    s.execute("DROP TABLE IF EXISTS " + SOURCE);
    s.execute(createTempTableAs(SOURCE, "SELECT " + list + ", ROW_NUMBER() OVER (PARTITION BY " + key + " ORDER BY "
        + order + ") AS _weir_rank FROM " + STAGE + " WHERE " + key + " IS NOT NULL"));
    String firstOfEachKey = "SELECT " + list + " FROM " + SOURCE + " WHERE _weir_rank = 1";
    switch (spec.mode()) {
      case APPEND -> {
        return s.executeUpdate(appendNew(target, names, key));
      }
      case PERIOD -> {
        String period = ident(spec.orderColumn());
        s.execute("DELETE FROM " + target + " WHERE " + utcDate(period) + " IN (SELECT DISTINCT " + utcDate(period)
            + " FROM " + SOURCE + ")");
        return s.executeUpdate(appendNew(target, names, key));
      }
      case REPLACE -> {
        String freshName = spec.name() + "__weir_new";
        String fresh = schema + "." + ident(freshName);
        s.execute("DROP TABLE IF EXISTS " + fresh);
        s.execute(createTableLike(fresh, target));
        long n = s.executeUpdate("INSERT INTO " + fresh + " (" + list + ") " + firstOfEachKey);
        for (String sql : swap(schema, freshName, spec.name())) s.execute(sql);
        return n;
      }
      case MERGE -> {
        return mergeStatementRounds(s, target, SOURCE, spec, names, now());
      }
      default -> throw new IllegalStateException("unknown mode " + spec.mode());
    }
  }

  /**
   * Whether append inserts new keys with a {@code MERGE ... WHEN NOT MATCHED THEN INSERT} (Snowflake) rather
   * than {@code INSERT ... WHERE NOT EXISTS} (Redshift, whose MERGE needs a WHEN MATCHED clause too).
   */
  protected boolean appendByMerge() {
    return false;
  }

  private String appendNew(String target, List<String> names, String key) {
    String list = names.stream().map(SqlWarehouseLoader::ident).collect(Collectors.joining(", "));
    if (appendByMerge()) {
      String values = names.stream().map(n -> "s." + ident(n)).collect(Collectors.joining(", "));
      return "MERGE INTO " + target + " AS t USING (SELECT " + list + " FROM " + SOURCE + " WHERE _weir_rank = 1) AS s"
          + " ON t." + key + " = s." + key + " WHEN NOT MATCHED THEN INSERT (" + list + ") VALUES (" + values + ")";
    }
    return "INSERT INTO " + target + " (" + list + ") SELECT " + list + " FROM " + SOURCE + " AS s WHERE s._weir_rank = 1"
        + " AND NOT EXISTS (SELECT 1 FROM " + target + " AS t WHERE t." + key + " = s." + key + ")";
  }

  /**
   * Dynamic columns: the top-level keys of the staged rows beyond the declared columns (read from the files),
   * added, or widened by a new column of the wide type, filled, swapped in by rename (these warehouses cannot
   * change a column's type in place).
   */
  private Map<String, ColumnType> evolve(Statement s, String schema, TableSpec spec, List<StagedFile> files)
      throws SQLException, IOException {
    Map<String, Set<ColumnEvolution.JsonKind>> kinds = ColumnEvolution.scanKeys(staging, files,
        ColumnEvolution.declared(spec));
    return evolveColumns(s, schema, spec, kinds, new ColumnDdl() {
      @Override
      public ColumnType columnType(String dataType) {
        return StageAndMergeLoader.this.columnType(dataType);
      }

      @Override
      public String add(String target, String column, ColumnType type) {
        return "ALTER TABLE " + target + " ADD COLUMN " + ident(column) + " " + sqlType(type);
      }

      @Override
      public List<String> widen(String target, String column, ColumnType type) {
        String tmp = ident(column + "__weir_wide");
        return List.of("ALTER TABLE " + target + " ADD COLUMN " + tmp + " " + sqlType(type),
            "UPDATE " + target + " SET " + tmp + " = CAST(" + ident(column) + " AS " + sqlType(type) + ")",
            "ALTER TABLE " + target + " DROP COLUMN " + ident(column),
            "ALTER TABLE " + target + " RENAME COLUMN " + tmp + " TO " + ident(column));
      }
    });
  }
}
