package weir.node.ingest;

import akka.NotUsed;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Props;
import akka.stream.javadsl.Source;
import java.util.Optional;
import java.util.UUID;

/**
 * The live tail of what every member accepts for a connection: the rows this node accepts come
 * straight from its {@link EventTail}; the other members' come through their {@link TailRelay}s
 * into the same bounded queue and the same {@code dropped} count. In a cluster of one it is this
 * node's {@link EventTail}, nothing more.
 */
public final class ClusterTail {
  private final EventTail local;
  private final ActorRef<TailRelay.Command> relay;

  ClusterTail(EventTail local, ActorRef<TailRelay.Command> relay) {
    this.local = local;
    this.relay = relay;
  }

  /** Starts this node's {@link TailRelay} (one per node) over {@code local}. */
  public static ClusterTail start(ActorSystem<?> system, EventTail local) {
    return new ClusterTail(
        local,
        system.systemActorOf(
            TailRelay.create(local, TailRelay.Settings.DEFAULT), "weir-tail-relay", Props.empty()));
  }

  /**
   * As {@link EventTail#watch}, with the rows of every member: the other members are asked to relay
   * once the stream runs, and told to stop when it ends (or stop when its lease runs out).
   */
  public Optional<EventTail.Tail> watch(String connectionId) {
    return local
        .watch(connectionId)
        .map(
            t -> {
              String tailId = UUID.randomUUID().toString();
              Source<EventTail.TailedRow, NotUsed> rows =
                  t.source()
                      .watchTermination(
                          (nu, done) -> {
                            relay.tell(new TailRelay.Open(tailId, connectionId, t.watcher()));
                            done.whenComplete(
                                (ok, error) -> relay.tell(new TailRelay.Close(tailId)));
                            return NotUsed.getInstance();
                          });
              return new EventTail.Tail(t.watcher(), rows);
            });
  }
}
