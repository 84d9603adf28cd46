package weir.node.load;

import akka.Done;
import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.SupervisorStrategy;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.sharding.typed.javadsl.EntityTypeKey;
import akka.pattern.StatusReply;
import akka.persistence.typed.PersistenceId;
import akka.persistence.typed.RecoveryCompleted;
import akka.persistence.typed.javadsl.CommandHandlerWithReply;
import akka.persistence.typed.javadsl.EventHandler;
import akka.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import akka.persistence.typed.javadsl.ReplyEffect;
import akka.persistence.typed.javadsl.RetentionCriteria;
import akka.persistence.typed.javadsl.SignalHandler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import java.util.function.Supplier;
import weir.loaders.warehouse.WarehouseLoader;
import weir.persistence.registry.Destination;
import weir.node.RootCause;
import weir.node.metrics.NodeMetrics;
import weir.persistence.CborSerializable;
import weir.persistence.registry.Connection;

/**
 * The load coordinator of one destination (entity id = destination id): a persisted ledger of staged
 * batches waiting to be loaded, and the schedule that loads them.
 *
 * <p>Buffers hand batches over with {@link RecordBatch} (at-least-once; a batch already in the ledger is
 * acknowledged without a new event). Every {@code sync_interval} of a connection, or on {@link Sync},
 * the coordinator loads that connection's pending batches through its {@link BatchLoader} (one load at a
 * time per destination, off the actor), then persists {@link BatchesLoaded}, which removes them from the
 * ledger. A failed load is retried with exponential backoff and never drops a batch; a load that
 * committed but whose {@link BatchesLoaded} was lost is repeated harmlessly, because the warehouse
 * records batch ids in {@code _weir_loads} in the same transaction as the rows. A permanent failure (bad
 * credentials, missing permission) pauses the destination's loads, shown in status, until its registry entry
 * changes or a sync is requested; batches stay in the ledger meanwhile.
 */
