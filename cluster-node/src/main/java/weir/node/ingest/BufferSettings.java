package weir.node.ingest;

import com.typesafe.config.Config;
import java.time.Duration;
import weir.node.Backoff;

/**
 * Settings of the connection buffers, from {@code weir.buffer}.
 *
 * @param tickInterval how often a buffer checks its flush and hand-off conditions
 * @param maxBufferedEvents per slot; beyond it requests are refused with 503 (overload)
 * @param retry delays of failed flushes and hand-offs
 * @param handoffTimeout how long a hand-off to the load coordinator may take
 */
public record BufferSettings(
    Duration tickInterval, int maxBufferedEvents, Backoff retry, Duration handoffTimeout) {

  public static BufferSettings fromConfig(Config weir) {
    Config c = weir.getConfig("buffer");
    return new BufferSettings(
        c.getDuration("tick-interval"),
        c.getInt("max-buffered-events"),
        Backoff.fromConfig(c.getConfig("flush-backoff")),
        c.getDuration("handoff-timeout"));
  }
}
