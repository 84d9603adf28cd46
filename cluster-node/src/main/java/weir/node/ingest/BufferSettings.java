package weir.node.ingest;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * Settings of the connection buffers, from {@code weir.buffer}.
 *
 * @param tickInterval how often a buffer checks its flush and hand-off conditions
 * @param maxBufferedEvents per slot; beyond it requests are refused with 503 (overload)
 * @param flushBackoffMin first retry delay of a failed flush or hand-off
 * @param flushBackoffMax longest retry delay
 * @param handoffTimeout how long a hand-off to the load coordinator may take
 * @param snapshotEvery journal events between snapshots (older events are deleted)
 */
public record BufferSettings(Duration tickInterval, int maxBufferedEvents, Duration flushBackoffMin,
    Duration flushBackoffMax, Duration handoffTimeout, int snapshotEvery) {

  public static BufferSettings fromConfig(Config weir) {
    Config c = weir.getConfig("buffer");
    return new BufferSettings(c.getDuration("tick-interval"), c.getInt("max-buffered-events"),
        c.getDuration("flush-backoff.min"), c.getDuration("flush-backoff.max"), c.getDuration("handoff-timeout"),
        c.getInt("snapshot-every"));
  }

  /** Exponential backoff with full jitter for the {@code attempt}-th consecutive failure (1-based). */
  public Duration backoff(int attempt) {
    long base = flushBackoffMin.toMillis() << Math.min(attempt - 1, 20);
    long capped = Math.min(base, flushBackoffMax.toMillis());
    long jittered = capped / 2 + (long) (Math.random() * (capped / 2.0));
    return Duration.ofMillis(Math.max(jittered, flushBackoffMin.toMillis()));
  }
}
