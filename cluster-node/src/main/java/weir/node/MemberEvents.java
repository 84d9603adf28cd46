package weir.node;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.ClusterEvent;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Subscribe;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs members coming up and being removed (left, or downed after a crash), for operators. Nothing
 * else is needed on a loss: sharding starts the lost member's shards, and their remembered
 * entities, on the remaining nodes.
 */
final class MemberEvents {
  private static final Logger log = LoggerFactory.getLogger(MemberEvents.class);

  private MemberEvents() {}

  static Behavior<ClusterEvent.MemberEvent> create() {
    return Behaviors.setup(
        ctx -> {
          ActorRef<ClusterEvent.MemberEvent> self = ctx.getSelf();
          Cluster cluster = Cluster.get(ctx.getSystem());
          cluster.subscriptions().tell(Subscribe.create(self, ClusterEvent.MemberEvent.class));
          return Behaviors.receiveMessage(
              event -> {
                if (event instanceof ClusterEvent.MemberRemoved removed) {
                  if (removed.member().address().equals(cluster.selfMember().address())) {
                    // this node leaving (a shutdown): its drain has already said what it handed on
                    log.info("This node left the cluster ({})", removed.previousStatus());
                  } else {
                    log.warn(
                        "Cluster member {} removed ({}); its buffers and coordinators start again on the remaining nodes",
                        removed.member().address(),
                        removed.previousStatus());
                  }
                } else if (event instanceof ClusterEvent.MemberUp up) {
                  log.info("Cluster member {} is up", up.member().address());
                }
                return Behaviors.same();
              });
        });
  }
}
