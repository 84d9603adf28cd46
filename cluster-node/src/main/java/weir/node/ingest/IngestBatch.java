package weir.node.ingest;

import java.time.Instant;
import java.util.List;
import weir.protocol.Rejection;
import weir.protocol.StagedRow;

/**
 * What one request brings to one connection once parsed: one row per accepted event (its primary
 * row; staging derives the others, see {@code EventTables.expand}) and the elements rejected with
 * their reasons.
 *
 * @param rows one per accepted event, in request order
 * @param rejections rejected elements; each is kept as a dead letter
 * @param receivedAt when the node received the request
 */
public record IngestBatch(List<StagedRow> rows, List<Rejection> rejections, Instant receivedAt) {
  public IngestBatch {
    rows = List.copyOf(rows);
    rejections = List.copyOf(rejections);
  }

  /** Nothing to keep: no event and no rejection. */
  public boolean isEmpty() {
    return rows.isEmpty() && rejections.isEmpty();
  }
}
