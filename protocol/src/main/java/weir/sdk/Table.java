package weir.sdk;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A table a connector emits.
 *
 * @param name its name (made warehouse-safe by the loader: snake_case)
 * @param primaryKey the columns that identify a row; empty for {@link
 *     ExtractMode#INCREMENTAL_APPENDS} (rows get a surrogate {@code _weir_id})
 * @param columns declared column types; others are inferred from the values
 * @param extractMode how rows of successive syncs combine
 */
public record Table(
    String name,
    List<String> primaryKey,
    Map<String, ColumnType> columns,
    ExtractMode extractMode) {
  public Table {
    if (name == null || name.isBlank()) throw new IllegalArgumentException("a table needs a name");
    primaryKey = primaryKey == null ? List.of() : List.copyOf(primaryKey);
    columns =
        columns == null
            ? Map.of()
            : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(columns));
    if (extractMode == null) extractMode = ExtractMode.INCREMENTAL_UPDATES;
    if (primaryKey.isEmpty() && extractMode != ExtractMode.INCREMENTAL_APPENDS)
      throw new IllegalArgumentException(
          "table " + name + " needs a primary key (only INCREMENTAL_APPENDS tables go without)");
  }

  /**
   * A table merged by {@code primaryKey}, its columns inferred ({@link
   * ExtractMode#INCREMENTAL_UPDATES}).
   */
  public static Table of(String name, String... primaryKey) {
    return new Table(name, List.of(primaryKey), Map.of(), ExtractMode.INCREMENTAL_UPDATES);
  }

  /** This table with {@code mode}. */
  public Table withExtractMode(ExtractMode mode) {
    return new Table(name, primaryKey, columns, mode);
  }

  /** This table with {@code column} declared as {@code type}. */
  public Table withColumn(String column, ColumnType type) {
    Map<String, ColumnType> next = new LinkedHashMap<>(columns);
    next.put(column, type);
    return new Table(name, primaryKey, next, extractMode);
  }
}
