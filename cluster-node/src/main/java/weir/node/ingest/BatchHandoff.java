package weir.node.ingest;

import akka.Done;
import java.util.concurrent.CompletionStage;
import weir.node.load.StagedBatch;

/**
 * Hands a staged batch to its destination's load coordinator. Completes once the coordinator has
 * persisted it; recording the same batch twice is harmless (at-least-once delivery).
 */
@FunctionalInterface
public interface BatchHandoff {
  CompletionStage<Done> record(StagedBatch batch);
}
