package weir.protocol;

import java.util.List;

/**
 * The shape of a warehouse table: its columns in order and its deduplication key ({@code event_id} for
 * event tables).
 */
public record TableSpec(String name, List<Column> columns, String keyColumn) {

  /** One column. */
  public record Column(String name, ColumnType type) {}

  public TableSpec {
    columns = List.copyOf(columns);
    if (columns.stream().noneMatch(c -> c.name().equals(keyColumn))) {
      throw new IllegalArgumentException("key column " + keyColumn + " is not a column of " + name);
    }
  }
}
