package weir.node.admin;

import akka.actor.typed.ActorSystem;
import akka.cluster.Member;
import akka.cluster.sharding.ShardRegion;
import akka.cluster.sharding.typed.javadsl.EntityTypeKey;
import akka.cluster.typed.Cluster;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.server.Route;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import weir.node.Shards;
import weir.node.http.ApiErrors;
import weir.protocol.Json;

/**
 * {@code GET /v1/admin/cluster}: members, shards and entities per member per entity type, this
 * node.
 */
final class ClusterRoutes extends AdminSupport {
  private static final List<EntityTypeKey<?>> TYPES = Shards.TYPES;

  private final ActorSystem<?> system;
  private final Duration timeout;

  ClusterRoutes(ActorSystem<?> system, Duration timeout) {
    this.system = system;
    this.timeout = timeout;
  }

  Route route() {
    return path("cluster", () -> get(() -> respond(cluster())));
  }

  private CompletionStage<HttpResponse> cluster() {
    Cluster cluster = Cluster.get(system);
    List<CompletableFuture<ShardRegion.ClusterShardingStats>> stats = new ArrayList<>();
    for (EntityTypeKey<?> type : TYPES) stats.add(Shards.cluster(system, type, timeout));
    return CompletableFuture.allOf(stats.toArray(CompletableFuture[]::new))
        .thenApply(
            ignored -> {
              ObjectNode out = Json.MAPPER.createObjectNode();
              out.put("self_address", cluster.selfMember().address().toString());
              out.put(
                  "leader",
                  cluster.state().getLeader() == null
                      ? null
                      : cluster.state().getLeader().toString());
              ArrayNode members = out.putArray("members");
              for (Member m : cluster.state().getMembers()) {
                ObjectNode node = members.addObject();
                node.put("address", m.address().toString());
                node.put("status", m.status().toString());
                ArrayNode roles = node.putArray("roles");
                m.getRoles().forEach(role -> roles.add(role));
                node.put("reachable", !cluster.state().getUnreachable().contains(m));
              }
              ObjectNode shards = out.putObject("shards");
              for (int i = 0; i < TYPES.size(); i++) {
                String type = TYPES.get(i).name();
                stats
                    .get(i)
                    .join()
                    .getRegions()
                    .forEach(
                        (address, region) -> {
                          ObjectNode perMember =
                              shards.has(address.toString())
                                  ? (ObjectNode) shards.get(address.toString())
                                  : shards.putObject(address.toString());
                          ObjectNode t = perMember.putObject(type);
                          t.put("shards", region.getStats().size());
                          t.put(
                              "entities",
                              region.getStats().values().stream()
                                  .mapToInt(v -> ((Number) v).intValue())
                                  .sum());
                        });
              }
              return ApiErrors.json(StatusCodes.OK, out);
            });
  }
}
