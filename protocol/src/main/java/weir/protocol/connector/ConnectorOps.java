package weir.protocol.connector;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import weir.protocol.ColumnType;
import weir.protocol.Json;
import weir.protocol.StagedRow;
import weir.sdk.ConnectorException;
import weir.sdk.ExtractMode;
import weir.sdk.Operations;
import weir.sdk.Table;
import weir.sdk.Values;

/**
 * The {@link Operations} a connector's {@code update()} calls, wherever it runs: each operation
 * becomes one staged row of the connector table ({@link ConnectorTables}), with column policies
 * applied (blocked columns dropped, hashed ones salted SHA-256) and column types tracked (declared,
 * else inferred from the values and widened, {@link Values}); rows go to the {@link Sink} in
 * groups, in operation order. A checkpoint writes what is pending and returns once the sink made it
 * durable and kept the state.
 *
 * <p>Each row's {@link ConnectorTables#SYNCED} is strictly later than every earlier row's (and than
 * {@code floor}), so the merge applies operations in their order. The surrogate id of an {@code
 * INCREMENTAL_APPENDS} row is {@code a<epoch>.<n>}: the {@code n}-th row of its table since
 * checkpoint {@code epoch}; a sync resumed from that checkpoint that emits the same rows gives them
 * the same ids, so they are not appended twice.
 *
 * <p>Not thread-safe: one per sync, called from the connector's thread.
 */
public final class ConnectorOps implements Operations {

  /** Where a sync's rows go. */
  public interface Sink {
    /**
     * Takes rows in operation order; may block while the destination is full (backpressure).
     *
     * @param columns the tables whose known columns changed since the last call, each with all its
     *     columns (warehouse name → type); the sink must make them known to the loader before the
     *     rows can be loaded
     */
    void write(List<StagedRow> rows, Map<String, Map<String, ColumnType>> columns) throws Exception;

    /**
     * Returns once every row written before is durable, and {@code state} is kept as the state to
     * resume from, with {@code epoch} the checkpoint's number and {@code synced} its time.
     */
    void checkpoint(Map<String, Object> state, long epoch, Instant synced) throws Exception;
  }

  /** Operations on one table in one sync. */
  public record Counts(long upserts, long updates, long deletes, long truncates) {}

  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private final Map<String, Table> schema = new LinkedHashMap<>();
  private final Map<String, ColumnPolicy> policies;
  private final byte[] salt;
  private final Sink sink;
  private final int groupRows;
  private final Map<String, Map<String, weir.sdk.ColumnType>> sdkTypes = new TreeMap<>();
  private final Map<String, Map<String, ColumnType>> known = new TreeMap<>();
  private final Map<String, Map<String, ColumnType>> changed = new TreeMap<>();
  private final Map<String, long[]> counts = new TreeMap<>();
  private final List<StagedRow> pending = new ArrayList<>();
  private final Map<String, Long> appended = new TreeMap<>();
  private long epoch;
  private long n;
  private long lastMicros;
  private int checkpoints;

  /**
   * @param tables the connector's {@code schema()}
   * @param policies column policies by {@code <table>.<column>} (warehouse names)
   * @param salt the connection's hashing salt
   * @param knownColumns the columns earlier syncs made known, per table (warehouse types)
   * @param epoch the number of the checkpoint this sync starts from
   * @param floor no row is synced at or before this time (the last row of earlier syncs)
   * @param groupRows rows per {@link Sink#write}
   */
  public ConnectorOps(
      List<Table> tables,
      Map<String, ColumnPolicy> policies,
      byte[] salt,
      Map<String, Map<String, ColumnType>> knownColumns,
      long epoch,
      Instant floor,
      Sink sink,
      int groupRows) {
    this.policies = Map.copyOf(policies);
    for (Table t : tables) {
      String name = ConnectorTables.name(t.name());
      if (schema.put(name, t) != null)
        throw new ConnectorException("schema() declares table '" + name + "' twice");
      for (String k : t.primaryKey()) {
        if (policy(name, k).blocked())
          throw new ConnectorException(
              "column '"
                  + name
                  + "."
                  + ConnectorTables.name(k)
                  + "' is a primary key: it cannot be blocked");
      }
    }
    this.salt = salt.clone();
    knownColumns.forEach((t, c) -> known.put(t, new LinkedHashMap<>(c)));
    this.epoch = epoch;
    this.lastMicros = micros(floor);
    this.sink = sink;
    this.groupRows = groupRows;
    for (Map.Entry<String, Table> e : schema.entrySet()) {
      Map<String, weir.sdk.ColumnType> types = sdkTypes(e.getKey());
      e.getValue().columns().forEach((c, type) -> types.put(ConnectorTables.name(c), type));
      // Declared columns are known from the start, so a table's first load has them all.
      types.forEach((c, type) -> learn(e.getKey(), c, ConnectorTables.wireType(type)));
    }
  }

