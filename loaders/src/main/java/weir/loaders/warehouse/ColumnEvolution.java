package weir.loaders.warehouse;

import java.util.Set;
import weir.protocol.ColumnType;

/**
 * The rules every loader applies to dynamic columns (properties that become columns): the type a column
 * gets from the JSON values seen for it, and how an existing column widens when values of another type
 * arrive. Columns are never dropped or narrowed.
 */
public final class ColumnEvolution {
  private ColumnEvolution() {}

  /** JSON value kinds, as a loader reports them for one key. */
  public enum JsonKind { INTEGER, NUMBER, BOOLEAN, STRING, OTHER }

  /** The column type for the kinds seen (nulls ignored): integers LONG, numbers DOUBLE, booleans BOOLEAN, else STRING. */
  public static ColumnType typeOf(Set<JsonKind> kinds) {
    if (kinds.isEmpty()) return ColumnType.STRING;
    if (kinds.equals(Set.of(JsonKind.INTEGER))) return ColumnType.LONG;
    if (Set.of(JsonKind.INTEGER, JsonKind.NUMBER).containsAll(kinds)) return ColumnType.DOUBLE;
    if (kinds.equals(Set.of(JsonKind.BOOLEAN))) return ColumnType.BOOLEAN;
    return ColumnType.STRING;
  }

  /**
   * The type an existing column must have to take {@code incoming} values: itself when compatible (same,
   * DOUBLE taking LONG, STRING taking anything), DOUBLE for LONG meeting DOUBLE, else STRING.
   */
  public static ColumnType widen(ColumnType existing, ColumnType incoming) {
    if (existing == incoming || existing == ColumnType.STRING) return existing;
    if (existing == ColumnType.DOUBLE && incoming == ColumnType.LONG) return existing;
    if (existing == ColumnType.LONG && incoming == ColumnType.DOUBLE) return ColumnType.DOUBLE;
    return ColumnType.STRING;
  }
}
