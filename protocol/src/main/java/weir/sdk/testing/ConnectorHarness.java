package weir.sdk.testing;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import weir.sdk.ColumnType;
import weir.sdk.ConnectorException;
import weir.sdk.ExtractMode;
import weir.sdk.Operations;
import weir.sdk.SourceConnector;
import weir.sdk.Table;
import weir.sdk.Values;

/**
 * Runs a {@link SourceConnector} in memory, sync after sync, with the semantics Weir gives it
 * everywhere, so that its author can assert on the resulting tables and state in a JUnit test:
 *
 * <ul>
 *   <li>{@code upsert} inserts or replaces the row with its primary key ({@code
 *       INCREMENTAL_APPENDS} tables append, each row with a surrogate {@code _weir_id}); {@code
 *       update} changes the given columns of an existing row and is ignored for a missing key;
 *       {@code delete} soft-deletes ({@code _weir_deleted} = true); {@code truncate} soft-deletes
 *       the rows synced before it;
 *   <li>every row carries {@code _weir_synced} (when it was last written) and {@code
 *       _weir_deleted};
 *   <li>{@code SNAPSHOT} tables: rows a successful sync did not send are soft-deleted at its end;
 *   <li>a checkpoint's state must survive a JSON round trip; a sync that throws keeps what it
 *       emitted (as the warehouse would) and the state of its last checkpoint, which the next sync
 *       starts from; {@link #resync()} empties the state and truncates every table at the start of
 *       the next sync;
 *   <li>column types are the declared ones, else inferred from the values ({@link Values}), widened
 *       when a later value needs it.
 * </ul>
 *
 * Not thread-safe; one harness per test.
 */
public final class ConnectorHarness {
  public static final String SYNCED = "_weir_synced";
  public static final String DELETED = "_weir_deleted";
  public static final String ID = "_weir_id";

  private static final ObjectMapper JSON = new ObjectMapper().findAndRegisterModules();

  /** What one sync did: its outcome and the operations per table. */
  public record SyncResult(
      boolean succeeded,
      String error,
      Map<String, Counts> tables,
      int checkpoints,
      Map<String, Object> state) {}

  /** Operations on one table in one sync. */
  public record Counts(long upserts, long updates, long deletes, long truncates) {}

  private final SourceConnector connector;
  private final Map<String, String> configuration;
  private final Map<String, Map<List<Object>, Map<String, Object>>> rows = new TreeMap<>();
  private final Map<String, Map<String, ColumnType>> columns = new TreeMap<>();
  private Map<String, Object> state = Map.of();
  private boolean resyncRequested;
  private long appended;

  public ConnectorHarness(SourceConnector connector, Map<String, String> configuration) {
    this.connector = connector;
    this.configuration = Map.copyOf(configuration);
  }

  /** Runs one sync to its end (or its exception). */
  public SyncResult sync() {
    Map<String, Table> schema = new LinkedHashMap<>();
    try {
      for (Table t : connector.schema(configuration)) schema.put(t.name(), t);
    } catch (Exception e) {
      return new SyncResult(false, message(e), Map.of(), 0, state);
    }
    if (resyncRequested) {
      Instant now = Instant.now();
      for (String table : rows.keySet()) softDeleteAll(table, now);
      resyncRequested = false;
    }
    Recorder ops = new Recorder(schema);
    try {
      connector.update(configuration, deepCopy(state), ops);
    } catch (Exception e) {
      return new SyncResult(false, message(e), ops.counts(), ops.checkpoints, state);
    }
    // A snapshot table keeps only what this sync sent.
    Instant end = Instant.now();
    for (Table t : schema.values()) {
      if (t.extractMode() != ExtractMode.SNAPSHOT) continue;
      Set<List<Object>> sent = ops.sent.getOrDefault(t.name(), Set.of());
      for (Map.Entry<List<Object>, Map<String, Object>> e : table(t.name()).entrySet()) {
        if (!sent.contains(e.getKey()) && !Boolean.TRUE.equals(e.getValue().get(DELETED))) {
          e.getValue().put(DELETED, true);
          e.getValue().put(SYNCED, end);
        }
      }
    }
    return new SyncResult(true, null, ops.counts(), ops.checkpoints, state);
  }

  /** Asks for a full re-sync: the next sync starts from an empty state, its tables truncated. */
  public void resync() {
    state = Map.of();
    resyncRequested = true;
  }

  /** The state the last checkpoint saved. */
  public Map<String, Object> state() {
    return state;
  }

  /** Every row of {@code table}, soft-deleted ones too, in key order of first write. */
  public List<Map<String, Object>> rows(String table) {
    List<Map<String, Object>> out = new ArrayList<>();
    table(table)
        .values()
        .forEach(r -> out.add(Collections.unmodifiableMap(new LinkedHashMap<>(r))));
    return out;
  }

  /** The rows of {@code table} that are not soft-deleted. */
  public List<Map<String, Object>> liveRows(String table) {
    return rows(table).stream().filter(r -> !Boolean.TRUE.equals(r.get(DELETED))).toList();
  }

