package weir.node.metrics;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The last hour of one connection's figures on this node, per minute, read from {@link NodeMetrics}
 * (the only place that counts them): events accepted, events rejected as dead letters, events
 * loaded, the destination's load lag, and the node's retries. The console's charts show it ({@code
 * GET /v1/admin/connections/{id}/activity}).
 *
 * <p>{@link #sample()} is called every few seconds by a timer and before every read; it keeps, per
 * series, the counter's value at the end of each of the last {@link #MINUTES} + 1 minutes (a
 * per-minute figure is the difference of two). Nothing is kept on the ingest path. Series are
 * dropped when their connection leaves the registry. Node-local: another member's figures are on
 * that member.
 */
public final class ConnectionActivity {
  public static final int MINUTES = 60;
  private static final int SLOTS = MINUTES + 1;

  /** One minute of a connection's figures. */
  public record Minute(
      long startMillis,
      long accepted,
      long rejected,
      long loaded,
      long loadLagSeconds,
      long retries) {}

  /** A counter's value at the end of each recent minute (the last sampled value in it). */
  private static final class Series {
    private final long[] minute = new long[SLOTS];
    private final long[] value = new long[SLOTS];
    private final boolean max;

    Series(boolean max) {
      this.max = max;
      java.util.Arrays.fill(minute, -1);
    }

    synchronized void record(long nowMinute, long v) {
      int slot = (int) (nowMinute % SLOTS);
      if (minute[slot] != nowMinute) {
        minute[slot] = nowMinute;
        value[slot] = v;
      } else {
        value[slot] = max ? Math.max(value[slot], v) : v;
      }
    }

    /** The value at the end of minute {@code m}; {@code carry} when that minute was not sampled. */
    synchronized long at(long m, long carry) {
      int slot = (int) (m % SLOTS);
      return minute[slot] == m ? value[slot] : carry;
    }
  }

  private record Figures(Series accepted, Series rejected, Series loaded, Series lag) {
    Figures() {
      this(new Series(false), new Series(false), new Series(false), new Series(true));
    }
  }

  private final NodeMetrics metrics;
  private final Supplier<Map<String, String>> registry;
  private final Map<String, Figures> connections = new ConcurrentHashMap<>();
  private final Series retries = new Series(false);

  /**
   * @param registry the active connections → their destination id (what is sampled)
   */
  public ConnectionActivity(NodeMetrics metrics, Supplier<Map<String, String>> registry) {
    this.metrics = metrics;
    this.registry = registry;
  }

  /** Records the current values of every active connection (the timer's task). */
  public void sample() {
    try {
      sample(registry.get(), System.currentTimeMillis());
    } catch (RuntimeException e) {
      // A repeated task that throws is not repeated again: the charts would freeze. Next tick.
      org.slf4j.LoggerFactory.getLogger(ConnectionActivity.class)
          .warn("Sampling connection activity failed: {}", e.toString());
    }
  }

  /**
   * Records the current values for {@code connections} (connection id → destination id); forgets
   * connections no longer listed.
   */
  synchronized void sample(Map<String, String> connectionDestinations, long nowMillis) {
    long m = nowMillis / 60_000;
    connections.keySet().retainAll(connectionDestinations.keySet());
    connectionDestinations.forEach(
        (id, destination) -> {
          Figures f = connections.computeIfAbsent(id, k -> new Figures());
          f.accepted().record(m, metrics.counter("weir_ingest_events_total", "connection", id));
          f.rejected().record(m, metrics.counter("weir_rejected_events_total", "connection", id));
          f.loaded().record(m, metrics.counter("weir_loaded_events_total", "connection", id));
          f.lag().record(m, metrics.gauge("weir_load_lag_seconds", "destination", destination));
        });
    retries.record(m, metrics.counterSum("weir_retries_total"));
  }

  /** The last {@link #MINUTES} minutes of {@code connectionId}, oldest first, this one last. */
  public List<Minute> lastHour(String connectionId, long nowMillis) {
    // The current minute as it stands now, not as of the last timer tick.
    sample(registry.get(), nowMillis);
    long now = nowMillis / 60_000;
    Figures f = connections.get(connectionId);
    List<Minute> out = new ArrayList<>(MINUTES);
    long a = 0, r = 0, l = 0, t = 0;
    // Counters start at 0 with the node: a minute never sampled had the value of the one before.
    long first = now - MINUTES;
    if (f != null) {
      a = f.accepted().at(first, 0);
      r = f.rejected().at(first, 0);
      l = f.loaded().at(first, 0);
    }
    t = retries.at(first, 0);
    for (long m = first + 1; m <= now; m++) {
      long a2 = f == null ? 0 : f.accepted().at(m, a);
      long r2 = f == null ? 0 : f.rejected().at(m, r);
      long l2 = f == null ? 0 : f.loaded().at(m, l);
      long t2 = retries.at(m, t);
      long lag = f == null ? 0 : f.lag().at(m, 0);
      out.add(new Minute(m * 60_000, a2 - a, r2 - r, l2 - l, lag, t2 - t));
      a = a2;
      r = r2;
      l = l2;
      t = t2;
    }
    return out;
  }
}