public final class LoadCoordinator
    extends EventSourcedBehaviorWithEnforcedReplies<LoadCoordinator.Command, LoadCoordinator.Event,
        LoadCoordinator.State> {

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "LoadCoordinator");

  /** Loads one connection's batches into the destination; blocking work runs off the actor. */
  public interface BatchLoader {
    /** Completes with the rows inserted, or fails having committed nothing. */
    CompletionStage<LoadOutcome> load(Connection connection, List<StagedBatch> batches);

    /** Drops the tables or period of {@code request} and reloads them from the staging archive, atomically. */
    CompletionStage<LoadOutcome> reload(Connection connection, ResyncRequest request);
  }

  /** Tables (and an optional UTC day range, ISO dates) of a connection to rebuild from the archive. */
  public record ResyncRequest(String connectionId, List<String> tables, String from, String to)
      implements CborSerializable {}

  /** What a load committed: the batch ids now recorded in the warehouse, and the new rows. */
  public record LoadOutcome(List<String> batchIds, long rowsInserted) {}

  // ---- protocol ----

  public sealed interface Command extends CborSerializable {}

  /** Add a staged batch to the ledger; replies once it is persisted. */
  public record RecordBatch(StagedBatch batch, ActorRef<StatusReply<Done>> replyTo) implements Command {}

  /**
   * Load now: the pending batches of {@code connectionId} (or of every connection when null). With
   * {@code awaitLoaded}, replies once those connections have no pending batch (or with an error when a
   * load of them fails); otherwise replies at once that the sync has started.
   */
  public record Sync(String connectionId, boolean awaitLoaded, ActorRef<StatusReply<Done>> replyTo)
      implements Command {}

  /** Queue a resync; replies at once that it is queued (it runs between loads, retried on failure). */
  public record Resync(ResyncRequest request, ActorRef<StatusReply<Done>> replyTo) implements Command {}

  /** Start the entity without other effect. */
  public record Wake() implements Command {}

  /** Read the figures of one connection. */
  public record GetStatus(String connectionId, ActorRef<ConnectionLoadStatus> replyTo) implements Command {}

  /** Load figures of one connection. */
  public record ConnectionLoadStatus(int pendingBatches, long pendingRows, long loadedRowsTotal,
      long lastSyncAtMillis, long nextSyncAtMillis, String lastError, int resyncsPending, boolean paused)
      implements CborSerializable {}

  private enum Tick implements Command { INSTANCE }

  private record LoadSucceeded(String connectionId, LoadOutcome outcome) implements Command {}

  private record LoadFailed(String connectionId, String reason, boolean permanent) implements Command {}

  private record ResyncSucceeded(ResyncRequest request, LoadOutcome outcome) implements Command {}

  // ---- journal ----

  public sealed interface Event extends CborSerializable {}

  public record BatchRecorded(StagedBatch batch) implements Event {}

  /** The batches are committed in the warehouse (rows: new rows inserted by this load). */
  public record BatchesLoaded(String connectionId, List<String> batchIds, long rows, long atMillis)
      implements Event {}

  /** Per-connection load figures. */
  public record ConnectionLedger(long loadedRowsTotal, long lastSyncAtMillis) implements CborSerializable {}

  /** Immutable state: pending batches by id (oldest first) and per-connection figures. */
  public record State(Map<String, StagedBatch> pending, Map<String, ConnectionLedger> connections)
      implements CborSerializable {
    static State empty() {
      return new State(Map.of(), Map.of());
    }

    State recorded(BatchRecorded e) {
      Map<String, StagedBatch> next = new LinkedHashMap<>(pending);
      next.put(e.batch().batchId(), e.batch());
      return new State(next, connections);
    }

    State loaded(BatchesLoaded e) {
      Map<String, StagedBatch> next = new LinkedHashMap<>(pending);
      e.batchIds().forEach(next::remove);
      Map<String, ConnectionLedger> figures = new HashMap<>(connections);
      ConnectionLedger before = connections.getOrDefault(e.connectionId(), new ConnectionLedger(0, 0));
      figures.put(e.connectionId(), new ConnectionLedger(before.loadedRowsTotal() + e.rows(), e.atMillis()));
      return new State(next, figures);
    }

    List<StagedBatch> pendingOf(String connectionId) {
      return pending.values().stream().filter(b -> b.connectionId().equals(connectionId)).toList();
    }
  }

  // ---- behaviour ----

  /**
   * @param destination the destination's current registry entry (a change lifts a pause after a permanent
   *     failure)
   */
  public static Behavior<Command> create(String destinationId, LoadSettings settings,
      Function<String, Optional<Connection>> connections, Supplier<Optional<Destination>> destination,
      BatchLoader loader, NodeMetrics metrics) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      timers.startTimerWithFixedDelay(Tick.INSTANCE, settings.tickInterval());
      return new LoadCoordinator(ctx, destinationId, settings, connections, destination, loader, metrics);
    }));
  }

  private final ActorContext<Command> ctx;
  private final String destinationId;
  private final LoadSettings settings;
  /** Connections whose last load took only the first max-batches-per-load batches of a backlog. */
  private final java.util.Set<String> catchingUp = new java.util.HashSet<>();
  private final Function<String, Optional<Connection>> connections;
  private final BatchLoader loader;
  private final Supplier<Optional<Destination>> destination;
  private final NodeMetrics metrics;
  /** Set after a permanent failure: the destination entry it happened with. Loads wait for a change. */
  private Optional<Destination> pausedWith;
  private long loadStartedNanos;
  private final long startedAtMillis = System.currentTimeMillis();

  // Work in progress, redone after a restart.
  private String loadingConnection;
  private final Map<String, Boolean> syncRequested = new HashMap<>();
  private boolean syncAllRequested;
  private final List<Waiter> waiters = new ArrayList<>();
  private final List<ResyncRequest> resyncs = new ArrayList<>();
  private int failures;
  private long retryAtMillis;
  private final Map<String, String> lastErrors = new HashMap<>();

  private record Waiter(String connectionId, ActorRef<StatusReply<Done>> replyTo) {}

  private LoadCoordinator(ActorContext<Command> ctx, String destinationId, LoadSettings settings,
      Function<String, Optional<Connection>> connections, Supplier<Optional<Destination>> destination,
      BatchLoader loader, NodeMetrics metrics) {
    super(PersistenceId.of(ENTITY_KEY.name(), destinationId),
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(10), 0.2));
    this.ctx = ctx;
    this.destinationId = destinationId;
    this.settings = settings;
    this.connections = connections;
    this.loader = loader;
    this.destination = destination;
    this.metrics = metrics;
  }

  @Override
  public State emptyState() {
    return State.empty();
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(settings.snapshotEvery(), 2).withDeleteEventsOnSnapshot();
  }

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), state -> {
          if (!state.pending().isEmpty()) {
            ctx.getLog().info("Load coordinator {} recovered with {} pending batches", destinationId,
                state.pending().size());
          }
        })
        .build();
  }

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    return newCommandHandlerWithReplyBuilder()
        .forAnyState()
        .onCommand(RecordBatch.class, (state, cmd) -> {
          if (state.pending().containsKey(cmd.batch().batchId())) {
            return Effect().reply(cmd.replyTo(), StatusReply.ack());
          }
          return Effect().persist(new BatchRecorded(cmd.batch())).thenReply(cmd.replyTo(), s -> StatusReply.ack());
        })
        .onCommand(Sync.class, (state, cmd) -> {
          if (cmd.connectionId() == null) syncAllRequested = true;
          else syncRequested.put(cmd.connectionId(), true);
          if (cmd.awaitLoaded()) waiters.add(new Waiter(cmd.connectionId(), cmd.replyTo()));
          else cmd.replyTo().tell(StatusReply.ack());
          retryAtMillis = 0;
          pausedWith = null;
          progress(state);
          return Effect().noReply();
        })
        .onCommand(Resync.class, (state, cmd) -> {
          resyncs.add(cmd.request());
          retryAtMillis = 0;
          progress(state);
          return Effect().reply(cmd.replyTo(), StatusReply.ack());
        })
        .onCommand(ResyncSucceeded.class, (state, cmd) -> {
          loadingConnection = null;
          failures = 0;
          resyncs.remove(cmd.request());
          lastErrors.remove(cmd.request().connectionId());
          ctx.getLog().info("Resync of connection {} tables {} ({} .. {}) done: {} batches reloaded, {} rows",
              cmd.request().connectionId(), cmd.request().tables(), cmd.request().from(), cmd.request().to(),
              cmd.outcome().batchIds().size(), cmd.outcome().rowsInserted());
          progress(state);
          return Effect().noReply();
        })
        .onCommand(Wake.class, (state, cmd) -> Effect().noReply())
        .onCommand(GetStatus.class, (state, cmd) -> Effect().reply(cmd.replyTo(), status(state, cmd.connectionId())))
        .onCommand(Tick.class, (state, cmd) -> {
          progress(state);
          return Effect().noReply();
        })
        .onCommand(LoadSucceeded.class, this::onLoadSucceeded)
        .onCommand(LoadFailed.class, (state, cmd) -> {
          loadingConnection = null;
          failures++;
          metrics.increment("weir_retries_total", 1, "stage", "load");
          // Exponential backoff, but never waiting longer than the connection's sync interval: a warehouse that
          // comes back is caught up within one sync interval, as users expect from the schedule.
          Duration delay = settings.retry().delay(failures);
          Duration interval = connections.apply(cmd.connectionId())
              .map(c -> Duration.ofSeconds(c.syncIntervalSeconds())).orElse(delay);
          if (interval.compareTo(delay) < 0) delay = interval;
          retryAtMillis = System.currentTimeMillis() + delay.toMillis();
          if (cmd.permanent()) {
            pausedWith = destination.get();
            lastErrors.put(cmd.connectionId(), "loads paused until the destination's settings change: " + cmd.reason());
            ctx.getLog().error("Load of connection {} into {} failed permanently; loads of this destination are paused "
                + "until its settings change: {}", cmd.connectionId(), destinationId, cmd.reason());
          } else {
            lastErrors.put(cmd.connectionId(), cmd.reason());
            ctx.getLog().warn("Load of connection {} into {} failed (attempt {}), retrying in {} ms: {}",
                cmd.connectionId(), destinationId, failures, delay.toMillis(), cmd.reason());
          }
          List<Waiter> failed = waiters.stream()
              .filter(w -> w.connectionId() == null || w.connectionId().equals(cmd.connectionId())).toList();
          failed.forEach(w -> w.replyTo().tell(StatusReply.error("load failed: " + cmd.reason())));
          waiters.removeAll(failed);
          return Effect().noReply();
        })
        .build();
  }

  private ReplyEffect<Event, State> onLoadSucceeded(State state, LoadSucceeded cmd) {
    loadingConnection = null;
    failures = 0;
    retryAtMillis = 0;
    lastErrors.remove(cmd.connectionId());
    metrics.observe("weir_load_seconds", (System.nanoTime() - loadStartedNanos) / 1e9, "destination", destinationId);
    metrics.increment("weir_loaded_rows_total", cmd.outcome().rowsInserted(), "connection", cmd.connectionId());
    ctx.getLog().info("Loaded {} batches of connection {} into {}: {} new rows", cmd.outcome().batchIds().size(),
        cmd.connectionId(), destinationId, cmd.outcome().rowsInserted());
    return Effect()
        .persist(new BatchesLoaded(cmd.connectionId(), cmd.outcome().batchIds(), cmd.outcome().rowsInserted(),
            System.currentTimeMillis()))
        .thenRun(this::progress)
        .thenNoReply();
  }

  private void progress(State state) {
    long now = System.currentTimeMillis();
    if (pausedWith != null && !pausedWith.equals(destination.get())) {
      ctx.getLog().info("Destination {} changed: loads resume", destinationId);
      pausedWith = null;
      retryAtMillis = 0;
    }
    metrics.set("weir_pending_batches", state.pending().size(), "destination", destinationId);
    long oldest = state.pending().values().stream().mapToLong(StagedBatch::stagedAtMillis).min().orElse(now);
    metrics.set("weir_load_lag_seconds", Math.max(0, now - oldest) / 1000, "destination", destinationId);
    boolean mayStart = loadingConnection == null && now >= retryAtMillis && pausedWith == null;
    if (mayStart && !resyncs.isEmpty()) {
      startResync(resyncs.get(0));
    }
    if (loadingConnection == null && now >= retryAtMillis && pausedWith == null) {
      for (String connectionId : connectionsWithPending(state)) {
        Optional<Connection> connection = connections.apply(connectionId);
        if (connection.isEmpty()) {
          lastErrors.put(connectionId, "connection not in the registry cache yet");
          continue;
        }
        if (loadDue(state, connection.get(), now)) {
          startLoad(state, connection.get());
          break;
        }
      }
    }
    answerWaiters(state);
  }

  private boolean loadDue(State state, Connection c, long now) {
    return syncAllRequested || syncRequested.containsKey(c.id()) || catchingUp.contains(c.id())
        || now >= nextSyncAt(state, c);
  }

  private long nextSyncAt(State state, Connection c) {
    ConnectionLedger ledger = state.connections().get(c.id());
    long last = ledger == null || ledger.lastSyncAtMillis() == 0 ? startedAtMillis : ledger.lastSyncAtMillis();
    return last + c.syncIntervalSeconds() * 1000L;
  }

  private static List<String> connectionsWithPending(State state) {
    return state.pending().values().stream().map(StagedBatch::connectionId).distinct().toList();
  }

  private void startLoad(State state, Connection connection) {
    List<StagedBatch> batches = state.pendingOf(connection.id());
    if (batches.size() > settings.maxBatchesPerLoad()) {
      batches = batches.subList(0, settings.maxBatchesPerLoad());
      // A backlog (after an outage): the next load follows this one at once, not a sync interval later.
      catchingUp.add(connection.id());
    } else {
      catchingUp.remove(connection.id());
    }
    loadingConnection = connection.id();
    loadStartedNanos = System.nanoTime();
    String connectionId = connection.id();
    CompletionStage<LoadOutcome> result;
    try {
      result = loader.load(connection, List.copyOf(batches));
    } catch (RuntimeException e) {
      result = java.util.concurrent.CompletableFuture.failedFuture(e);
    }
    ctx.pipeToSelf(result, (outcome, error) -> error == null
        ? new LoadSucceeded(connectionId, outcome)
        : new LoadFailed(connectionId, RootCause.describe(error), permanent(error)));
  }

  /** A failure a retry cannot fix: the loader said so. */
  private static boolean permanent(Throwable error) {
    return RootCause.of(error) instanceof WarehouseLoader.LoadException e && !e.transientFailure();
  }

  private void startResync(ResyncRequest request) {
    Optional<Connection> connection = connections.apply(request.connectionId());
    if (connection.isEmpty()) {
      resyncs.remove(request);
      ctx.getLog().warn("Resync of unknown connection {} dropped", request.connectionId());
      return;
    }
    loadingConnection = request.connectionId();
    CompletionStage<LoadOutcome> result;
    try {
      result = loader.reload(connection.get(), request);
    } catch (RuntimeException e) {
      result = java.util.concurrent.CompletableFuture.failedFuture(e);
    }
    ctx.pipeToSelf(result, (outcome, error) -> error == null
        ? new ResyncSucceeded(request, outcome)
        : new LoadFailed(request.connectionId(), "resync: " + RootCause.describe(error), permanent(error)));
  }

  private void answerWaiters(State state) {
    if (waiters.isEmpty() && !syncAllRequested && syncRequested.isEmpty()) return;
    syncRequested.keySet().removeIf(id -> state.pendingOf(id).isEmpty() && !id.equals(loadingConnection));
    if (syncAllRequested && state.pending().isEmpty() && loadingConnection == null) syncAllRequested = false;
    List<Waiter> done = waiters.stream().filter(w -> loadingConnection == null || w.connectionId() != null
            && !w.connectionId().equals(loadingConnection))
        .filter(w -> w.connectionId() == null ? state.pending().isEmpty() : state.pendingOf(w.connectionId()).isEmpty())
        .toList();
    done.forEach(w -> w.replyTo().tell(StatusReply.ack()));
    waiters.removeAll(done);
  }

  private ConnectionLoadStatus status(State state, String connectionId) {
    List<StagedBatch> pending = state.pendingOf(connectionId);
    ConnectionLedger ledger = state.connections().getOrDefault(connectionId, new ConnectionLedger(0, 0));
    long next = connections.apply(connectionId).map(c -> nextSyncAt(state, c)).orElse(0L);
    return new ConnectionLoadStatus(pending.size(), pending.stream().mapToLong(StagedBatch::rows).sum(),
        ledger.loadedRowsTotal(), ledger.lastSyncAtMillis(), next, lastErrors.get(connectionId),
        (int) resyncs.stream().filter(r -> r.connectionId().equals(connectionId)).count(), pausedWith != null);
  }


  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder()
        .forAnyState()
        .onEvent(BatchRecorded.class, State::recorded)
        .onEvent(BatchesLoaded.class, State::loaded)
        .build();
  }
}
