package weir.protocol.connector;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import weir.protocol.ColumnType;
import weir.protocol.TableSpec;
import weir.protocol.event.Names;

/**
 * The warehouse shape of a connector's tables, wherever they are loaded (the cluster, {@code
 * connector debug}): one merge table per connector table, keyed by {@link #ID} (the primary key
 * values as a JSON array, or a surrogate for {@code INCREMENTAL_APPENDS}), ordered by {@link
 * #SYNCED}, soft-deleted by {@link #DELETED}, each staged row saying what it is in {@link #OP} (see
 * {@link TableSpec.Mode#MERGE}); the connector's columns follow, declared or inferred.
 */
public final class ConnectorTables {
  private ConnectorTables() {}

  public static final String ID = "_weir_id";
  public static final String SYNCED = "_weir_synced";
  public static final String DELETED = TableSpec.SOFT_DELETE;
  public static final String OP = TableSpec.OP;

  /** The spec of connector table {@code table} with its known {@code columns} (name → type). */
  public static TableSpec spec(String table, Map<String, ColumnType> columns) {
    List<TableSpec.Column> all = new ArrayList<>();
    all.add(new TableSpec.Column(ID, ColumnType.STRING, TableSpec.Merge.KEY));
    all.add(new TableSpec.Column(SYNCED, ColumnType.TIMESTAMP, TableSpec.Merge.LATEST));
    all.add(new TableSpec.Column(DELETED, ColumnType.BOOLEAN, TableSpec.Merge.LATEST));
    all.add(new TableSpec.Column(OP, ColumnType.STRING, TableSpec.Merge.ROW));
    columns.forEach(
        (name, type) -> {
          if (!isSystem(name)) all.add(new TableSpec.Column(name, type, TableSpec.Merge.ROW));
        });
    return new TableSpec(table, all, ID, TableSpec.Mode.MERGE, true, false, SYNCED);
  }

  /** Whether {@code column} is one of Weir's own columns. */
  public static boolean isSystem(String column) {
    return column.equals(ID)
        || column.equals(SYNCED)
        || column.equals(DELETED)
        || column.equals(OP);
  }

  /** The warehouse name of a connector's table or column name. */
  public static String name(String raw) {
    return Names.safe(raw);
  }

  /**
   * The warehouse type of an SDK column type. The warehouses have six types: dates and naive times
   * become timestamps (a date at midnight UTC, a naive time read as UTC), decimals doubles, binary
   * and XML strings (binary as base64).
   */
  public static ColumnType wireType(weir.sdk.ColumnType type) {
    return switch (type) {
      case BOOLEAN -> ColumnType.BOOLEAN;
      case SHORT, INT, LONG -> ColumnType.LONG;
      case DECIMAL, FLOAT, DOUBLE -> ColumnType.DOUBLE;
      case NAIVE_DATE, NAIVE_DATETIME, UTC_DATETIME -> ColumnType.TIMESTAMP;
      case BINARY, XML, STRING -> ColumnType.STRING;
      case JSON -> ColumnType.JSON;
    };
  }
}
