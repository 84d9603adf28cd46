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
import akka.persistence.typed.javadsl.ReplyEffect;
import akka.persistence.typed.javadsl.RetentionCriteria;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import weir.persistence.CborSerializable;

/**
 * The durable registry of destinations and connections: one event-sourced entity for the whole
 * cluster (a sharded entity with the fixed id {@link #ENTITY_ID}, so every node reaches the same
 * one). Nodes read it through a local read-through cache; only administrative changes write to it.
 *
 * <p>Deletes leave tombstones ({@code deletedAtMillis}): a deleted connection takes no new events
 * but its buffers can still flush and load what they accepted. Errors are {@code StatusReply}
 * errors whose message starts with a stable code: {@code "<code>: <sentence>"} (see {@link
 * #errorCode}).
 *
 * <p>Guarantee: a change is acknowledged only after its event is in the journal. Secret values
 * arrive already sealed ({@code SecretBox}); the registry never sees them in clear.
 */
public final class Registry
    extends EventSourcedBehaviorWithEnforcedReplies<
        Registry.Command, Registry.Event, Registry.State> {

  public static final EntityTypeKey<Command> ENTITY_KEY =
      EntityTypeKey.create(Command.class, "WeirRegistry");
  public static final String ENTITY_ID = "registry";

  /** Messages the registry takes. */
  public sealed interface Command extends CborSerializable {}

  /** Add a destination; fails when the id is taken. */
  public record CreateDestination(
      Destination destination, ActorRef<StatusReply<Destination>> replyTo) implements Command {}

  /** Replace an active destination (same id). */
  public record UpdateDestination(
      Destination destination, ActorRef<StatusReply<Destination>> replyTo) implements Command {}

  /** Delete a destination; fails while an active connection uses it. */
  public record DeleteDestination(String destinationId, ActorRef<StatusReply<Destination>> replyTo)
      implements Command {}

  /** Add a connection; fails when the id is taken or its destination does not exist. */
  public record CreateConnection(Connection connection, ActorRef<StatusReply<Connection>> replyTo)
      implements Command {}

  /** Replace an active connection (same id). */
  public record UpdateConnection(Connection connection, ActorRef<StatusReply<Connection>> replyTo)
      implements Command {}

  /** Delete a connection (it keeps loading what it accepted). */
  public record DeleteConnection(String connectionId, ActorRef<StatusReply<Connection>> replyTo)
      implements Command {}

  /** Read everything (the registry is small: tens to thousands of entries). */
  public record Get(ActorRef<Listing> replyTo) implements Command {}

  /**
   * Adds the columns a connector sync has seen to its connection ({@link ConnectorSource#tables}),
   * before rows with them are loaded.
   */
  public record LearnConnectorColumns(
      String connectionId,
      Map<String, Map<String, weir.protocol.ColumnType>> tables,
      ActorRef<StatusReply<Connection>> replyTo)
      implements Command {}

  /** Register an export (its connection and destination must be active). */
  public record CreateExport(Export export, ActorRef<StatusReply<Export>> replyTo)
      implements Command {}

  /** Stop an export: it runs no more (what it published stays). */
  public record StopExport(String exportId, ActorRef<StatusReply<Export>> replyTo)
      implements Command {}

  /** What {@link Get} answers: every entry, tombstones included. */
  public record Listing(
      Map<String, Destination> destinations,
      Map<String, Connection> connections,
      Map<String, Export> exports)
      implements CborSerializable {
    public Listing {
      // From a node of an earlier release (a rolling upgrade): no exports.
      if (exports == null) exports = Map.of();
    }
  }

  /** Journal events. */
  public sealed interface Event extends CborSerializable {}

  public record DestinationCreated(Destination destination) implements Event {}

  public record DestinationUpdated(Destination destination) implements Event {}

  public record DestinationDeleted(String destinationId, long atMillis) implements Event {}

  public record ConnectionCreated(Connection connection) implements Event {}

  public record ConnectionUpdated(Connection connection) implements Event {}

  public record ConnectionDeleted(String connectionId, long atMillis) implements Event {}

  public record ExportCreated(Export export) implements Event {}

  public record ExportStopped(String exportId, long atMillis) implements Event {}

  public record ConnectorColumnsLearnt(
      String connectionId, Map<String, Map<String, weir.protocol.ColumnType>> tables)
      implements Event {}

  /** Immutable state: insertion-ordered maps by id. */
  public record State(
      Map<String, Destination> destinations,
      Map<String, Connection> connections,
      Map<String, Export> exports)
      implements CborSerializable {
    public State {
      // Snapshots taken before exports existed have none.
      if (exports == null) exports = Map.of();
    }

    static State empty() {
      return new State(Map.of(), Map.of(), Map.of());
    }

    State with(Destination d) {
      Map<String, Destination> next = new LinkedHashMap<>(destinations);
      next.put(d.id(), d);
      return new State(next, connections, exports);
    }

    State with(Connection c) {
      Map<String, Connection> next = new LinkedHashMap<>(connections);
      next.put(c.id(), c);
      return new State(destinations, next, exports);
    }

    State with(Export x) {
      Map<String, Export> next = new LinkedHashMap<>(exports);
      next.put(x.id(), x);
      return new State(destinations, connections, next);
    }

    Optional<Destination> activeDestination(String id) {
      return Optional.ofNullable(destinations.get(id)).filter(Destination::active);
    }

    Optional<Connection> activeConnection(String id) {
      return Optional.ofNullable(connections.get(id)).filter(Connection::active);
    }
  }

  /** The code of a registry error reply ({@code "<code>: <sentence>"}). */
  public static String errorCode(String message) {
    int colon = message == null ? -1 : message.indexOf(": ");
    return colon < 0 ? "registry_error" : message.substring(0, colon);
  }

  /** The sentence of a registry error reply. */
  public static String errorSentence(String message) {
    int colon = message == null ? -1 : message.indexOf(": ");
    return colon < 0 ? String.valueOf(message) : message.substring(colon + 2);
  }

  /** Registers the registry with Cluster Sharding on this node. */
  public static void init(ActorSystem<?> system) {
    ClusterSharding.get(system).init(Entity.of(ENTITY_KEY, ctx -> create()));
  }

  public static Behavior<Command> create() {
    return new Registry(PersistenceId.ofUniqueId("weir-registry"));
  }

  private Registry(PersistenceId persistenceId) {
    super(
        persistenceId,
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2));
  }

  @Override
  public State emptyState() {
    return State.empty();
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(100, 2);
  }

  private static <T> StatusReply<T> error(String code, String sentence) {
    return StatusReply.error(code + ": " + sentence);
  }

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    return newCommandHandlerWithReplyBuilder()
        .forAnyState()
        .onCommand(
            CreateDestination.class,
            (state, cmd) -> {
              if (state.destinations().containsKey(cmd.destination().id())) {
                return Effect()
                    .reply(
                        cmd.replyTo(),
                        error(
                            "destination_exists",
                            "A destination with id " + cmd.destination().id() + " exists."));
              }
              return Effect()
                  .persist(new DestinationCreated(cmd.destination()))
                  .thenReply(cmd.replyTo(), s -> StatusReply.success(cmd.destination()));
            })
        .onCommand(
            UpdateDestination.class,
            (state, cmd) -> {
              if (state.activeDestination(cmd.destination().id()).isEmpty()) {
                return Effect()
                    .reply(cmd.replyTo(), notFound("destination", cmd.destination().id()));
              }
              return Effect()
                  .persist(new DestinationUpdated(cmd.destination()))
                  .thenReply(cmd.replyTo(), s -> StatusReply.success(cmd.destination()));
            })
        .onCommand(DeleteDestination.class, this::onDeleteDestination)
        .onCommand(
            CreateConnection.class,
            (state, cmd) -> {
              Connection c = cmd.connection();
              if (state.connections().containsKey(c.id())) {
                return Effect()
                    .reply(
                        cmd.replyTo(),
                        error("connection_exists", "A connection with id " + c.id() + " exists."));
              }
              if (state.activeDestination(c.destinationId()).isEmpty()) {
                return Effect().reply(cmd.replyTo(), notFound("destination", c.destinationId()));
              }
              Optional<StatusReply<Connection>> taken = appIdTaken(state, c);
              if (taken.isPresent()) return Effect().reply(cmd.replyTo(), taken.get());
              return Effect()
                  .persist(new ConnectionCreated(c))
                  .thenReply(cmd.replyTo(), s -> StatusReply.success(c));
            })
        .onCommand(
            UpdateConnection.class,
            (state, cmd) -> {
              Connection given = cmd.connection();
              Optional<Connection> old = state.activeConnection(given.id());
              if (old.isEmpty()) {
                return Effect().reply(cmd.replyTo(), notFound("connection", given.id()));
              }
              // What syncs learnt (a connector's columns) is the registry's: an update written
              // from an older copy of the connection neither drops nor reverts it.
              ConnectorSource learnt = old.get().connector();
              Connection c =
                  learnt == null
                      ? given
                      : given.withConnector(
                          given.connector() == null
                              ? learnt
                              : given.connector().withTables(learnt.tables()));
              Optional<StatusReply<Connection>> taken = appIdTaken(state, c);
              if (taken.isPresent()) return Effect().reply(cmd.replyTo(), taken.get());
              return Effect()
                  .persist(new ConnectionUpdated(c))
                  .thenReply(cmd.replyTo(), s -> StatusReply.success(c));
            })
        .onCommand(
            DeleteConnection.class,
            (state, cmd) -> {
              if (state.activeConnection(cmd.connectionId()).isEmpty()) {
                return Effect().reply(cmd.replyTo(), notFound("connection", cmd.connectionId()));
              }
              return Effect()
                  .persist(new ConnectionDeleted(cmd.connectionId(), System.currentTimeMillis()))
                  .thenReply(
                      cmd.replyTo(),
                      s -> StatusReply.success(s.connections().get(cmd.connectionId())));
            })
        .onCommand(
            Get.class,
            (state, cmd) ->
                Effect()
                    .reply(
                        cmd.replyTo(),
                        new Listing(state.destinations(), state.connections(), state.exports())))
        .onCommand(
            LearnConnectorColumns.class,
            (state, cmd) -> {
              Optional<Connection> c = state.activeConnection(cmd.connectionId());
              if (c.isEmpty() || c.get().connector() == null) {
                return Effect().reply(cmd.replyTo(), notFound("connection", cmd.connectionId()));
              }
              if (c.get().connector().withTables(cmd.tables()).equals(c.get().connector())) {
                return Effect().reply(cmd.replyTo(), StatusReply.success(c.get()));
              }
              return Effect()
                  .persist(new ConnectorColumnsLearnt(cmd.connectionId(), cmd.tables()))
                  .thenReply(
                      cmd.replyTo(),
                      s -> StatusReply.success(s.connections().get(cmd.connectionId())));
            })
        .onCommand(CreateExport.class, this::onCreateExport)
        .onCommand(
            StopExport.class,
            (state, cmd) -> {
              Export x = state.exports().get(cmd.exportId());
              if (x == null)
                return Effect().reply(cmd.replyTo(), notFound("export", cmd.exportId()));
              if (!x.active()) return Effect().reply(cmd.replyTo(), StatusReply.success(x));
              return Effect()
                  .persist(new ExportStopped(x.id(), System.currentTimeMillis()))
                  .thenReply(cmd.replyTo(), s -> StatusReply.success(s.exports().get(x.id())));
            })
        .build();
  }

  private ReplyEffect<Event, State> onCreateExport(State state, CreateExport cmd) {
    Export x = cmd.export();
    if (state.exports().containsKey(x.id())) {
      return Effect()
          .reply(cmd.replyTo(), error("export_exists", "An export with id " + x.id() + " exists."));
    }
    if (state.activeConnection(x.connectionId()).isEmpty()) {
      return Effect().reply(cmd.replyTo(), notFound("connection", x.connectionId()));
    }
    if (state.activeDestination(x.destinationId()).isEmpty()) {
      return Effect().reply(cmd.replyTo(), notFound("destination", x.destinationId()));
    }
    return Effect()
        .persist(new ExportCreated(x))
        .thenReply(cmd.replyTo(), s -> StatusReply.success(x));
  }

  private ReplyEffect<Event, State> onDeleteDestination(State state, DeleteDestination cmd) {
    if (state.activeDestination(cmd.destinationId()).isEmpty()) {
      return Effect().reply(cmd.replyTo(), notFound("destination", cmd.destinationId()));
    }
    Optional<Connection> user =
        state.connections().values().stream()
            .filter(c -> c.active() && c.destinationId().equals(cmd.destinationId()))
            .findFirst();
    if (user.isPresent()) {
      return Effect()
          .reply(
              cmd.replyTo(),
              error(
                  "destination_in_use",
                  "Destination "
                      + cmd.destinationId()
                      + " is used by connection "
                      + user.get().id()
                      + "; delete or move that connection first."));
    }
    Optional<Export> exporter =
        state.exports().values().stream()
            .filter(x -> x.active() && x.destinationId().equals(cmd.destinationId()))
            .findFirst();
    if (exporter.isPresent()) {
      return Effect()
          .reply(
              cmd.replyTo(),
              error(
                  "destination_in_use",
                  "Destination "
                      + cmd.destinationId()
                      + " receives export "
                      + exporter.get().id()
                      + "; stop that export first."));
    }
    return Effect()
        .persist(new DestinationDeleted(cmd.destinationId(), System.currentTimeMillis()))
        .thenReply(
            cmd.replyTo(), s -> StatusReply.success(s.destinations().get(cmd.destinationId())));
  }

  /**
   * A Snowplow app id routes events to exactly one connection: checked here, where every node's
   * writes meet (a node's cache could be stale, and two nodes could both accept the same id).
   */
  private static Optional<StatusReply<Connection>> appIdTaken(State state, Connection c) {
    if (c.kind() != ConnectionKind.snowplow || c.appId() == null) return Optional.empty();
    return state.connections().values().stream()
        .filter(
            o ->
                o.active()
                    && !o.id().equals(c.id())
                    && o.kind() == ConnectionKind.snowplow
                    && c.appId().equals(o.appId()))
        .findFirst()
        .map(
            o ->
                error(
                    "app_id_in_use",
                    "Another snowplow connection ("
                        + o.id()
                        + ") already has app_id '"
                        + c.appId()
                        + "'."));
  }

  private static <T> StatusReply<T> notFound(String what, String id) {
    return error(what + "_not_found", "No " + what + " with id '" + id + "'.");
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder()
        .forAnyState()
        .onEvent(DestinationCreated.class, (state, e) -> state.with(e.destination()))
        .onEvent(DestinationUpdated.class, (state, e) -> state.with(e.destination()))
        .onEvent(
            DestinationDeleted.class,
            (state, e) -> {
              Destination d = state.destinations().get(e.destinationId());
              return state.with(
                  new Destination(
                      d.id(),
                      d.name(),
                      d.type(),
                      d.config(),
                      d.staging(),
                      d.createdAtMillis(),
                      e.atMillis()));
            })
        .onEvent(ConnectionCreated.class, (state, e) -> state.with(e.connection()))
        .onEvent(ConnectionUpdated.class, (state, e) -> state.with(e.connection()))
        .onEvent(
            ConnectionDeleted.class,
            (state, e) ->
                state.with(state.connections().get(e.connectionId()).deletedAt(e.atMillis())))
        .onEvent(
            ConnectorColumnsLearnt.class,
            (state, e) -> {
              Connection c = state.connections().get(e.connectionId());
              return c == null || c.connector() == null
                  ? state
                  : state.with(c.withConnector(c.connector().withTables(e.tables())));
            })
        .onEvent(ExportCreated.class, (state, e) -> state.with(e.export()))
        .onEvent(
            ExportStopped.class,
            (state, e) -> state.with(state.exports().get(e.exportId()).stoppedAt(e.atMillis())))
        .build();
  }
}
