package weir.node;

import akka.Done;
import akka.actor.CoordinatedShutdown;
import akka.actor.typed.ActorSystem;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import weir.node.ingest.ConnectionBuffer;
import weir.node.load.LoadCoordinator;
import weir.persistence.registry.Connection;

/**
 * What a node does when it stops (SIGTERM), in CoordinatedShutdown's service-stop phase, after HTTP
 * is unbound and in-flight requests are drained: stage everything the buffer slots on this node
 * hold, then load every staged batch of the destinations whose coordinators it hosts, retrying
 * failed loads, until all of it is in the warehouse or the drain deadline ({@code
 * weir.shutdown.drain-timeout}) passes. Progress is logged every few seconds. When the deadline
 * cuts it short, the log says exactly what is left (events per buffer slot, batches per
 * connection): it stays in the journal and the ledgers, and the next start (or, in a cluster, the
 * node that takes the shards over) stages and loads it. Cluster Sharding then hands the entities to
 * the other nodes.
 */
final class NodeDrain {
  private static final Logger log = LoggerFactory.getLogger(NodeDrain.class);
  private static final Duration PROGRESS_EVERY = Duration.ofSeconds(5);

  private final ActorSystem<?> system;
  private final Duration timeout;
  private final Supplier<Collection<Connection>> connections;
  private final ClusterSharding sharding;

  private NodeDrain(
      ActorSystem<?> system, Duration timeout, Supplier<Collection<Connection>> connections) {
    this.system = system;
    this.timeout = timeout;
    this.connections = connections;
    this.sharding = ClusterSharding.get(system);
  }

  /**
   * @param connections every connection (the node's registry cache), for the summary of what is
   *     left
   */
  static void register(
      ActorSystem<?> system, Duration timeout, Supplier<Collection<Connection>> connections) {
    NodeDrain drain = new NodeDrain(system, timeout, connections);
    CoordinatedShutdown.get(system)
        .addTask(CoordinatedShutdown.PhaseServiceStop(), "weir-flush-and-load", drain::run);
  }

  private CompletionStage<Done> run() {
    long started = System.nanoTime();
    long deadline = started + timeout.toNanos();
    CompletableFuture<Set<String>> buffers =
        Shards.localEntityIds(system, ConnectionBuffer.ENTITY_KEY)
            .exceptionally(e -> notListed("buffers", e));
    CompletableFuture<Set<String>> coordinators =
        Shards.localEntityIds(system, LoadCoordinator.ENTITY_KEY)
            .exceptionally(e -> notListed("coordinators", e));
    return buffers
        .thenCompose(
            slots -> {
              log.info(
                  "Shutting down: staging what the {} buffer slots on this node hold, then loading it (deadline {} s)",
                  slots.size(),
                  timeout.toSeconds());
              return untilDone(
                  deadline, "staging", () -> flush(slots, deadline), () -> bufferedSummary(slots));
            })
        .thenCompose(
            flushed ->
                coordinators.thenCompose(
                    ids ->
                        untilDone(
                                deadline,
                                "loading",
                                () -> load(ids, deadline),
                                () -> pendingSummary(ids))
                            .thenCompose(
                                loaded -> {
                                  if (flushed && loaded) {
                                    log.info(
                                        "Shutdown drain complete in {} ms: every acknowledged event on this node is staged and loaded",
                                        (System.nanoTime() - started) / 1_000_000);
                                    return CompletableFuture.completedFuture(Done.getInstance());
                                  }
                                  return buffers
                                      .thenCompose(slots -> bufferedSummary(slots))
                                      .thenCombine(
                                          pendingSummary(ids),
                                          (buffered, pending) -> {
                                            log.warn(
                                                "Shutdown drain cut short by its {} s deadline (weir.shutdown.drain-timeout). Left, safe in "
                                                    + "the journal and loaded at the next start (or by the node that takes these shards over): {}; {}",
                                                timeout.toSeconds(),
                                                buffered,
                                                pending);
                                            return Done.getInstance();
                                          });
                                })))
        .exceptionally(
            e -> {
              log.warn(
                  "Shutdown drain failed: {}; what is left stays in the journal",
                  RootCause.describe(e));
              return Done.getInstance();
            });
  }

  /**
   * Repeats {@code attempt} (true: done) until it is done or the deadline passes, logging {@code
   * summary} every few seconds; completes with whether it got done.
   */
  private CompletionStage<Boolean> untilDone(
      long deadline,
      String what,
      Supplier<CompletionStage<Boolean>> attempt,
      Supplier<CompletionStage<String>> summary) {
    CompletableFuture<Boolean> result = new CompletableFuture<>();
    var progress =
        system
            .scheduler()
            .scheduleAtFixedRate(
                PROGRESS_EVERY,
                PROGRESS_EVERY,
                () ->
                    summary.get().thenAccept(s -> log.info("Shutting down, still {}: {}", what, s)),
                system.executionContext());
    step(deadline, attempt, result);
    return result.whenComplete((done, e) -> progress.cancel());
  }

