package weir.protocol;

import java.util.List;

/**
 * The shape of a warehouse table and how rows are loaded into it.
 *
 * <p>{@link Mode#APPEND}: rows are inserted, deduplicated on {@code keyColumn} ({@code event_id}). With
 * {@code dynamicColumns}, staged rows may carry more columns than declared: the loader adds them (types
 * inferred from the data) and widens a column to text when values of another type arrive; columns are
 * never dropped. {@link Mode#MERGE}: one row per {@code keyColumn}; each column merges by its {@link Merge}
 * rule, in {@code orderColumn} order. {@code loadedAt}: the loader adds a {@code loaded_at} column.
 */
public record TableSpec(String name, List<Column> columns, String keyColumn, Mode mode, boolean dynamicColumns,
    boolean loadedAt, String orderColumn) {

  public enum Mode { APPEND, MERGE }

  /** How a column of a MERGE table combines an existing value with a new one. */
  public enum Merge {
    /** The merge key. */
    KEY,
    /** The newer value wins (when not null). */
    LATEST,
    /** JSON objects are merged, newer keys win. */
    JSON_PATCH,
    MIN,
    MAX
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
    String key = columns.stream().filter(c -> c.merge() == Merge.KEY).findFirst().orElseThrow().name();
    return new TableSpec(name, columns, key, Mode.MERGE, false, true, orderColumn);
  }

  /** The webhook-style table: fixed columns, append, no {@code loaded_at}. */
  public static TableSpec fixed(String name, List<Column> columns, String keyColumn) {
    return new TableSpec(name, columns, keyColumn, Mode.APPEND, false, false, null);
  }

  public TableSpec withDynamicColumns() {
    return new TableSpec(name, columns, keyColumn, mode, true, loadedAt, orderColumn);
  }
}
