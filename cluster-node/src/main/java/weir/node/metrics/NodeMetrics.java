package weir.node.metrics;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * This node's metrics, rendered in the Prometheus text format (version 0.0.4) by {@link #render()}.
 * Counters and histograms are updated by buffers, coordinators and routes as things happen; gauges
 * are read from suppliers at scrape time. Labels are connection or destination ids (bounded by the
 * registry), never event data.
 */
public final class NodeMetrics {
  private static final double[] LATENCY_BUCKETS = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60
  };

  private record Key(String name, String labels) implements Comparable<Key> {
    @Override
    public int compareTo(Key o) {
      int c = name.compareTo(o.name);
      return c != 0 ? c : labels.compareTo(o.labels);
    }
  }

  private record Meta(String type, String help) {}

  private final Map<String, Meta> meta = new ConcurrentHashMap<>();
  private final Map<Key, LongAdder> counters = new ConcurrentHashMap<>();
  private final Map<Key, Histogram> histograms = new ConcurrentHashMap<>();
  private final Map<Key, AtomicLong> gauges = new ConcurrentHashMap<>();
  private final Map<String, Supplier<Map<String, Double>>> gaugeSuppliers =
      new ConcurrentHashMap<>();
  private final Map<String, Map<Map<String, String>, Double>> labelledGauges =
      new ConcurrentHashMap<>();

  public NodeMetrics() {
    describe(
        "weir_ingest_requests_total",
        "counter",
        "Ingestion requests answered, by collector and HTTP status.");
    describe(
        "weir_ingest_events_total",
        "counter",
        "Events accepted into the durable journal, by connection.");
    describe(
        "weir_rejected_events_total", "counter", "Events rejected as dead letters, by connection.");
    describe(
        "weir_journal_write_seconds",
        "histogram",
        "Time from a request's parse to its journal write confirmed.");
    describe(
        "weir_buffered_events", "gauge", "Events in buffers waiting for a flush, by buffer slot.");
    describe(
        "weir_flush_seconds", "histogram", "Time to write one batch to staging, by connection.");
    describe(
        "weir_flushed_events_total", "counter", "Events written to staged files, by connection.");
    describe("weir_load_seconds", "histogram", "Time of one warehouse load, by destination.");
    describe(
        "weir_loaded_rows_total", "counter", "New rows loaded into the warehouse, by connection.");
    describe(
        "weir_loaded_events_total",
        "counter",
        "Events in the batches loaded into the warehouse, by connection.");
    describe(
        "weir_rejected_rows_total",
        "counter",
        "Rows the warehouse could not store, loaded as dead letters, by " + "connection.");
    describe(
        "weir_load_lag_seconds",
        "gauge",
        "Age of the oldest staged batch not loaded yet, by destination.");
    describe(
        "weir_pending_batches", "gauge", "Staged batches waiting to be loaded, by destination.");
    describe("weir_retries_total", "counter", "Retried failures, by stage (flush, handoff, load).");
    describe("weir_cluster_members", "gauge", "Cluster members by status, as this node sees them.");
    describe("weir_shards", "gauge", "Shards this node hosts, by entity type.");
    describe(
        "weir_cluster_shards",
        "gauge",
        "Shards per member and entity type, as the cluster reports them.");
    describe("weir_entities", "gauge", "Entities this node hosts, by entity type.");
    describe("weir_cluster_unreachable_members", "gauge", "Members this node cannot reach.");
    describe(
        "weir_unroutable_events_total",
        "counter",
        "Snowplow events whose app id matches no connection.");
  }

  private void describe(String name, String type, String help) {
    meta.put(name, new Meta(type, help));
  }

  private static String labels(String... pairs) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i + 1 < pairs.length; i += 2) {
      if (sb.length() > 0) sb.append(',');
      sb.append(pairs[i])
          .append("=\"")
          .append(pairs[i + 1].replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n"))
          .append('"');
    }
    return sb.toString();
  }

  public void increment(String name, long by, String... labelPairs) {
    counters.computeIfAbsent(new Key(name, labels(labelPairs)), k -> new LongAdder()).add(by);
  }

  public void observe(String name, double seconds, String... labelPairs) {
    histograms
        .computeIfAbsent(new Key(name, labels(labelPairs)), k -> new Histogram())
        .observe(seconds);
  }

  public void set(String name, long value, String... labelPairs) {
    gauges.computeIfAbsent(new Key(name, labels(labelPairs)), k -> new AtomicLong()).set(value);
  }

  /** The value of one counter series (0 when it never counted). */
  public long counter(String name, String... labelPairs) {
    LongAdder a = counters.get(new Key(name, labels(labelPairs)));
    return a == null ? 0 : a.sum();
  }

  /** The sum of every series of one counter family (all label values). */
  public long counterSum(String name) {
    long sum = 0;
    for (Map.Entry<Key, LongAdder> e : counters.entrySet())
      if (e.getKey().name().equals(name)) sum += e.getValue().sum();
    return sum;
  }

  /** The value of one gauge series set with {@link #set} (0 when never set). */
  public long gauge(String name, String... labelPairs) {
    AtomicLong g = gauges.get(new Key(name, labels(labelPairs)));
    return g == null ? 0 : g.get();
  }

  /** A gauge family computed at scrape time: label value of {@code labelName} → value. */
  public void gauge(String name, String labelName, Supplier<Map<String, Double>> values) {
    gaugeSuppliers.put(name + "\u0000" + labelName, values);
  }

  /** A gauge family replaced whole at each update: label sets (name → value pairs) → value. */
  public void replaceGauges(String name, Map<Map<String, String>, Double> values) {
    Map<Map<String, String>, Double> copy = Map.copyOf(values);
    labelledGauges.put(name, copy);
  }

  /** The Prometheus text exposition of every metric. */
  public String render() {
    Map<String, StringBuilder> families = new TreeMap<>();
    counters.forEach((k, v) -> line(families, k.name(), k.name(), k.labels(), v.sum()));
    gauges.forEach((k, v) -> line(families, k.name(), k.name(), k.labels(), v.get()));
    gaugeSuppliers.forEach(
        (key, supplier) -> {
          String name = key.substring(0, key.indexOf('\u0000'));
          String labelName = key.substring(key.indexOf('\u0000') + 1);
          families.computeIfAbsent(name, n -> new StringBuilder());
          supplier
              .get()
              .forEach(
                  (labelValue, v) -> line(families, name, name, labels(labelName, labelValue), v));
        });
    labelledGauges.forEach(
        (name, values) -> {
          families.computeIfAbsent(name, n -> new StringBuilder());
          values.forEach(
              (labelSet, v) ->
                  line(
                      families,
                      name,
                      name,
                      labels(
                          labelSet.entrySet().stream()
                              .sorted(Map.Entry.comparingByKey())
                              .flatMap(e -> Stream.of(e.getKey(), e.getValue()))
                              .toArray(String[]::new)),
                      v));
        });
    histograms.forEach((k, h) -> h.render(families, k.name(), k.labels()));
    StringBuilder out = new StringBuilder();
    families.forEach(
        (name, body) -> {
          Meta m = meta.getOrDefault(name, new Meta("untyped", name));
          out.append("# HELP ").append(name).append(' ').append(m.help()).append('\n');
          out.append("# TYPE ").append(name).append(' ').append(m.type()).append('\n');
          out.append(body);
        });
    return out.toString();
  }

  private static void line(
      Map<String, StringBuilder> families,
      String family,
      String name,
      String labels,
      double value) {
    StringBuilder sb = families.computeIfAbsent(family, n -> new StringBuilder());
    sb.append(name);
    if (!labels.isEmpty()) sb.append('{').append(labels).append('}');
    sb.append(' ')
        .append(
            value == Math.rint(value) && !Double.isInfinite(value)
                ? String.valueOf((long) value)
                : String.valueOf(value))
        .append('\n');
  }

  private static final class Histogram {
    private final LongAdder[] buckets = new LongAdder[LATENCY_BUCKETS.length];
    private final LongAdder count = new LongAdder();
    private final DoubleAdder sum = new DoubleAdder();

    Histogram() {
      for (int i = 0; i < buckets.length; i++) buckets[i] = new LongAdder();
    }

    void observe(double seconds) {
      for (int i = 0; i < LATENCY_BUCKETS.length; i++) {
        if (seconds <= LATENCY_BUCKETS[i]) buckets[i].increment();
      }
      count.increment();
      sum.add(seconds);
    }

    void render(Map<String, StringBuilder> families, String name, String labels) {
      String sep = labels.isEmpty() ? "" : labels + ",";
      for (int i = 0; i < LATENCY_BUCKETS.length; i++) {
        line(
            families,
            name,
            name + "_bucket",
            sep + "le=\"" + LATENCY_BUCKETS[i] + "\"",
            buckets[i].sum());
      }
      line(families, name, name + "_bucket", sep + "le=\"+Inf\"", count.sum());
      line(families, name, name + "_sum", labels, sum.sum());
      line(families, name, name + "_count", labels, count.sum());
    }
  }
}
