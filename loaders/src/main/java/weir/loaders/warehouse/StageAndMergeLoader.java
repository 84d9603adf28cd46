package weir.loaders.warehouse;

import java.io.IOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import weir.loaders.staging.StagedFile;
import weir.loaders.staging.StagingStore;
import weir.protocol.ColumnType;
import weir.protocol.TableSpec;

/**
 * The dialect steps of cloud warehouses whose bulk path is "copy files into a typed table, then
 * SQL" and whose upsert is a {@code MERGE} statement (Redshift, Snowflake): dynamic columns are
 * found by reading the staged files and widened by a new column swapped in; the rows are copied
 * (the dialect's bulk path) into the temporary {@code _weir_stage} table of the target's columns
 * and ranked per key into {@link #SOURCE}; merge is one {@code MERGE} per rank. The load itself is
 * {@link SqlWarehouseLoader}'s.
 */
public abstract class StageAndMergeLoader extends SqlWarehouseLoader {
  protected static final String STAGE = "_weir_stage";

  /** Opens connections (the driver in production; a recording connection in the contract tests). */
  @FunctionalInterface
  public interface Connector extends AutoCloseable {
    Connection connect() throws SQLException;

    /** Releases the driver (a class loader of its own, say). */
    @Override
    default void close() {}
  }

  protected final StagingStore staging;
  private final Connector connector;

  protected StageAndMergeLoader(Connector connector, StagingStore staging, String schemaPrefix) {
    super(schemaPrefix);
    this.connector = connector;
    this.staging = staging;
  }

  @Override
  public void close() {
    connector.close();
  }

  @Override
  protected final Connection open() throws SQLException {
    return connector.connect();
  }

  @Override
  protected final StagingStore staging() {
    return staging;
  }

  /** {@code CREATE TEMP TABLE name (columns)} in this dialect. */
  protected abstract String createTempTable(String name, String columns);

  /** {@code CREATE TEMP TABLE name AS select} in this dialect. */
  protected abstract String createTempTableAs(String name, String select);

  /**
   * Copies the staged files into {@link #STAGE}, whose columns are {@code columns} (name → type).
   */
  protected abstract void copyIntoStage(
      Statement s, Map<String, ColumnType> columns, List<StagedFile> files)
      throws SQLException, IOException;

  @Override
  protected abstract String now();

  /** The UTC date of a timestamp expression (sessions run in UTC). */
  @Override
  protected String utcDate(String expr) {
    return "CAST(" + expr + " AS DATE)";
  }

  /** Extra DDL after a created table's column list (distribution, sort or cluster keys). */
  protected String tableOptions(TableSpec spec) {
    return "";
  }

  @Override
  protected String createTable(String schema, TableSpec spec) {
    String cols =
        spec.columns().stream()
            .map(col -> ident(col.name()) + " " + sqlType(col.type()))
            .collect(Collectors.joining(", "));
    if (spec.loadedAt())
      cols += ", loaded_at " + sqlType(ColumnType.TIMESTAMP) + " DEFAULT " + now();
    return "CREATE TABLE IF NOT EXISTS "
        + schema
        + "."
        + ident(spec.name())
        + " ("
        + cols
        + ", PRIMARY KEY ("
        + ident(spec.keyColumn())
        + "))"
        + tableOptions(spec);
  }

  @Override
  protected final String rankRows(
      Statement s, TableSpec spec, Map<String, ColumnType> columns, List<StagedFile> files)
      throws SQLException, IOException {
    String list = list(List.copyOf(columns.keySet()));
    String key = ident(spec.keyColumn());
    String order = ident(spec.orderColumn() != null ? spec.orderColumn() : spec.keyColumn());
    s.execute("DROP TABLE IF EXISTS " + STAGE);
    s.execute(
        createTempTable(
            STAGE,
            columns.entrySet().stream()
                .map(e -> ident(e.getKey()) + " " + sqlType(e.getValue()))
                .collect(Collectors.joining(", "))));
    copyIntoStage(s, columns, files);
    s.execute("DROP TABLE IF EXISTS " + SOURCE);
    s.execute(
        createTempTableAs(
            SOURCE,
            "SELECT "
                + list
                + ", ROW_NUMBER() OVER (PARTITION BY "
                + key
                + " ORDER BY "
                + order
                + ") AS _weir_rank FROM "
                + STAGE
                + " WHERE "
                + key
                + " IS NOT NULL"));
    return SOURCE;
  }

  /**
   * Whether append inserts new keys with a {@code MERGE ... WHEN NOT MATCHED THEN INSERT}
   * (Snowflake) rather than {@code INSERT ... WHERE NOT EXISTS} (Redshift, whose MERGE needs a WHEN
   * MATCHED clause too).
   */
  protected boolean appendByMerge() {
    return false;
  }

  @Override
  protected final String appendNew(
      String target, String source, TableSpec spec, List<String> names) {
    if (!appendByMerge()) return super.appendNew(target, source, spec, names);
    String list = list(names);
    String key = ident(spec.keyColumn());
    String values = names.stream().map(n -> "s." + ident(n)).collect(Collectors.joining(", "));
    return "MERGE INTO "
        + target
        + " AS t USING (SELECT "
        + list
        + " FROM "
        + source
        + " WHERE _weir_rank = 1) AS s"
        + " ON t."
        + key
        + " = s."
        + key
        + " WHEN NOT MATCHED THEN INSERT ("
        + list
        + ") VALUES ("
        + values
        + ")";
  }

  /** One {@code MERGE} per rank: matched rows updated by their merge rules, new keys inserted. */
  @Override
  protected final String mergeRound(
      String target, String source, TableSpec spec, List<String> names, int round) {
    return mergeInto(target, source, spec, names, round);
  }
}
