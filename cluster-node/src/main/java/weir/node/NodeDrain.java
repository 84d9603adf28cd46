package weir.node;

import akka.Done;
import akka.actor.CoordinatedShutdown;
import akka.actor.typed.ActorSystem;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import weir.node.ingest.ConnectionBuffer;
import weir.node.load.LoadCoordinator;

/**
 * What a node does when it stops (SIGTERM), in CoordinatedShutdown's service-stop phase, after HTTP is
 * unbound and in-flight requests are drained: flush the buffer slots this node hosts, then run a final load
 * on the destinations whose coordinators it hosts, within one deadline. Cluster Sharding then hands the (now
 * empty) entities to the other nodes. What does not finish in time stays in the journal and the ledgers.
 */
final class NodeDrain {
  private static final Logger log = LoggerFactory.getLogger(NodeDrain.class);

  private NodeDrain() {}

  static void register(ActorSystem<?> system, Duration timeout) {
    CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseServiceStop(), "weir-flush-and-load", () -> {
      long started = System.currentTimeMillis();
      ClusterSharding sharding = ClusterSharding.get(system);
      CompletableFuture<java.util.Set<String>> coordinators =
          Shards.localEntityIds(system, LoadCoordinator.ENTITY_KEY).exceptionally(e -> notListed("coordinators", e));
      return Shards.localEntityIds(system, ConnectionBuffer.ENTITY_KEY).exceptionally(e -> notListed("buffers", e))
          .thenCompose(buffers -> {
            List<CompletableFuture<Done>> flushes = new ArrayList<>();
            for (String entityId : buffers) {
              flushes.add(sharding.entityRefFor(ConnectionBuffer.ENTITY_KEY, entityId)
                  .<Done>askWithStatus(ConnectionBuffer.FlushAll::new, timeout).toCompletableFuture());
            }
            log.info("Shutting down: flushing the {} buffer slots on this node", flushes.size());
            return CompletableFuture.allOf(flushes.toArray(CompletableFuture[]::new));
          })
          .handle((ok, error) -> {
            if (error != null) log.warn("Some buffers did not flush before shutdown: {}", RootCause.describe(error));
            return Done.getInstance();
          })
          .thenCompose(done -> {
            // Flush and final load share one deadline, inside the phase's timeout.
            Duration left = timeout.minusMillis(System.currentTimeMillis() - started);
            Duration loadTimeout = left.compareTo(Duration.ofSeconds(1)) < 0 ? Duration.ofSeconds(1) : left;
            return coordinators.thenCompose(ids -> {
              List<CompletableFuture<Done>> loads = new ArrayList<>();
              for (String destinationId : ids) {
                loads.add(sharding.entityRefFor(LoadCoordinator.ENTITY_KEY, destinationId)
                    .<Done>askWithStatus(r -> new LoadCoordinator.Sync(null, true, r), loadTimeout).toCompletableFuture());
              }
              return CompletableFuture.allOf(loads.toArray(CompletableFuture[]::new));
            });
          })
          .handle((ok, error) -> {
            if (error != null) {
              log.warn("Final load incomplete ({}); staged batches stay in the ledger and load on the next start",
                  RootCause.describe(error));
            } else {
              log.info("Shutdown drain complete in {} ms: buffers flushed, final load done",
                  System.currentTimeMillis() - started);
            }
            return Done.getInstance();
          });
    });
  }

  private static java.util.Set<String> notListed(String what, Throwable e) {
    log.warn("Could not list this node's {}: {}", what, RootCause.describe(e));
    return java.util.Set.of();
  }
}
