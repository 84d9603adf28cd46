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

  /** The columns a row key must not become: the table's declared columns and {@code loaded_at}. */
  public static Set<String> declared(weir.protocol.TableSpec spec) {
    Set<String> out = new java.util.HashSet<>();
    spec.columns().forEach(c -> out.add(c.name()));
    out.add("loaded_at");
    return out;
  }

  /** Whether a row key may become a column: a warehouse-safe name (lower-case snake_case). */
  public static boolean dynamicName(String key) {
    return key.matches("[a-z_][a-z0-9_]*");
  }

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

  /**
   * The kinds of JSON values of each top-level key of the staged rows (gzip NDJSON), for warehouses that
   * cannot ask the database: keys in {@code skip} and names that are not warehouse-safe are left out.
   */
  public static java.util.Map<String, Set<JsonKind>> scanKeys(weir.loaders.staging.StagingStore staging,
      java.util.List<weir.loaders.staging.StagedFile> files, Set<String> skip) throws java.io.IOException {
    java.util.Map<String, Set<JsonKind>> kinds = new java.util.TreeMap<>();
    com.fasterxml.jackson.core.JsonFactory json = new com.fasterxml.jackson.core.JsonFactory();
    for (weir.loaders.staging.StagedFile f : files) {
      try (java.io.InputStream in = new java.util.zip.GZIPInputStream(new java.io.BufferedInputStream(
          staging.open(f.key()), 1 << 16), 1 << 16);
          com.fasterxml.jackson.core.JsonParser p = json.createParser(in)) {
        while (p.nextToken() == com.fasterxml.jackson.core.JsonToken.START_OBJECT) {
          while (p.nextToken() == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
            String k = p.currentName();
            com.fasterxml.jackson.core.JsonToken v = p.nextToken();
            if (!skip.contains(k) && dynamicName(k)) {
              Set<JsonKind> set = kinds.computeIfAbsent(k, x -> java.util.EnumSet.noneOf(JsonKind.class));
              switch (v) {
                case VALUE_NULL -> { }
                case VALUE_NUMBER_INT -> set.add(JsonKind.INTEGER);
                case VALUE_NUMBER_FLOAT -> set.add(JsonKind.NUMBER);
                case VALUE_TRUE, VALUE_FALSE -> set.add(JsonKind.BOOLEAN);
                case VALUE_STRING -> set.add(JsonKind.STRING);
                default -> set.add(JsonKind.OTHER);
              }
            }
            p.skipChildren();
          }
        }
      }
    }
    return kinds;
  }
}
