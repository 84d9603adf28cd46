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
 * @param maxHeapShare share of the maximum heap the buffers of a node may hold together ({@link
 *     BufferMemory}); beyond it requests are refused with 503 (overload)
 * @param maxBatchBytes most bytes of rows one flush stages (a backlog goes in several batches)
 */
public record BufferSettings(
    Duration tickInterval,
    int maxBufferedEvents,
    Backoff retry,
    Duration handoffTimeout,
    double maxHeapShare,
    long maxBatchBytes) {

  public BufferSettings {
    if (!(maxHeapShare > 0 && maxHeapShare < 1))
      throw new IllegalArgumentException(
          "weir.buffer.max-heap-share must be between 0 and 1, not " + maxHeapShare);
    if (maxBatchBytes <= 0)
      throw new IllegalArgumentException("weir.buffer.max-batch-bytes must be positive");
  }

  public static BufferSettings fromConfig(Config weir) {
    Config c = weir.getConfig("buffer");
    return new BufferSettings(
        c.getDuration("tick-interval"),
        c.getInt("max-buffered-events"),
        Backoff.fromConfig(c.getConfig("flush-backoff")),
        c.getDuration("handoff-timeout"),
        c.getDouble("max-heap-share"),
        c.getBytes("max-batch-bytes"));
  }
}
