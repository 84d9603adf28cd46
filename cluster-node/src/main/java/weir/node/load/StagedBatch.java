package weir.node.load;

import java.util.List;
import weir.loaders.staging.StagedFile;
import weir.persistence.CborSerializable;

/**
 * A flushed batch whose files are complete in staging: what a buffer hands to its destination's load
 * coordinator. Persisted by both (buffer: {@code BatchStaged}, coordinator: {@code BatchRecorded}).
 *
 * @param batchId unique, deterministic per buffer slot ({@code <connection>-<slot>-<seq>})
 * @param connectionId the connection
 * @param destinationId where it is loaded
 * @param files the complete staged files (one per table and hour)
 * @param rows number of rows in all files
 * @param stagedAtMillis when the files were completed
 */
public record StagedBatch(String batchId, String connectionId, String destinationId, List<StagedFile> files,
    long rows, long stagedAtMillis) implements CborSerializable {
  public StagedBatch {
    files = List.copyOf(files);
  }
}