  /** The warehouse names of the schema's tables. */
  public List<String> tables() {
    return List.copyOf(schema.keySet());
  }

  /** The operations of this sync so far, per table. */
  public Map<String, Counts> counts() {
    Map<String, Counts> out = new TreeMap<>();
    counts.forEach((t, c) -> out.put(t, new Counts(c[0], c[1], c[2], c[3])));
    return out;
  }

  /** The checkpoints of this sync so far. */
  public int checkpoints() {
    return checkpoints;
  }

  /** The checkpoint number the next checkpoint gets minus one: where a resumed sync starts. */
  public long epoch() {
    return epoch;
  }

  /** The time of the last row (the floor of the next sync). */
  public Instant lastSynced() {
    return Instant.EPOCH.plus(lastMicros, ChronoUnit.MICROS);
  }

  /** Every column known per table (warehouse types), earlier syncs' included. */
  public Map<String, Map<String, ColumnType>> columns() {
    Map<String, Map<String, ColumnType>> out = new TreeMap<>();
    known.forEach((t, c) -> out.put(t, Map.copyOf(c)));
    return out;
  }

  /**
   * The end of a successful sync: every {@code SNAPSHOT} table soft-deletes the rows not sent since
   * {@code syncStart} (the start of the sync, the first attempt's when it was resumed); then what
   * is pending is written. Call {@link #checkpoint} after to make it durable with the final state.
   */
  public void finish(Instant syncStart) throws Exception {
    for (Map.Entry<String, Table> e : schema.entrySet()) {
      if (e.getValue().extractMode() != ExtractMode.SNAPSHOT) continue;
      ObjectNode marker = NODES.objectNode();
      marker.put(ConnectorTables.ID, "truncate");
      marker.put(ConnectorTables.OP, "truncate");
      // The marker is at the sync's start: rows sent since are later, so they stay.
      marker.put(ConnectorTables.SYNCED, syncStart.toString());
      pending.add(new StagedRow(e.getKey(), opId(), syncStart.toEpochMilli(), Json.write(marker)));
    }
    flush();
  }

  @Override
  public void upsert(String table, Map<String, Object> row) {
    Table t = declared(table);
    String name = ConnectorTables.name(t.name());
    ObjectNode out = columns(name, t, row, "upsert");
    if (t.extractMode() == ExtractMode.INCREMENTAL_APPENDS) {
      // Counted per table: a resumed sync that emits this table's rows again gives them the same
      // ids, whatever it emits elsewhere.
      long index = appended.merge(name, 1L, Long::sum) - 1;
      out.put(ConnectorTables.ID, "a" + epoch + "." + index);
    } else {
      out.put(ConnectorTables.ID, key(name, t, out, "upsert"));
    }
    out.put(ConnectorTables.DELETED, false);
    emit(name, out, "upsert");
    count(name)[0]++;
  }

  @Override
  public void update(String table, Map<String, Object> row) {
    Table t = keyed(table, "update");
    String name = ConnectorTables.name(t.name());
    ObjectNode out = columns(name, t, row, "update");
    out.put(ConnectorTables.ID, key(name, t, out, "update"));
    emit(name, out, "update");
    count(name)[1]++;
  }

