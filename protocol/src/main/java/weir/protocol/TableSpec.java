package weir.protocol;

import java.util.ArrayList;
import java.util.List;

/**
 * The shape of a warehouse table and how rows are loaded into it.
 *
 * <ul>
 *   <li>{@link Mode#APPEND}: rows are inserted, deduplicated on {@code keyColumn} ({@code
 *       event_id}).
 *   <li>{@link Mode#MERGE}: one row per {@code keyColumn}; each column merges by its {@link Merge}
 *       rule, rows applied in {@code orderColumn} order. With a {@link #SOFT_DELETE} column, a
 *       staged row that sets it to true marks the row deleted and keeps its other values. With an
 *       {@link #OP} column (connector tables), each staged row says what it is: {@code upsert} (a
 *       whole row: it replaces the columns it carries, nulls included), {@code update} and {@code
 *       delete} (change an existing row only: for a key the table does not have, and no earlier
 *       upsert in the load, they are dropped) and {@code truncate} (a marker, never a row: every
 *       row whose order column is earlier than the marker's is soft-deleted).
 *   <li>{@link Mode#REPLACE}: the load's rows become the whole table, swapped in atomically.
 *   <li>{@link Mode#PERIOD}: for every UTC day of {@code orderColumn} in the load, the table's rows
 *       of that day are dropped and the load's rows of that day appended, in one transaction.
 * </ul>
 *
 * With {@code dynamicColumns}, staged rows may carry more columns than declared: the loader adds
 * them (types inferred from the data) and widens a column when values of another type arrive;
 * columns are never dropped, not even by REPLACE. {@code loadedAt}: the loader adds a {@code
 * loaded_at} column.
 */
public record TableSpec(
    String name,
    List<Column> columns,
    String keyColumn,
    Mode mode,
    boolean dynamicColumns,
    boolean loadedAt,
    String orderColumn) {

  public enum Mode {
    APPEND,
    MERGE,
    REPLACE,
    PERIOD
  }

  /** The soft-delete column of merge tables. */
  public static final String SOFT_DELETE = "_weir_deleted";

  /** The column that says what a staged row of a merge table is (see {@link Mode#MERGE}). */
  public static final String OP = "_weir_op";

  /** How a column of a MERGE table combines an existing value with a new one. */
  public enum Merge {
    /** The merge key. */
    KEY,
    /** The newer value wins (when not null). */
    LATEST,
    /** JSON objects are merged, newer keys win. */
    JSON_PATCH,
    MIN,
    MAX,
    /**
     * The newer row's value; null included when the newer row is a whole row ({@link #OP} {@code
     * upsert}), else as {@link #LATEST}. Columns a table gains dynamically merge by this rule when
     * the table has an {@link #OP} column, else by {@link #LATEST}.
     */
    ROW
  }

  /** One column. */
  public record Column(String name, ColumnType type, Merge merge) {
    public Column(String name, ColumnType type) {
      this(name, type, Merge.LATEST);
    }
  }

  public TableSpec {
    columns = List.copyOf(columns);
    if (columns.stream().noneMatch(c -> c.name().equals(keyColumn))) {
      throw new IllegalArgumentException("key column " + keyColumn + " is not a column of " + name);
    }
  }

  /** An append-only table of events deduplicated on {@code event_id}, with {@code loaded_at}. */
  public static TableSpec events(String name, List<Column> columns) {
    return new TableSpec(name, columns, "event_id", Mode.APPEND, false, true, null);
  }

  /** A merge table keyed by the column whose rule is {@link Merge#KEY}. */
  public static TableSpec merged(String name, List<Column> columns, String orderColumn) {
    String key =
        columns.stream().filter(c -> c.merge() == Merge.KEY).findFirst().orElseThrow().name();
    return new TableSpec(name, columns, key, Mode.MERGE, false, true, orderColumn);
  }

  /** The webhook-style table: fixed columns, append, no {@code loaded_at}. */
  public static TableSpec fixed(String name, List<Column> columns, String keyColumn) {
    return new TableSpec(name, columns, keyColumn, Mode.APPEND, false, false, null);
  }

  /** A snapshot table: each load replaces it whole. */
  public static TableSpec replaced(String name, List<Column> columns, String keyColumn) {
    return new TableSpec(name, columns, keyColumn, Mode.REPLACE, false, true, null);
  }

  /**
   * A table loaded by periods: each load replaces the UTC days of {@code periodColumn} it contains.
   */
  public static TableSpec periods(
      String name, List<Column> columns, String keyColumn, String periodColumn) {
    return new TableSpec(name, columns, keyColumn, Mode.PERIOD, false, true, periodColumn);
  }

  /** This merge table with the {@link #SOFT_DELETE} boolean column. */
  public TableSpec withSoftDelete() {
    List<Column> more = new ArrayList<>(columns);
    more.add(new Column(SOFT_DELETE, ColumnType.BOOLEAN, Merge.LATEST));
    return new TableSpec(name, more, keyColumn, mode, dynamicColumns, loadedAt, orderColumn);
  }

  /** Whether staged rows say what they are in an {@link #OP} column. */
  public boolean hasOps() {
    return columns.stream().anyMatch(c -> c.name().equals(OP));
  }

  public TableSpec withDynamicColumns() {
    return new TableSpec(name, columns, keyColumn, mode, true, loadedAt, orderColumn);
  }
}
