package weir.node.ingest;

import java.util.List;
import java.util.concurrent.CompletionStage;
import weir.loaders.staging.StagedFile;
import weir.persistence.registry.Connection;
import weir.protocol.StagedRow;

/**
 * Writes a buffer's flushed rows into the staging store of the connection's destination. Completes only
 * when every file is complete (durable, under its final name); fails otherwise, having left no file
 * under a final name that a loader would read for this batch id.
 */
@FunctionalInterface
public interface BatchStager {
  CompletionStage<List<StagedFile>> stage(Connection connection, String batchId, List<StagedRow> rows);
}
