package weir.loaders.warehouse;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.zip.GZIPInputStream;
import weir.loaders.staging.StagedFile;
import weir.loaders.staging.StagingStore;
import weir.protocol.ColumnType;
import weir.protocol.TableSpec;

/**
 * The rules every loader applies to dynamic columns (properties that become columns): the type a
 * column gets from the JSON values seen for it, and how an existing column widens when values of
 * another type arrive. Columns are never dropped or narrowed.
 */
public final class ColumnEvolution {
  private ColumnEvolution() {}

  /** The columns a row key must not become: the table's declared columns and {@code loaded_at}. */
  public static Set<String> declared(TableSpec spec) {
    Set<String> out = new HashSet<>();
    spec.columns().forEach(c -> out.add(c.name()));
    out.add("loaded_at");
    return out;
  }

  /** Whether a row key may become a column: a warehouse-safe name (lower-case snake_case). */
  public static boolean dynamicName(String key) {
    return key.matches("[a-z_][a-z0-9_]*");
  }

  /** JSON value kinds, as a loader reports them for one key. */
  public enum JsonKind {
    INTEGER,
    NUMBER,
    BOOLEAN,
    STRING,
    OTHER
  }

  /**
   * The column type for the kinds seen (nulls ignored): integers LONG, numbers DOUBLE, booleans
   * BOOLEAN, else STRING.
   */
  public static ColumnType typeOf(Set<JsonKind> kinds) {
    if (kinds.isEmpty()) return ColumnType.STRING;
    if (kinds.equals(Set.of(JsonKind.INTEGER))) return ColumnType.LONG;
    if (Set.of(JsonKind.INTEGER, JsonKind.NUMBER).containsAll(kinds)) return ColumnType.DOUBLE;
    if (kinds.equals(Set.of(JsonKind.BOOLEAN))) return ColumnType.BOOLEAN;
    return ColumnType.STRING;
  }

  /**
   * The type an existing column must have to take {@code incoming} values: itself when compatible
   * (same, DOUBLE taking LONG, STRING taking anything), DOUBLE for LONG meeting DOUBLE, else
   * STRING.
   */
  public static ColumnType widen(ColumnType existing, ColumnType incoming) {
    if (existing == incoming || existing == ColumnType.STRING) return existing;
    if (existing == ColumnType.DOUBLE && incoming == ColumnType.LONG) return existing;
    if (existing == ColumnType.LONG && incoming == ColumnType.DOUBLE) return ColumnType.DOUBLE;
    return ColumnType.STRING;
  }

  /**
   * The kinds of JSON values of each top-level key of the staged rows (gzip NDJSON), for warehouses
   * that cannot ask the database: keys in {@code skip} and names that are not warehouse-safe are
   * left out.
   */
  public static Map<String, Set<JsonKind>> scanKeys(
      StagingStore staging, List<StagedFile> files, Set<String> skip) throws IOException {
    Map<String, Set<JsonKind>> kinds = new TreeMap<>();
    JsonFactory json = new JsonFactory();
    for (StagedFile f : files) {
      try (InputStream in =
              new GZIPInputStream(
                  new BufferedInputStream(staging.open(f.key()), 1 << 16), 1 << 16);
          JsonParser p = json.createParser(in)) {
        while (p.nextToken() == JsonToken.START_OBJECT) {
          while (p.nextToken() == JsonToken.FIELD_NAME) {
            String k = p.currentName();
            JsonToken v = p.nextToken();
            if (!skip.contains(k) && dynamicName(k)) {
              Set<JsonKind> set = kinds.computeIfAbsent(k, x -> EnumSet.noneOf(JsonKind.class));
              switch (v) {
                case VALUE_NULL -> {}
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
