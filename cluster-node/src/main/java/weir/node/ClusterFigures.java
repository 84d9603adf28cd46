package weir.node;

import akka.actor.typed.ActorSystem;
import akka.cluster.Member;
import akka.cluster.typed.Cluster;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import weir.node.metrics.NodeMetrics;

/**
 * The cluster-wide figures every node exports on {@code /metrics}: members by status, unreachable
 * members, shards per member and entity type (the cluster's view; the last complete view is kept
 * when a query comes back empty under load), and this node's shards and entities.
 */
final class ClusterFigures {
  private ClusterFigures() {}

  static void register(ActorSystem<?> system, NodeMetrics metrics) {
    Cluster cluster = Cluster.get(system);
    metrics.gauge(
        "weir_cluster_members",
        "status",
        () -> {
          Map<String, Double> byStatus = new TreeMap<>();
          for (Member m : cluster.state().getMembers())
            byStatus.merge(m.status().toString(), 1.0, Double::sum);
          return byStatus;
        });
    metrics.gauge(
        "weir_cluster_unreachable_members",
        "observer",
        () ->
            Map.of(
                cluster.selfMember().address().toString(),
                (double) cluster.state().getUnreachable().size()));
    Map<String, Map<Map<String, String>, Double>> clusterShards = new ConcurrentHashMap<>();
    system
        .scheduler()
        .scheduleWithFixedDelay(
            Duration.ofSeconds(1),
            Duration.ofSeconds(10),
            () -> {
              for (var key : Shards.TYPES) {
                Shards.local(system, key)
                    .thenAccept(
                        state -> {
                          metrics.set("weir_shards", state.getShards().size(), "type", key.name());
                          metrics.set(
                              "weir_entities",
                              state.getShards().stream()
                                  .mapToLong(sh -> sh.getEntityIds().size())
                                  .sum(),
                              "type",
                              key.name());
                        });
                Shards.cluster(system, key, Duration.ofSeconds(5))
                    .thenAccept(
                        stats -> {
                          if (stats.getRegions().isEmpty()) return;
                          Map<Map<String, String>, Double> perMember = new HashMap<>();
                          stats
                              .getRegions()
                              .forEach(
                                  (address, region) ->
                                      perMember.put(
                                          Map.of("member", address.toString(), "type", key.name()),
                                          (double) region.getStats().size()));
                          clusterShards.put(key.name(), perMember);
                          Map<Map<String, String>, Double> all = new HashMap<>();
                          clusterShards.values().forEach(all::putAll);
                          metrics.replaceGauges("weir_cluster_shards", all);
                        });
              }
            },
            system.executionContext());
  }
}