  private void step(
      long deadline,
      Supplier<CompletionStage<Boolean>> attempt,
      CompletableFuture<Boolean> result) {
    attempt
        .get()
        .whenComplete(
            (done, error) -> {
              if (Boolean.TRUE.equals(done)) {
                result.complete(true);
              } else if (System.nanoTime() - deadline >= 0) {
                result.complete(false);
              } else {
                // Something failed (a store or warehouse is down): try again shortly, within the
                // deadline.
                system
                    .scheduler()
                    .scheduleOnce(
                        Duration.ofMillis(500),
                        () -> step(deadline, attempt, result),
                        system.executionContext());
              }
            });
  }

  private static Duration remaining(long deadline) {
    return Duration.ofNanos(Math.max(TimeUnit.SECONDS.toNanos(1), deadline - System.nanoTime()));
  }

  /** Flushes every slot; true once all answered that they are drained. */
  private CompletionStage<Boolean> flush(Set<String> slots, long deadline) {
    List<CompletableFuture<Done>> flushes = new ArrayList<>();
    for (String entityId : slots) {
      flushes.add(
          sharding
              .entityRefFor(ConnectionBuffer.ENTITY_KEY, entityId)
              .<Done>askWithStatus(ConnectionBuffer.FlushAll::new, remaining(deadline))
              .toCompletableFuture());
    }
    return CompletableFuture.allOf(flushes.toArray(CompletableFuture[]::new))
        .handle((ok, e) -> e == null);
  }

  /**
   * A final load of every staged batch of each coordinator; true once all answered that nothing is
   * pending.
   */
  private CompletionStage<Boolean> load(Set<String> destinations, long deadline) {
    List<CompletableFuture<Done>> loads = new ArrayList<>();
    for (String destinationId : destinations) {
      loads.add(
          sharding
              .entityRefFor(LoadCoordinator.ENTITY_KEY, destinationId)
              .<Done>askWithStatus(
                  r -> new LoadCoordinator.Sync(null, true, r), remaining(deadline))
              .toCompletableFuture());
    }
    return CompletableFuture.allOf(loads.toArray(CompletableFuture[]::new))
        .handle(
            (ok, e) -> {
              if (e != null)
                log.info(
                    "Final load not done yet ({}); retrying until the deadline",
                    RootCause.describe(e));
              return e == null;
            });
  }

  /** "N events buffered in slots a (n), b (m)". */
  private CompletionStage<String> bufferedSummary(Set<String> slots) {
    List<CompletableFuture<ConnectionBuffer.BufferStatus>> statuses = new ArrayList<>();
    for (String entityId : slots) {
      statuses.add(
          sharding
              .entityRefFor(ConnectionBuffer.ENTITY_KEY, entityId)
              .<ConnectionBuffer.BufferStatus>ask(
                  ConnectionBuffer.GetStatus::new, Duration.ofSeconds(3))
              .toCompletableFuture()
              .exceptionally(e -> null));
    }
    return CompletableFuture.allOf(statuses.toArray(CompletableFuture[]::new))
        .thenApply(
            ignored -> {
              long events = 0;
              int unconfirmed = 0;
              List<String> parts = new ArrayList<>();
              for (CompletableFuture<ConnectionBuffer.BufferStatus> f : statuses) {
                ConnectionBuffer.BufferStatus s = f.join();
                if (s == null) continue;
                events += s.bufferedEvents();
                unconfirmed += s.unconfirmedBatches();
                if (s.bufferedEvents() > 0 || s.unconfirmedBatches() > 0) {
                  parts.add(
                      s.entityId()
                          + " ("
                          + s.bufferedEvents()
                          + " events, "
                          + s.unconfirmedBatches()
                          + " batches not handed off)");
                }
              }
              return events
                  + " events buffered and "
                  + unconfirmed
                  + " staged batches not handed off"
                  + (parts.isEmpty() ? "" : " in slots " + String.join(", ", parts));
            });
  }

  /** "N staged batches not loaded: connection c (n batches, m rows) into destination d". */
  private CompletionStage<String> pendingSummary(Set<String> destinations) {
    List<CompletableFuture<String>> parts = new ArrayList<>();
    for (String destinationId : destinations) {
      for (Connection c : connectionsOf(destinationId)) {
        parts.add(
            sharding
                .entityRefFor(LoadCoordinator.ENTITY_KEY, destinationId)
                .<LoadCoordinator.ConnectionLoadStatus>ask(
                    r -> new LoadCoordinator.GetStatus(c.id(), r), Duration.ofSeconds(3))
                .toCompletableFuture()
                .thenApply(
                    s ->
                        s.pendingBatches() == 0
                            ? null
                            : "connection "
                                + c.id()
                                + " into "
                                + destinationId
                                + " ("
                                + s.pendingBatches()
                                + " batches, "
                                + s.pendingRows()
                                + " rows"
                                + (s.lastError() == null ? "" : "; last error: " + s.lastError())
                                + ")")
                .exceptionally(e -> null));
      }
    }
    return CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new))
        .thenApply(
            ignored -> {
              List<String> pending =
                  parts.stream().map(CompletableFuture::join).filter(Objects::nonNull).toList();
              return pending.isEmpty()
                  ? "no staged batch waits to be loaded"
                  : "staged batches not loaded: " + String.join(", ", pending);
            });
  }

  private List<Connection> connectionsOf(String destinationId) {
    return connections.get().stream().filter(c -> c.destinationId().equals(destinationId)).toList();
  }

  private static Set<String> notListed(String what, Throwable e) {
    log.warn("Could not list this node's {}: {}", what, RootCause.describe(e));
    return Set.of();
  }
}
