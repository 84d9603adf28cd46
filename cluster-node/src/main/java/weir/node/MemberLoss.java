package weir.node;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.ClusterEvent;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Subscribe;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Runs {@code onLoss} whenever a cluster member is removed (left, or downed after a crash). */
final class MemberLoss {
  private static final Logger log = LoggerFactory.getLogger(MemberLoss.class);

  private MemberLoss() {}

  static Behavior<ClusterEvent.MemberEvent> create(Runnable onLoss) {
    return Behaviors.setup(ctx -> {
      ActorRef<ClusterEvent.MemberEvent> self = ctx.getSelf();
      Cluster.get(ctx.getSystem()).subscriptions().tell(Subscribe.create(self, ClusterEvent.MemberEvent.class));
      return Behaviors.receiveMessage(event -> {
        if (event instanceof ClusterEvent.MemberRemoved removed) {
          log.warn("Cluster member {} removed ({}); waking its buffers and coordinators on the remaining nodes",
              removed.member().address(), removed.previousStatus());
          onLoss.run();
        } else if (event instanceof ClusterEvent.MemberUp up) {
          log.info("Cluster member {} is up", up.member().address());
        }
        return Behaviors.same();
      });
    });
  }
}