  @Override
  public void delete(String table, Map<String, Object> keys) {
    Table t = keyed(table, "delete");
    String name = ConnectorTables.name(t.name());
    ObjectNode out = columns(name, t, keys, "delete");
    ObjectNode row = NODES.objectNode();
    row.put(ConnectorTables.ID, key(name, t, out, "delete"));
    row.put(ConnectorTables.DELETED, true);
    emit(name, row, "delete");
    count(name)[2]++;
  }

  @Override
  public void truncate(String table) {
    Table t = declared(table);
    String name = ConnectorTables.name(t.name());
    ObjectNode marker = NODES.objectNode();
    marker.put(ConnectorTables.ID, "truncate");
    emit(name, marker, "truncate");
    count(name)[3]++;
  }

  @Override
  public void checkpoint(Map<String, Object> state) {
    byte[] json;
    try {
      json = Json.MAPPER.writeValueAsBytes(state);
    } catch (JsonProcessingException e) {
      throw new ConnectorException(
          "checkpoint: the state is not JSON-serialisable: " + e.getOriginalMessage());
    }
    try {
      flush();
      Map<String, Object> copy =
          Json.MAPPER.readValue(
              json, new com.fasterxml.jackson.core.type.TypeReference<Map<String, Object>>() {});
      sink.checkpoint(copy, epoch + 1, lastSynced());
    } catch (RuntimeException e) {
      throw e;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.util.concurrent.CancellationException("the sync was cancelled");
    } catch (Exception e) {
      throw new IllegalStateException(e.getMessage(), e);
    }
    epoch++;
    n = 0;
    appended.clear();
    checkpoints++;
  }

  /** Writes the pending rows to the sink. */
  public void flush() throws Exception {
    if (pending.isEmpty() && changed.isEmpty()) return;
    List<StagedRow> rows = List.copyOf(pending);
    Map<String, Map<String, ColumnType>> columns = new TreeMap<>();
    changed.forEach((t, c) -> columns.put(t, Map.copyOf(known.get(t))));
    pending.clear();
    changed.clear();
    sink.write(rows, columns);
  }

  private void emit(String table, ObjectNode row, String op) {
    row.put(ConnectorTables.OP, op);
    long micros = Math.max(lastMicros + 1, micros(Instant.now()));
    lastMicros = micros;
    row.put(ConnectorTables.SYNCED, Instant.EPOCH.plus(micros, ChronoUnit.MICROS).toString());
    pending.add(new StagedRow(table, opId(), micros / 1000, Json.write(row)));
    if (pending.size() >= groupRows) {
      try {
        flush();
      } catch (RuntimeException e) {
        throw e;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new java.util.concurrent.CancellationException("the sync was cancelled");
      } catch (Exception e) {
        throw new IllegalStateException(e.getMessage(), e);
      }
    }
  }

  private String opId() {
    return "c" + epoch + "." + (n++);
  }

  private Table declared(String table) {
    Table t = table == null ? null : schema.get(ConnectorTables.name(table));
    if (t == null)
      throw new ConnectorException(
          "table '" + table + "' is not in schema(); declared: " + schema.keySet());
    return t;
  }

  private Table keyed(String table, String op) {
    Table t = declared(table);
    if (t.extractMode() == ExtractMode.INCREMENTAL_APPENDS)
      throw new ConnectorException(
          op + " on table '" + table + "': an INCREMENTAL_APPENDS table has no keys");
    return t;
  }

  private long[] count(String table) {
    return counts.computeIfAbsent(table, k -> new long[4]);
  }

  private ColumnPolicy policy(String table, String column) {
    return policies.getOrDefault(table + "." + ConnectorTables.name(column), ColumnPolicy.DEFAULT);
  }

  private Map<String, weir.sdk.ColumnType> sdkTypes(String table) {
    return sdkTypes.computeIfAbsent(table, k -> new LinkedHashMap<>());
  }

