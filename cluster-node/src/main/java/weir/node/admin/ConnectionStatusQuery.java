package weir.node.admin;

import akka.actor.typed.ActorSystem;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import weir.node.datasync.DataSyncImport;
import weir.node.ingest.ConnectionBuffer;
import weir.node.load.LoadCoordinator;
import weir.persistence.registry.Connection;
import weir.persistence.registry.ConnectionKind;

/** Gathers a connection's figures from its buffer slots and its destination's load coordinator. */
public final class ConnectionStatusQuery {

  /** The status of API.md's {@code GET /v1/admin/connections/{id}/status}. */
  public record ConnectionStatus(
      String state,
      long bufferedEvents,
      long stagedBatchesPending,
      long loadedRowsTotal,
      long lastFlushAtMillis,
      long lastSyncAtMillis,
      long nextSyncAtMillis,
      String lastError,
      long deadLettersTotal,
      long acceptedTotal,
      int resyncsPending,
      long loadedEventsTotal,
      List<LoadCoordinator.ResyncView> resyncs,
      List<LoadCoordinator.FailedBatchView> failedBatches,
      DataSyncImport.ImportStatus datasync,
      List<LoadCoordinator.LoadView> recentLoads) {}

  private final ClusterSharding sharding;
  private final Duration timeout;

  public ConnectionStatusQuery(ActorSystem<?> system, Duration timeout) {
    this.sharding = ClusterSharding.get(system);
    this.timeout = timeout;
  }

  public CompletionStage<ConnectionStatus> status(Connection connection) {
    if (connection.kind() == ConnectionKind.datasync) return datasync(connection);
    List<CompletableFuture<ConnectionBuffer.BufferStatus>> slots = new ArrayList<>();
    for (int slot = 0; slot < connection.slots(); slot++) {
      slots.add(
          sharding
              .entityRefFor(ConnectionBuffer.ENTITY_KEY, connection.slotEntityId(slot))
              .<ConnectionBuffer.BufferStatus>ask(ConnectionBuffer.GetStatus::new, timeout)
              .toCompletableFuture());
    }
    CompletableFuture<LoadCoordinator.ConnectionLoadStatus> load =
        sharding
            .entityRefFor(LoadCoordinator.ENTITY_KEY, connection.destinationId())
            .<LoadCoordinator.ConnectionLoadStatus>ask(
                r -> new LoadCoordinator.GetStatus(connection.id(), r), timeout)
            .toCompletableFuture();
    return CompletableFuture.allOf(slots.toArray(CompletableFuture[]::new))
        .thenCombine(
            load,
            (ignored, l) -> {
              long buffered = 0, unconfirmed = 0, lastFlush = 0, deadLetters = 0, accepted = 0;
              String error = l.lastError();
              for (CompletableFuture<ConnectionBuffer.BufferStatus> f : slots) {
                ConnectionBuffer.BufferStatus s = f.join();
                buffered += s.bufferedEvents();
                unconfirmed += s.unconfirmedBatches();
                lastFlush = Math.max(lastFlush, s.lastFlushAtMillis());
                deadLetters += s.deadLettersTotal();
                accepted += s.acceptedTotal();
                if (error == null && s.lastError() != null) error = s.lastError();
              }
              String state = l.paused() ? "paused" : error == null ? "active" : "retrying";
              // Dead letters: rejected when received (buffers) and refused by the warehouse when
              // loaded (coordinator).
              return new ConnectionStatus(
                  state,
                  buffered,
                  unconfirmed + l.pendingBatches(),
                  l.loadedRowsTotal(),
                  lastFlush,
                  l.lastSyncAtMillis(),
                  l.nextSyncAtMillis(),
                  error,
                  deadLetters + l.rejectedRowsTotal(),
                  accepted,
                  l.resyncsPending(),
                  l.loadedEventsTotal(),
                  l.resyncs(),
                  l.failedBatches(),
                  null,
                  l.recentLoads() == null ? List.of() : l.recentLoads());
            });
  }

  /** A datasync connection has no buffers: its figures are its import's. */
  private CompletionStage<ConnectionStatus> datasync(Connection connection) {
    return sharding
        .entityRefFor(DataSyncImport.ENTITY_KEY, connection.id())
        .<DataSyncImport.ImportStatus>ask(DataSyncImport.GetStatus::new, timeout)
        .thenApply(
            d ->
                new ConnectionStatus(
                    d.lastError() == null ? "active" : "retrying",
                    0,
                    0,
                    d.rowsLoadedTotal(),
                    0,
                    d.lastSyncAtMillis(),
                    d.nextSyncAtMillis(),
                    d.lastError(),
                    0,
                    0,
                    d.resyncPending() ? 1 : 0,
                    0,
                    List.of(),
                    List.of(),
                    d,
                    List.of()));
  }
}
