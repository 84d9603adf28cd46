package weir.persistence.registry;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import weir.protocol.ColumnType;
import weir.protocol.connector.ColumnPolicy;

/**
 * What a {@code connector} connection runs and what it has learnt. Persisted inside the registry's
 * events (add fields only).
 *
 * @param jar the sha256 of the uploaded jar
 * @param className the {@code SourceConnector} class in it
 * @param configuration the connector's configuration, every value sealed ({@code SecretBox})
 * @param columns column policies by {@code <table>.<column>} (warehouse names)
 * @param salt the hashing salt of hashed columns, sealed
 * @param tables the columns each table has been seen with (warehouse names and types), so every
 *     node loads them with the same types
 */
public record ConnectorSource(
    String jar,
    String className,
    Map<String, String> configuration,
    Map<String, ColumnPolicy> columns,
    String salt,
    Map<String, Map<String, ColumnType>> tables) {
  public ConnectorSource {
    configuration = configuration == null ? Map.of() : Map.copyOf(configuration);
    columns = columns == null ? Map.of() : Map.copyOf(columns);
    Map<String, Map<String, ColumnType>> t = new TreeMap<>();
    if (tables != null) tables.forEach((k, v) -> t.put(k, new LinkedHashMap<>(v)));
    tables = java.util.Collections.unmodifiableMap(t);
  }

  /** This source with {@code learnt} columns added (a column's type replaced by the newer). */
  public ConnectorSource withTables(Map<String, Map<String, ColumnType>> learnt) {
    Map<String, Map<String, ColumnType>> next = new TreeMap<>();
    tables.forEach((k, v) -> next.put(k, new LinkedHashMap<>(v)));
    learnt.forEach((k, v) -> next.computeIfAbsent(k, x -> new LinkedHashMap<>()).putAll(v));
    return new ConnectorSource(jar, className, configuration, columns, salt, next);
  }

  @Override
  public String toString() {
    return "ConnectorSource[" + className + " in " + jar + "]";
  }
}
