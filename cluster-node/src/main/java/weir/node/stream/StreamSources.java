package weir.node.stream;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import weir.persistence.registry.Connection;

/**
 * The node's stream sources, Kafka and Kinesis, as the management API sees them: the status of a
 * stream connection's source (partitions or shards, positions, lag, last error) by its kind.
 */
public record StreamSources(KafkaSources kafka, KinesisSources kinesis) {

  /** The source status of {@code c}, or null for a connection that is not a stream source. */
  public CompletionStage<ObjectNode> status(Connection c) {
    return switch (c.kind()) {
      case kafka -> kafka == null ? CompletableFuture.completedFuture(null) : kafka.status(c);
      case kinesis -> kinesis == null ? CompletableFuture.completedFuture(null) : kinesis.status(c);
      default -> CompletableFuture.completedFuture(null);
    };
  }
}
