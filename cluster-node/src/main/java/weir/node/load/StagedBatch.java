package weir.node.load;

import java.util.List;
import weir.loaders.staging.StagedFile;
import weir.persistence.CborSerializable;

/**
 * A flushed batch whose files are complete in staging: what a buffer hands to its destination's
 * load coordinator. Persisted by both (buffer: {@code BatchStaged}, coordinator: {@code
 * BatchRecorded}), so its shape is a journal contract: fields may be added (absent in old
 * payloads), never renamed or removed.
 *
 * @param batchId unique, deterministic per buffer slot ({@code <connection>-<slot>-<seq>})
 * @param connectionId the connection
 * @param destinationId where it is loaded
 * @param files the complete staged files (one per table and hour, or more when split)
 * @param rows number of rows in all files (table rows: a Segment track is two)
 * @param stagedAtMillis when the files were completed
 * @param events accepted events in the batch; null in batches persisted before events were counted
 */
public record StagedBatch(
    String batchId,
    String connectionId,
    String destinationId,
    List<File> files,
    long rows,
    long stagedAtMillis,
    Long events)
    implements CborSerializable {
  public StagedBatch {
    files = List.copyOf(files);
  }

  /**
   * One complete staged file, as the node persists it (the fields of the loaders' {@link
   * StagedFile}).
   */
  public record File(
      String table,
      String key,
      long rows,
      long minTimestampMillis,
      long maxTimestampMillis,
      long bytes)
      implements CborSerializable {
    public static File of(StagedFile f) {
      return new File(
          f.table(), f.key(), f.rows(), f.minTimestampMillis(), f.maxTimestampMillis(), f.bytes());
    }

    public StagedFile toStagedFile() {
      return new StagedFile(table, key, rows, minTimestampMillis, maxTimestampMillis, bytes);
    }
  }

  /** What one flush wrote: the files, their rows, and the events they hold. */
  public record Written(List<File> files, long rows, int events) {
    public Written {
      files = List.copyOf(files);
    }
  }

  public static StagedBatch of(
      String batchId,
      String connectionId,
      String destinationId,
      Written written,
      long stagedAtMillis) {
    return new StagedBatch(
        batchId,
        connectionId,
        destinationId,
        written.files(),
        written.rows(),
        stagedAtMillis,
        (long) written.events());
  }

  /** Events in the batch (for batches persisted before events were counted: their rows). */
  public long stagedEvents() {
    return events == null ? rows : events;
  }

  public StagedBatch withDestination(String destination) {
    return new StagedBatch(batchId, connectionId, destination, files, rows, stagedAtMillis, events);
  }

  /** The files as the loaders take them. */
  public List<StagedFile> stagedFiles() {
    return files.stream().map(File::toStagedFile).toList();
  }
}
