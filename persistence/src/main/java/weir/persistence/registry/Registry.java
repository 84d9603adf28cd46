package weir.persistence.registry;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.actor.typed.SupervisorStrategy;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.sharding.typed.javadsl.Entity;
import akka.cluster.sharding.typed.javadsl.EntityTypeKey;
import akka.pattern.StatusReply;
import akka.persistence.typed.PersistenceId;
import akka.persistence.typed.javadsl.CommandHandlerWithReply;
import akka.persistence.typed.javadsl.EventHandler;
import akka.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import akka.persistence.typed.javadsl.RetentionCriteria;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import weir.persistence.CborSerializable;

/**
 * The durable registry of destinations and connections: one event-sourced entity for the whole cluster
 * (a sharded entity with the fixed id {@link #ENTITY_ID}, so every node reaches the same one). Nodes read
 * it through a local read-through cache; only administrative changes write to it.
 *
 * <p>Guarantee: a create is acknowledged only after its event is in the journal.
 */
public final class Registry
    extends EventSourcedBehaviorWithEnforcedReplies<Registry.Command, Registry.Event, Registry.State> {

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "WeirRegistry");
  public static final String ENTITY_ID = "registry";

  /** Messages the registry takes. */
  public sealed interface Command extends CborSerializable {}

  /** Add a destination; fails when the id is taken. */
  public record CreateDestination(Destination destination, ActorRef<StatusReply<Destination>> replyTo)
      implements Command {}

  /** Add a connection; fails when the id is taken or its destination does not exist. */
  public record CreateConnection(Connection connection, ActorRef<StatusReply<Connection>> replyTo)
      implements Command {}

  /** Read everything (the registry is small: tens to thousands of entries). */
  public record Get(ActorRef<Snapshot> replyTo) implements Command {}

  /** What {@link Get} answers. */
  public record Snapshot(Map<String, Destination> destinations, Map<String, Connection> connections)
      implements CborSerializable {}

  /** Journal events. */
  public sealed interface Event extends CborSerializable {}

  public record DestinationCreated(Destination destination) implements Event {}

  public record ConnectionCreated(Connection connection) implements Event {}

  /** Immutable state: insertion-ordered maps by id. */
  public record State(Map<String, Destination> destinations, Map<String, Connection> connections)
      implements CborSerializable {
    static State empty() {
      return new State(Map.of(), Map.of());
    }

    State with(Destination d) {
      Map<String, Destination> next = new LinkedHashMap<>(destinations);
      next.put(d.id(), d);
      return new State(next, connections);
    }

    State with(Connection c) {
      Map<String, Connection> next = new LinkedHashMap<>(connections);
      next.put(c.id(), c);
      return new State(destinations, next);
    }
  }

  /** Registers the registry with Cluster Sharding on this node. */
  public static void init(ActorSystem<?> system) {
    ClusterSharding.get(system).init(Entity.of(ENTITY_KEY, ctx -> create()));
  }

  public static Behavior<Command> create() {
    return new Registry(PersistenceId.ofUniqueId("weir-registry"));
  }

  private Registry(PersistenceId persistenceId) {
    super(persistenceId, SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2));
  }

  @Override
  public State emptyState() {
    return State.empty();
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(100, 2);
  }

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    return newCommandHandlerWithReplyBuilder()
        .forAnyState()
        .onCommand(CreateDestination.class, (state, cmd) -> {
          if (state.destinations().containsKey(cmd.destination().id())) {
            return Effect().reply(cmd.replyTo(),
                StatusReply.error("A destination with id " + cmd.destination().id() + " exists."));
          }
          return Effect().persist(new DestinationCreated(cmd.destination()))
              .thenReply(cmd.replyTo(), s -> StatusReply.success(cmd.destination()));
        })
        .onCommand(CreateConnection.class, (state, cmd) -> {
          Connection c = cmd.connection();
          if (state.connections().containsKey(c.id())) {
            return Effect().reply(cmd.replyTo(), StatusReply.error("A connection with id " + c.id() + " exists."));
          }
          if (!state.destinations().containsKey(c.destinationId())) {
            return Effect().reply(cmd.replyTo(),
                StatusReply.error("Destination " + c.destinationId() + " does not exist."));
          }
          return Effect().persist(new ConnectionCreated(c)).thenReply(cmd.replyTo(), s -> StatusReply.success(c));
        })
        .onCommand(Get.class, (state, cmd) ->
            Effect().reply(cmd.replyTo(), new Snapshot(Map.copyOf(state.destinations()), Map.copyOf(state.connections()))))
        .build();
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder()
        .forAnyState()
        .onEvent(DestinationCreated.class, (state, e) -> state.with(e.destination()))
        .onEvent(ConnectionCreated.class, (state, e) -> state.with(e.connection()))
        .build();
  }
}
