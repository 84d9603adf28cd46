package weir.node;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.AskPattern;
import akka.cluster.sharding.ShardRegion;
import akka.cluster.sharding.typed.ClusterShardingQuery;
import akka.cluster.sharding.typed.GetClusterShardingStats;
import akka.cluster.sharding.typed.GetShardRegionState;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.sharding.typed.javadsl.EntityTypeKey;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import weir.node.datasync.DataSyncImport;
import weir.node.datasync.ExportFeed;
import weir.node.ingest.ConnectionBuffer;
import weir.node.load.LoadCoordinator;
import weir.persistence.registry.Registry;

/**
 * Questions to Cluster Sharding about where Weir's entities are: this node's shards, or every
 * member's.
 */
public final class Shards {
  /** Weir's sharded entity types. */
  public static final List<EntityTypeKey<?>> TYPES =
      List.of(
          ConnectionBuffer.ENTITY_KEY,
          LoadCoordinator.ENTITY_KEY,
          ExportFeed.ENTITY_KEY,
          DataSyncImport.ENTITY_KEY,
          weir.node.connector.ConnectorSync.ENTITY_KEY,
          weir.node.stream.KinesisShard.ENTITY_KEY,
          Registry.ENTITY_KEY);

  private Shards() {}

  /** The shards and entities of {@code key} on this node. */
  public static CompletableFuture<ShardRegion.CurrentShardRegionState> local(
      ActorSystem<?> system, EntityTypeKey<?> key) {
    return AskPattern.<ClusterShardingQuery, ShardRegion.CurrentShardRegionState>ask(
            ClusterSharding.get(system).shardState(),
            r -> new GetShardRegionState(key, r),
            Duration.ofSeconds(5),
            system.scheduler())
        .toCompletableFuture();
  }

  /** The ids of the entities of {@code key} on this node. */
  public static CompletableFuture<Set<String>> localEntityIds(
      ActorSystem<?> system, EntityTypeKey<?> key) {
    return local(system, key)
        .thenApply(
            state -> {
              Set<String> ids = new TreeSet<>();
              state.getShards().forEach(shard -> ids.addAll(shard.getEntityIds()));
              return ids;
            });
  }

  /**
   * Shards and entity counts of {@code key} on every member that answers within {@code timeout}.
   */
  public static CompletableFuture<ShardRegion.ClusterShardingStats> cluster(
      ActorSystem<?> system, EntityTypeKey<?> key, Duration timeout) {
    return AskPattern.<ClusterShardingQuery, ShardRegion.ClusterShardingStats>ask(
            ClusterSharding.get(system).shardState(),
            r -> new GetClusterShardingStats(key, timeout, r),
            timeout.plusSeconds(1),
            system.scheduler())
        .toCompletableFuture();
  }
}
