package weir.node.connector;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import weir.node.ingest.IngestBatch;
import weir.node.ingest.IngestGateway;
import weir.persistence.registry.Connection;
import weir.protocol.StagedRow;
import weir.sdk.ConnectorException;

/**
 * A connector sync's writes into its connection's buffer: each returns once the journal holds the
 * rows. While the buffers are full (overloaded) it waits and tries again, with backoff, for as long
 * as it takes: the connector's thread is held, so what a source emits never piles up in memory
 * (backpressure). A group too large for one journal event is split in halves; a journal that stays
 * unavailable fails the sync (it resumes from its last checkpoint).
 */
final class JournalWrites {
  private static final Logger log = LoggerFactory.getLogger(JournalWrites.class);
  static final int MAX_UNAVAILABLE = 5;

  private final IngestGateway gateway;
  private final Connection connection;
  private final BooleanSupplier cancelled;

  JournalWrites(IngestGateway gateway, Connection connection, BooleanSupplier cancelled) {
    this.gateway = gateway;
    this.connection = connection;
    this.cancelled = cancelled;
  }

  /** Writes {@code rows}, in order, into the journal. */
  void write(List<StagedRow> rows) throws Exception {
    long backoff = 50;
    int unavailable = 0;
    while (true) {
      if (cancelled.getAsBoolean() || Thread.currentThread().isInterrupted())
        throw new CancellationException("the sync was cancelled");
      IngestGateway.Outcome outcome =
          gateway
              .accept(connection, new IngestBatch(rows, List.of(), Instant.now()))
              .toCompletableFuture()
              .get();
      if (outcome instanceof IngestGateway.Accepted) return;
      if (outcome instanceof IngestGateway.TooLarge t) {
        if (rows.size() == 1)
          throw new ConnectorException(
              "a row of table '"
                  + rows.get(0).table()
                  + "' is "
                  + t.bytes()
                  + " bytes; a journal event holds at most "
                  + t.limit());
        int half = rows.size() / 2;
        write(new ArrayList<>(rows.subList(0, half)));
        write(new ArrayList<>(rows.subList(half, rows.size())));
        return;
      }
      if (outcome instanceof IngestGateway.Unavailable u) {
        if (++unavailable > MAX_UNAVAILABLE)
          throw new IllegalStateException("the journal is unavailable: " + u.reason());
        log.warn(
            "Connector connection {}: journal write failed ({}), retrying",
            connection.id(),
            u.reason());
      }
      // Overloaded (the buffers are full: wait for room) or unavailable.
      Thread.sleep(backoff);
      backoff = Math.min(backoff * 2, 2_000);
    }
  }
}
