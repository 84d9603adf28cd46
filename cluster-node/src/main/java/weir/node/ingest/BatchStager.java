package weir.node.ingest;

import java.util.List;
import java.util.concurrent.CompletionStage;
import weir.node.load.StagedBatch;
import weir.persistence.registry.Connection;

/**
 * Writes a buffer's flushed chunks into the staging store of the connection's destination: decodes
 * their rows, derives the rows staging adds (per-event tables, {@code users}) for chunks that are
 * not expanded yet, and writes one file per table and hour. Completes only when every file is
 * complete (durable, under its final name); fails otherwise, having left no file under a final name
 * that a loader would read for this batch id. Runs off the actor (blocking work on the blocking
 * dispatcher).
 */
@FunctionalInterface
public interface BatchStager {
  CompletionStage<StagedBatch.Written> stage(
      Connection connection, String batchId, List<ConnectionBuffer.Chunk> chunks);
}
