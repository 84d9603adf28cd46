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
 * @param defaultPartitions buffer slots of a new connection
 */
public record IngestSettings(long maxBodyBytes, Duration bodyReadTimeout, Duration askTimeout, Duration retryAfter,
    int defaultPartitions) {

  public static IngestSettings fromConfig(Config weir) {
    Config c = weir.getConfig("ingest");
    return new IngestSettings(c.getBytes("max-body-size"), c.getDuration("body-read-timeout"),
        c.getDuration("ask-timeout"), c.getDuration("retry-after"), c.getInt("default-partitions"));
  }
}