  /** The column types of {@code table} (declared, else inferred and widened). */
  public Map<String, ColumnType> columns(String table) {
    return Map.copyOf(columns.getOrDefault(table, Map.of()));
  }

  private Map<List<Object>, Map<String, Object>> table(String name) {
    return rows.computeIfAbsent(name, k -> new LinkedHashMap<>());
  }

  private void softDeleteAll(String table, Instant at) {
    for (Map<String, Object> r : table(table).values()) {
      if (!Boolean.TRUE.equals(r.get(DELETED))) {
        r.put(DELETED, true);
        r.put(SYNCED, at);
      }
    }
  }

  private static String message(Exception e) {
    return e instanceof ConnectorException
        ? e.getMessage()
        : e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
  }

  private static Map<String, Object> deepCopy(Map<String, Object> state) {
    try {
      return JSON.readValue(JSON.writeValueAsBytes(state), new TypeReference<>() {});
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The operations of one sync, applied as they come. */
  private final class Recorder implements Operations {
    final Map<String, Table> schema;
    final Map<String, long[]> counts = new TreeMap<>();
    final Map<String, Set<List<Object>>> sent = new TreeMap<>();
    int checkpoints;

    Recorder(Map<String, Table> schema) {
      this.schema = schema;
    }

    Map<String, Counts> counts() {
      Map<String, Counts> out = new TreeMap<>();
      counts.forEach((t, c) -> out.put(t, new Counts(c[0], c[1], c[2], c[3])));
      return out;
    }

    private Table declared(String table) {
      Table t = schema.get(table);
      if (t == null)
        throw new ConnectorException(
            "table '" + table + "' is not in schema(); declared: " + schema.keySet());
      return t;
    }

    private long[] count(String table) {
      return counts.computeIfAbsent(table, k -> new long[4]);
    }

    private List<Object> key(Table t, Map<String, Object> row, String op) {
      List<Object> key = new ArrayList<>();
      for (String k : t.primaryKey()) {
        Object v = row.get(k);
        if (v == null)
          throw new ConnectorException(
              op + " on table '" + t.name() + "' needs its primary key column '" + k + "'");
        key.add(v instanceof byte[] b ? List.of(java.util.Arrays.toString(b)) : v);
      }
      return key;
    }

    private void typed(Table t, Map<String, Object> row) {
      Map<String, ColumnType> types = columns.computeIfAbsent(t.name(), k -> new LinkedHashMap<>());
      types.putAll(t.columns());
      for (Map.Entry<String, Object> e : row.entrySet()) {
        if (t.columns().containsKey(e.getKey())) continue;
        ColumnType incoming = Values.typeOf(e.getValue());
        types.put(e.getKey(), Values.widen(types.get(e.getKey()), incoming));
        if (types.get(e.getKey()) == null) types.remove(e.getKey());
      }
    }

    @Override
    public void upsert(String table, Map<String, Object> row) {
      Table t = declared(table);
      typed(t, row);
      Map<String, Object> r = new LinkedHashMap<>(row);
      r.put(SYNCED, Instant.now());
      r.put(DELETED, false);
      if (t.extractMode() == ExtractMode.INCREMENTAL_APPENDS) {
        r.put(ID, ++appended);
        table(table).put(List.of(appended), r);
      } else {
        List<Object> key = key(t, row, "upsert");
        table(table).put(key, r);
        sent.computeIfAbsent(table, k -> new HashSet<>()).add(key);
      }
      count(table)[0]++;
    }

    @Override
    public void update(String table, Map<String, Object> row) {
      Table t = declared(table);
      if (t.extractMode() == ExtractMode.INCREMENTAL_APPENDS)
        throw new ConnectorException(
            "update on table '" + table + "': an INCREMENTAL_APPENDS table has no keys to update");
      List<Object> key = key(t, row, "update");
      Map<String, Object> existing = table(table).get(key);
      count(table)[1]++;
      if (existing == null) return;
      typed(t, row);
      existing.putAll(row);
      existing.put(SYNCED, Instant.now());
      sent.computeIfAbsent(table, k -> new HashSet<>()).add(key);
    }

    @Override
    public void delete(String table, Map<String, Object> keys) {
      Table t = declared(table);
      if (t.extractMode() == ExtractMode.INCREMENTAL_APPENDS)
        throw new ConnectorException(
            "delete on table '" + table + "': an INCREMENTAL_APPENDS table has no keys to delete");
      Map<String, Object> existing = table(table).get(key(t, keys, "delete"));
      count(table)[2]++;
      if (existing == null) return;
      existing.put(DELETED, true);
      existing.put(SYNCED, Instant.now());
    }

    @Override
    public void truncate(String table) {
      declared(table);
      softDeleteAll(table, Instant.now());
      count(table)[3]++;
    }

    @Override
    public void checkpoint(Map<String, Object> next) {
      try {
        JSON.writeValueAsBytes(next);
      } catch (JsonProcessingException e) {
        throw new ConnectorException(
            "checkpoint: the state is not JSON-serialisable: " + e.getMessage());
      }
      state = Collections.unmodifiableMap(deepCopy(next));
      checkpoints++;
    }
  }
}
