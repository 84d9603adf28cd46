package weir.node.ingest;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * Settings of the ingestion endpoints, from {@code weir.ingest}.
 *
 * @param maxBodyBytes largest accepted webhook body (413 beyond)
 * @param bodyReadTimeout how long reading a body may take
 * @param askTimeout how long a request waits for its journal write before answering 503
 * @param retryAfter the {@code Retry-After} of 503 answers
 * @param defaultSlots buffer slots of a new connection
 * @param maxJournalBytesPerRequest the most one request's parsed rows may take in the journal (413
 *     beyond)
 * @param maxGroupBytes rows sent to a buffer slot in one group at most (a larger request goes
 *     alone)
 * @param maxQueuedBytesPerSlot rows waiting for one slot's next journal write at most (503 beyond)
 * @param headerTimeout how long a connection may take to send a request's headers (closed beyond)
 * @param maxConnections open connections per port at most
 */
public record IngestSettings(
    long maxBodyBytes,
    Duration bodyReadTimeout,
    Duration askTimeout,
    Duration retryAfter,
    int defaultSlots,
    long maxJournalBytesPerRequest,
    long maxGroupBytes,
    long maxQueuedBytesPerSlot,
    Duration headerTimeout,
    int maxConnections) {

  /** The defaults of the journal limits with the given body and timing settings (tests). */
  public IngestSettings(
      long maxBodyBytes,
      Duration bodyReadTimeout,
      Duration askTimeout,
      Duration retryAfter,
      int defaultSlots) {
    this(
        maxBodyBytes,
        bodyReadTimeout,
        askTimeout,
        retryAfter,
        defaultSlots,
        12L << 20,
        8L << 20,
        64L << 20,
        Duration.ofSeconds(10),
        16384);
  }

  public static IngestSettings fromConfig(Config weir) {
    Config c = weir.getConfig("ingest");
    return new IngestSettings(
        c.getBytes("max-body-size"),
        c.getDuration("body-read-timeout"),
        c.getDuration("ask-timeout"),
        c.getDuration("retry-after"),
        c.hasPath("default-partitions")
            ? c.getInt("default-partitions")
            : c.getInt("default-slots"),
        c.getBytes("max-journal-bytes-per-request"),
        c.getBytes("max-group-bytes"),
        c.getBytes("max-queued-bytes-per-slot"),
        c.getDuration("header-timeout"),
        c.getInt("max-connections"));
  }
}
