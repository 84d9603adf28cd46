package weir.node.ingest;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import weir.persistence.registry.Connection;
import weir.protocol.Rejection;
import weir.protocol.StagedRow;
import weir.sdk.ConnectorException;

/**
 * The writes of a source the node pulls from (a connector sync, a Kafka consumer) into its
 * connection's buffer, through the same gateway as HTTP requests: each returns once the journal
 * holds the rows. While the buffers are full (overloaded) it waits and tries again, with backoff,
 * for as long as it takes: the connector's thread is held, so what a source emits never piles up in
 * memory (backpressure). A group too large for one journal event is split in halves; a journal that
 * stays unavailable fails the write (the source resumes from its last checkpoint or commit).
 */
public final class JournalWrites {
  private static final Logger log = LoggerFactory.getLogger(JournalWrites.class);
  public static final int MAX_UNAVAILABLE = 5;

  private final IngestGateway gateway;
  private final Connection connection;
  private final BooleanSupplier cancelled;

  /** Whether a single row too large for a journal event becomes a dead letter (else fails). */
  private final boolean oversizedAsDeadLetter;

  /**
   * Writes of a connector: a row too large for one journal event fails the write (a connector's
   * operations must all land, in order).
   */
  public JournalWrites(IngestGateway gateway, Connection connection, BooleanSupplier cancelled) {
    this(gateway, connection, cancelled, false);
  }

  private JournalWrites(
      IngestGateway gateway,
      Connection connection,
      BooleanSupplier cancelled,
      boolean oversizedAsDeadLetter) {
    this.gateway = gateway;
    this.connection = connection;
    this.cancelled = cancelled;
    this.oversizedAsDeadLetter = oversizedAsDeadLetter;
  }

  /**
   * Writes of a stream source (Kafka, Kinesis): one record too large for a journal event becomes a
   * dead letter ({@code record_too_large}, its payload cut), so it never stalls its partition or
   * shard (a failed write would read it again, and fail again, for ever).
   */
  public static JournalWrites forStream(
      IngestGateway gateway, Connection connection, BooleanSupplier cancelled) {
    return new JournalWrites(gateway, connection, cancelled, true);
  }

  /** Writes {@code rows}, in order, into the journal. */
  public void write(List<StagedRow> rows) throws Exception {
    write(rows, List.of());
  }

  /** Writes {@code rows}, in order, and {@code rejections} (as dead letters) into the journal. */
  public void write(List<StagedRow> rows, List<Rejection> rejections) throws Exception {
    long backoff = 50;
    int unavailable = 0;
    while (true) {
      if (cancelled.getAsBoolean() || Thread.currentThread().isInterrupted())
        throw new CancellationException("the sync was cancelled");
      IngestGateway.Outcome outcome =
          gateway
              .accept(connection, new IngestBatch(rows, rejections, Instant.now()))
              .toCompletableFuture()
              .get();
      if (outcome instanceof IngestGateway.Accepted) return;
      if (outcome instanceof IngestGateway.TooLarge t) {
        if (rows.size() == 1 && rejections.isEmpty() && oversizedAsDeadLetter) {
          StagedRow row = rows.get(0);
          write(
              List.of(),
              List.of(
                  new Rejection(
                      0,
                      "record_too_large",
                      row.eventId()
                          + ": the record is "
                          + t.bytes()
                          + " bytes in the journal; one journal event holds at most "
                          + t.limit(),
                      weir.protocol.Json.truncate(
                          row.json(),
                          weir.protocol.webhook.WebhookParser.MAX_DEAD_LETTER_PAYLOAD_CHARS))));
          return;
        }
        if (rows.size() + rejections.size() <= 1)
          throw new ConnectorException(
              (rows.isEmpty()
                      ? "a rejected record"
                      : "a row of table '" + rows.get(0).table() + "'")
                  + " is "
                  + t.bytes()
                  + " bytes; a journal event holds at most "
                  + t.limit());
        if (rows.isEmpty()) {
          int half = rejections.size() / 2;
          write(List.of(), new ArrayList<>(rejections.subList(0, half)));
          write(List.of(), new ArrayList<>(rejections.subList(half, rejections.size())));
          return;
        }
        int half = rows.size() / 2;
        write(new ArrayList<>(rows.subList(0, half)), rejections);
        write(new ArrayList<>(rows.subList(half, rows.size())), List.of());
        return;
      }
      if (outcome instanceof IngestGateway.Unavailable u) {
        if (++unavailable > MAX_UNAVAILABLE)
          throw new IllegalStateException("the journal is unavailable: " + u.reason());
        log.warn("Connection {}: journal write failed ({}), retrying", connection.id(), u.reason());
      }
      // Overloaded (the buffers are full: wait for room) or unavailable.
      Thread.sleep(backoff);
      backoff = Math.min(backoff * 2, 2_000);
    }
  }
}