  /** The row's columns, policies applied, types learnt. */
  private ObjectNode columns(String table, Table t, Map<String, Object> row, String op) {
    if (row == null) throw new ConnectorException(op + " on table '" + table + "' needs a row");
    ObjectNode out = NODES.objectNode();
    Map<String, weir.sdk.ColumnType> types = sdkTypes(table);
    for (Map.Entry<String, Object> e : row.entrySet()) {
      String column = ConnectorTables.name(e.getKey());
      if (ConnectorTables.isSystem(column))
        throw new ConnectorException(
            op + " on table '" + table + "': column '" + column + "' is Weir's own");
      ColumnPolicy policy = policy(table, column);
      if (policy.blocked()) continue;
      Object value = e.getValue();
      weir.sdk.ColumnType type;
      try {
        type = Values.typeOf(value);
      } catch (IllegalArgumentException bad) {
        throw new ConnectorException(
            op + " on table '" + table + "', column '" + column + "': " + bad.getMessage());
      }
      if (policy.hashed()) {
        out.put(column, value == null ? null : hash(encode(value)));
        type = value == null ? null : weir.sdk.ColumnType.STRING;
        if (type != null) types.put(column, type);
      } else {
        out.set(column, encode(value));
        if (!t.columns().containsKey(e.getKey()) && type != null)
          types.put(column, Values.widen(types.get(column), type));
      }
      weir.sdk.ColumnType now = types.get(column);
      if (now != null) learn(table, column, ConnectorTables.wireType(now));
    }
    return out;
  }

  /** Makes {@code column} known as {@code type}, widened against what earlier syncs knew. */
  private void learn(String table, String column, ColumnType type) {
    Map<String, ColumnType> cols = known.computeIfAbsent(table, k -> new LinkedHashMap<>());
    ColumnType before = cols.get(column);
    ColumnType after = before == null ? type : widenWire(before, type);
    if (after != before) {
      cols.put(column, after);
      changed.put(table, cols);
    }
  }

  private static ColumnType widenWire(ColumnType before, ColumnType type) {
    if (before == type || before == ColumnType.STRING) return before;
    if (before == ColumnType.DOUBLE && type == ColumnType.LONG) return before;
    if (before == ColumnType.LONG && type == ColumnType.DOUBLE) return ColumnType.DOUBLE;
    return ColumnType.STRING;
  }

  /** The row's key: its primary key values (policies applied) as a JSON array. */
  private String key(String table, Table t, ObjectNode row, String op) {
    ArrayNode key = NODES.arrayNode();
    for (String k : t.primaryKey()) {
      JsonNode v = row.get(ConnectorTables.name(k));
      if (v == null || v.isNull())
        throw new ConnectorException(
            op + " on table '" + table + "' needs its primary key column '" + k + "'");
      key.add(v);
    }
    return Json.write(key);
  }

  /** A value as JSON: times as ISO instants (UTC), binary as base64, maps and lists as JSON. */
  static JsonNode encode(Object value) {
    if (value == null) return NODES.nullNode();
    if (value instanceof Boolean b) return NODES.booleanNode(b);
    if (value instanceof Short s) return NODES.numberNode(s);
    if (value instanceof Integer i) return NODES.numberNode(i);
    if (value instanceof Long l) return NODES.numberNode(l);
    if (value instanceof BigDecimal d) return NODES.numberNode(d);
    if (value instanceof Float f) return NODES.numberNode(f);
    if (value instanceof Double d) return NODES.numberNode(d);
    if (value instanceof LocalDate d)
      return NODES.textNode(d.atStartOfDay().toInstant(ZoneOffset.UTC).toString());
    if (value instanceof LocalDateTime d)
      return NODES.textNode(d.toInstant(ZoneOffset.UTC).toString());
    if (value instanceof Instant i) return NODES.textNode(i.toString());
    if (value instanceof OffsetDateTime o) return NODES.textNode(o.toInstant().toString());
    if (value instanceof byte[] b) return NODES.textNode(Base64.getEncoder().encodeToString(b));
    if (value instanceof CharSequence c) return NODES.textNode(c.toString());
    return Json.MAPPER.valueToTree(value);
  }

  private String hash(JsonNode value) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      sha.update(salt);
      sha.update(
          (value.isTextual() ? value.asText() : Json.write(value))
              .getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(sha.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static long micros(Instant t) {
    return ChronoUnit.MICROS.between(Instant.EPOCH, t);
  }
}
