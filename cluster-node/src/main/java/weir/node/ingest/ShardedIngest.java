package weir.node.ingest;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Props;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import weir.node.RootCause;
import weir.node.metrics.NodeMetrics;
import weir.persistence.registry.Connection;
import weir.protocol.StagedRow;

/**
 * {@link IngestGateway} over the sharded {@link ConnectionBuffer}s: a random slot per request, through this
 * node's {@link SlotBatcher} for that slot (group commit).
 */
public final class ShardedIngest implements IngestGateway {
  /** A group sent to one slot holds about this many events at most. */
  private static final int MAX_GROUP_EVENTS = 5_000;

  private final ActorSystem<?> system;
  private final ClusterSharding sharding;
  private final Duration askTimeout;
  private final NodeMetrics metrics;
  private final Map<String, ActorRef<SlotBatcher.Message>> batchers = new ConcurrentHashMap<>();

  public ShardedIngest(ActorSystem<?> system, Duration askTimeout, NodeMetrics metrics) {
    this.system = system;
    this.sharding = ClusterSharding.get(system);
    this.askTimeout = askTimeout;
    this.metrics = metrics;
  }

  @Override
  public CompletionStage<Outcome> accept(Connection connection, List<StagedRow> rows,
      List<ConnectionBuffer.DeadLetter> deadLetters) {
    int slot = ThreadLocalRandom.current().nextInt(Math.max(1, connection.partitions()));
    long started = System.nanoTime();
    CompletableFuture<Boolean> result = new CompletableFuture<>();
    batcher(connection.slotEntityId(slot))
        .tell(new SlotBatcher.Submit(new ConnectionBuffer.Request(rows, deadLetters), result));
    return result.<Outcome>thenApply(accepted -> {
          if (!accepted) return new Overloaded();
          metrics.observe("weir_journal_write_seconds", (System.nanoTime() - started) / 1e9);
          metrics.increment("weir_ingest_events_total", rows.size() - deadLetters.size(), "connection", connection.id());
          if (!deadLetters.isEmpty()) {
            metrics.increment("weir_rejected_events_total", deadLetters.size(), "connection", connection.id());
          }
          return new Accepted(rows.size() - deadLetters.size());
        })
        .exceptionally(e -> new Unavailable(RootCause.describe(e)));
  }

  private ActorRef<SlotBatcher.Message> batcher(String entityId) {
    return batchers.computeIfAbsent(entityId, id -> system.systemActorOf(
        SlotBatcher.create(sharding.entityRefFor(ConnectionBuffer.ENTITY_KEY, id), askTimeout, MAX_GROUP_EVENTS),
        "ingest-batcher-" + id.replaceAll("[^A-Za-z0-9_-]", "_"), Props.empty()));
  }
}
