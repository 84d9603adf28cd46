package weir.node.ingest;

import akka.actor.typed.ActorSystem;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.pattern.StatusReply;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;
import weir.node.RootCause;
import weir.node.metrics.NodeMetrics;
import weir.persistence.registry.Connection;
import weir.protocol.StagedRow;

/** {@link IngestGateway} over the sharded {@link ConnectionBuffer}s: a random slot per request. */
public final class ShardedIngest implements IngestGateway {
  private final ClusterSharding sharding;
  private final Duration askTimeout;
  private final NodeMetrics metrics;

  public ShardedIngest(ActorSystem<?> system, Duration askTimeout, NodeMetrics metrics) {
    this.sharding = ClusterSharding.get(system);
    this.askTimeout = askTimeout;
    this.metrics = metrics;
  }

  @Override
  public CompletionStage<Outcome> accept(Connection connection, List<StagedRow> rows,
      List<ConnectionBuffer.DeadLetter> deadLetters) {
    int slot = ThreadLocalRandom.current().nextInt(Math.max(1, connection.partitions()));
    long started = System.nanoTime();
    return sharding.entityRefFor(ConnectionBuffer.ENTITY_KEY, connection.slotEntityId(slot))
        .<ConnectionBuffer.Accepted>askWithStatus(r -> new ConnectionBuffer.Accept(rows, deadLetters, r), askTimeout)
        .<Outcome>thenApply(a -> {
          metrics.observe("weir_journal_write_seconds", (System.nanoTime() - started) / 1e9);
          metrics.increment("weir_ingest_events_total", a.count(), "connection", connection.id());
          if (!deadLetters.isEmpty()) {
            metrics.increment("weir_rejected_events_total", deadLetters.size(), "connection", connection.id());
          }
          return new Accepted(a.count());
        })
        .exceptionally(e -> {
          Throwable root = RootCause.of(e);
          if (root instanceof StatusReply.ErrorMessage m && ConnectionBuffer.OVERLOADED.equals(m.getMessage())) {
            return new Overloaded();
          }
          return new Unavailable(RootCause.describe(e));
        });
  }
}
