package weir.node.ingest;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Props;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import weir.node.RootCause;
import weir.node.metrics.NodeMetrics;
import weir.persistence.registry.Connection;

/**
 * {@link IngestGateway} over the sharded {@link ConnectionBuffer}s: a random slot per request,
 * through this node's {@link SlotBatcher} for that slot (group commit). Accepted requests are shown
 * to this node's {@link EventTail} watchers.
 */
public final class ShardedIngest implements IngestGateway {
  /** A group sent to one slot holds about this many events at most. */
  private static final int MAX_GROUP_EVENTS = 5_000;

  private final ActorSystem<?> system;
  private final ClusterSharding sharding;
  private final IngestSettings settings;
  private final SlotBatcher.Limits limits;
  private final NodeMetrics metrics;
  private final EventTail tail;
  private final Map<String, ActorRef<SlotBatcher.Message>> batchers = new ConcurrentHashMap<>();

  public ShardedIngest(
      ActorSystem<?> system, IngestSettings settings, NodeMetrics metrics, EventTail tail) {
    this.system = system;
    this.sharding = ClusterSharding.get(system);
    this.settings = settings;
    this.limits =
        new SlotBatcher.Limits(
            settings.askTimeout(),
            settings.maxGroupBytes(),
            MAX_GROUP_EVENTS,
            settings.maxQueuedBytesPerSlot());
    this.metrics = metrics;
    this.tail = tail;
  }

  @Override
  public CompletionStage<Outcome> accept(Connection connection, IngestBatch batch) {
    int slot = ThreadLocalRandom.current().nextInt(Math.max(1, connection.slots()));
    long started = System.nanoTime();
    // Every rejection is kept and loaded like an event: a _weir_dead_letters row in the same
    // journal event.
    ConnectionBuffer.Request request = ConnectionBuffer.Request.of(connection.id(), batch);
    int events = request.events();
    int deadLetters = request.deadLetters().size();
    if (request.rows().length > settings.maxJournalBytesPerRequest()) {
      return CompletableFuture.completedFuture(
          new TooLarge(request.rows().length, settings.maxJournalBytesPerRequest()));
    }
    CompletableFuture<Boolean> result = new CompletableFuture<>();
    batcher(connection.slotEntityId(slot))
        .tell(new SlotBatcher.Submit(request, result, started + settings.askTimeout().toNanos()));
    return result
        .<Outcome>thenApply(
            accepted -> {
              if (!accepted) return new Overloaded();
              metrics.observe("weir_journal_write_seconds", (System.nanoTime() - started) / 1e9);
              metrics.increment("weir_ingest_events_total", events, "connection", connection.id());
              if (deadLetters > 0)
                metrics.increment(
                    "weir_rejected_events_total", deadLetters, "connection", connection.id());
              // Only now (journal written, the client gets its 2xx) may the tail show them.
              tail.accepted(connection.id(), batch);
              return new Accepted(events);
            })
        .exceptionally(e -> new Unavailable(RootCause.describe(e)));
  }

  private ActorRef<SlotBatcher.Message> batcher(String entityId) {
    return batchers.computeIfAbsent(
        entityId,
        id ->
            system.systemActorOf(
                SlotBatcher.create(sharding.entityRefFor(ConnectionBuffer.ENTITY_KEY, id), limits),
                "ingest-batcher-" + id.replaceAll("[^A-Za-z0-9_-]", "_"),
                Props.empty()));
  }
}
