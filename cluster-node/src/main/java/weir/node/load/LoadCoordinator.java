package weir.node.load;

import akka.Done;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.actor.typed.SupervisorStrategy;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.sharding.typed.javadsl.Entity;
import akka.cluster.sharding.typed.javadsl.EntityTypeKey;
import akka.pattern.StatusReply;
import akka.persistence.typed.PersistenceId;
import akka.persistence.typed.RecoveryCompleted;
import akka.persistence.typed.SnapshotCompleted;
import akka.persistence.typed.javadsl.CommandHandlerWithReply;
import akka.persistence.typed.javadsl.EventHandler;
import akka.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import akka.persistence.typed.javadsl.ReplyEffect;
import akka.persistence.typed.javadsl.SignalHandler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import java.util.function.Supplier;
import weir.loaders.warehouse.WarehouseLoader;
import weir.node.RootCause;
import weir.node.metrics.NodeMetrics;
import weir.persistence.CborSerializable;
import weir.persistence.JournalRetention;
import weir.persistence.registry.Connection;
import weir.persistence.registry.Destination;

/**
 * The load coordinator of one destination (entity id = destination id): a persisted ledger of
 * staged batches waiting to be loaded, the resyncs asked for, and the schedule that runs them.
 *
 * <p>Buffers hand batches over with {@link RecordBatch} (at-least-once; a batch already in the
 * ledger is acknowledged without a new event). Every {@code sync_interval} of a connection, or on
 * {@link Sync}, the coordinator loads that connection's pending batches through its {@link
 * BatchLoader} (one load at a time per destination, off the actor), then persists {@link
 * BatchesLoaded}, which removes them from the ledger. A load that committed but whose {@link
 * BatchesLoaded} was lost is repeated harmlessly, because the warehouse records batch ids in {@code
 * _weir_loads} in the same transaction as the rows.
 *
 * <p>Failures, by their reach: a transient one (the warehouse is down) is retried with exponential
 * backoff, capped at the connection's sync interval, for that connection alone — the destination's
 * other connections go on, in turn (the connection waiting longest goes first). A batch that can
 * never load (a staged file is missing) is set aside as failed ({@link BatchFailed}), named with
 * its file in the status, and the rest loads; {@link Sync} of its connection tries it again (after
 * the file was restored). A failure of the destination itself (credentials, permissions, a missing
 * database) pauses the destination, shown in status, until its registry entry changes or a sync is
 * requested; batches stay in the ledger meanwhile. Rows a warehouse cannot store are no failure:
 * the loaders make them dead letters.
 *
 * <p>Resyncs are persisted before they are acknowledged ({@link ResyncRequested}, so a 202 survives
 * a restart or a rebalance), run between loads, retried with their own backoff, and one that fails
 * permanently is kept as failed, visible in status and removable ({@link CancelResync}); loads go
 * on meanwhile.
 *
 * <p>Snapshots are taken after each load (the ledger is smallest then) and the journal before them
 * is deleted.
 */
public final class LoadCoordinator
    extends EventSourcedBehaviorWithEnforcedReplies<
        LoadCoordinator.Command, LoadCoordinator.Event, LoadCoordinator.State> {

  public static final EntityTypeKey<Command> ENTITY_KEY =
      EntityTypeKey.create(Command.class, "LoadCoordinator");

  /** Loads one connection's batches into the destination; blocking work runs off the actor. */
  public interface BatchLoader {
    /** Completes with the rows inserted, or fails having committed nothing. */
    CompletionStage<LoadOutcome> load(Connection connection, List<StagedBatch> batches);

    /**
     * Drops the tables or period of {@code request} and reloads them from the staging archive,
     * atomically.
     */
    CompletionStage<LoadOutcome> reload(Connection connection, ResyncRequest request);
  }

  /**
   * Tables (and an optional UTC day range, ISO dates) of a connection to rebuild from the archive.
   */
  public record ResyncRequest(String connectionId, List<String> tables, String from, String to)
      implements CborSerializable {}

  /**
   * What a load committed: the batch ids now recorded in the warehouse, the new rows, and the rows
   * the warehouse could not store (loaded as dead letters instead).
   */
  public record LoadOutcome(List<String> batchIds, long rowsInserted, long rowsRejected) {
    public LoadOutcome(List<String> batchIds, long rowsInserted) {
      this(batchIds, rowsInserted, 0);
    }
  }

  /** A batch that can never load as it is; the failure names it. */
  public static final class BatchFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final String batchId;

    public BatchFailure(String batchId, String message) {
      super(message, null, false, false);
      this.batchId = batchId;
    }

    public String batchId() {
      return batchId;
    }
  }

  // ---- protocol ----

  public sealed interface Command extends CborSerializable {}

  /** Add a staged batch to the ledger; replies once it is persisted. */
  public record RecordBatch(StagedBatch batch, ActorRef<StatusReply<Done>> replyTo)
      implements Command {}

  /**
   * Load now: the pending batches of {@code connectionId} (or of every connection when null), after
   * moving its failed batches back to pending. With {@code awaitLoaded}, replies once those
   * connections have no pending batch (or with an error when a load of them fails); otherwise
   * replies at once that the sync has started.
   */
  public record Sync(String connectionId, boolean awaitLoaded, ActorRef<StatusReply<Done>> replyTo)
      implements Command {}

  /**
   * Queue a resync; replies with its id once it is persisted (it runs between loads, retried on
   * failure).
   */
  public record Resync(ResyncRequest request, ActorRef<StatusReply<String>> replyTo)
      implements Command {}

  /** Remove a queued or failed resync. */
  public record CancelResync(
      String connectionId, String resyncId, ActorRef<StatusReply<Done>> replyTo)
      implements Command {}

  /** Start the entity without other effect. */
  public record Wake() implements Command {}

  /** Read the figures of one connection. */
  public record GetStatus(String connectionId, ActorRef<ConnectionLoadStatus> replyTo)
      implements Command {}

  /** A resync as the status shows it. */
  public record ResyncView(
      String id,
      List<String> tables,
      String from,
      String to,
      long requestedAtMillis,
      int attempts,
      String lastError,
      boolean failed)
      implements CborSerializable {}

  /** A failed batch as the status shows it. */
  public record FailedBatchView(String batchId, String reason, long atMillis)
      implements CborSerializable {}

  /**
   * One load attempt of a connection, as the status shows it (kept in memory, the last {@link
   * #RECENT_LOADS}; a restarted coordinator starts an empty list).
   *
   * @param error null when the load committed
   */
  public record LoadView(
      long atMillis,
      long durationMillis,
      int batches,
      long events,
      long rowsInserted,
      long rowsRejected,
      String error)
      implements CborSerializable {}

  /** How many load attempts per connection the status lists. */
  static final int RECENT_LOADS = 10;

  /** Load figures of one connection. */
  public record ConnectionLoadStatus(
      int pendingBatches,
      long pendingRows,
      long loadedRowsTotal,
      long lastSyncAtMillis,
      long nextSyncAtMillis,
      String lastError,
      int resyncsPending,
      boolean paused,
      List<ResyncView> resyncs,
      List<FailedBatchView> failedBatches,
      long loadedEventsTotal,
      long rejectedRowsTotal,
      List<LoadView> recentLoads)
      implements CborSerializable {
    public ConnectionLoadStatus {
      // A member of the previous version answers without the field (a rolling upgrade).
      if (recentLoads == null) recentLoads = List.of();
    }
  }

  private enum Tick implements Command {
    INSTANCE
  }

  private record LoadSucceeded(String connectionId, LoadOutcome outcome, long events)
      implements Command {}

  private record LoadFailed(String connectionId, Throwable error) implements Command {}

  private record ResyncSucceeded(String resyncId, LoadOutcome outcome) implements Command {}

  private record ResyncAttemptFailed(String resyncId, Throwable error) implements Command {}

  // ---- journal (a contract: fields may be added, never renamed or removed) ----

  public sealed interface Event extends CborSerializable {}

  public record BatchRecorded(StagedBatch batch) implements Event {}

  /**
   * The batches are committed in the warehouse (rows: new rows inserted by this load; events: the
   * events of the batches; rejected: rows the warehouse refused, loaded as dead letters; the last
   * two null in events persisted before they were counted).
   */
  public record BatchesLoaded(
      String connectionId,
      List<String> batchIds,
      long rows,
      long atMillis,
      Long events,
      Long rejected)
      implements Event {}

  /**
   * A pending batch can never load as it is (a staged file is missing): set aside with the reason.
   */
  public record BatchFailed(String batchId, String reason, long atMillis) implements Event {}

  /** A failed batch is pending again (its connection was synced, after its files were restored). */
  public record BatchRetried(String batchId) implements Event {}

  /** A resync was asked for (persisted before the 202). */
  public record ResyncRequested(String resyncId, ResyncRequest request, long atMillis)
      implements Event {}

  /** A resync is done. */
  public record ResyncFinished(String resyncId) implements Event {}

  /** A resync failed in a way a retry cannot fix; it stays, failed, until cancelled. */
  public record ResyncFailed(String resyncId, String reason) implements Event {}

  /** A resync was removed. */
  public record ResyncCancelled(String resyncId) implements Event {}

  /** Per-connection load figures (the last two null in states persisted before they were kept). */
  public record ConnectionTotals(
      long loadedRowsTotal, long lastSyncAtMillis, Long loadedEventsTotal, Long rejectedRowsTotal)
      implements CborSerializable {
    long events() {
      return loadedEventsTotal == null ? 0 : loadedEventsTotal;
    }

    long rejected() {
      return rejectedRowsTotal == null ? 0 : rejectedRowsTotal;
    }
  }

  /** A batch set aside. */
  public record FailedBatch(StagedBatch batch, String reason, long atMillis)
      implements CborSerializable {}

  /** A resync waiting to run (or failed, with its reason). */
  public record PendingResync(
      String id, ResyncRequest request, long requestedAtMillis, String failure)
      implements CborSerializable {}

  /**
   * Immutable state: pending batches by id (oldest first), per-connection figures, failed batches,
   * resyncs (oldest first). Snapshots written before failed batches and resyncs were persisted read
   * too (they are empty).
   */
  public record State(
      Map<String, StagedBatch> pending,
      Map<String, ConnectionTotals> connections,
      Map<String, FailedBatch> failed,
      Map<String, PendingResync> resyncs)
      implements CborSerializable {
    public State {
      pending = pending == null ? Map.of() : pending;
      connections = connections == null ? Map.of() : connections;
      failed = failed == null ? Map.of() : failed;
      resyncs = resyncs == null ? Map.of() : resyncs;
    }

    static State empty() {
      return new State(Map.of(), Map.of(), Map.of(), Map.of());
    }

    State recorded(BatchRecorded e) {
      Map<String, StagedBatch> next = new LinkedHashMap<>(pending);
      next.put(e.batch().batchId(), e.batch());
      return new State(next, connections, failed, resyncs);
    }

    State loaded(BatchesLoaded e) {
      Map<String, StagedBatch> next = new LinkedHashMap<>(pending);
      e.batchIds().forEach(next::remove);
      Map<String, FailedBatch> nextFailed = failed;
      if (e.batchIds().stream().anyMatch(failed::containsKey)) {
        nextFailed = new LinkedHashMap<>(failed);
        e.batchIds().forEach(nextFailed::remove);
      }
      Map<String, ConnectionTotals> figures = new HashMap<>(connections);
      ConnectionTotals before =
          connections.getOrDefault(e.connectionId(), new ConnectionTotals(0, 0, 0L, 0L));
      figures.put(
          e.connectionId(),
          new ConnectionTotals(
              before.loadedRowsTotal() + e.rows(),
              e.atMillis(),
              before.events() + (e.events() == null ? 0 : e.events()),
              before.rejected() + (e.rejected() == null ? 0 : e.rejected())));
      return new State(next, figures, nextFailed, resyncs);
    }

    State batchFailed(BatchFailed e) {
      StagedBatch b = pending.get(e.batchId());
      if (b == null) return this;
      Map<String, StagedBatch> next = new LinkedHashMap<>(pending);
      next.remove(e.batchId());
      Map<String, FailedBatch> nextFailed = new LinkedHashMap<>(failed);
      nextFailed.put(e.batchId(), new FailedBatch(b, e.reason(), e.atMillis()));
      return new State(next, connections, nextFailed, resyncs);
    }

    State batchRetried(BatchRetried e) {
      FailedBatch f = failed.get(e.batchId());
      if (f == null) return this;
      Map<String, FailedBatch> nextFailed = new LinkedHashMap<>(failed);
      nextFailed.remove(e.batchId());
      Map<String, StagedBatch> next = new LinkedHashMap<>(pending);
      next.put(e.batchId(), f.batch());
      return new State(next, connections, nextFailed, resyncs);
    }

    State resync(ResyncRequested e) {
      Map<String, PendingResync> next = new LinkedHashMap<>(resyncs);
      next.put(e.resyncId(), new PendingResync(e.resyncId(), e.request(), e.atMillis(), null));
      return new State(pending, connections, failed, next);
    }

    State resyncGone(String resyncId) {
      Map<String, PendingResync> next = new LinkedHashMap<>(resyncs);
      next.remove(resyncId);
      return new State(pending, connections, failed, next);
    }

    State resyncFailed(ResyncFailed e) {
      PendingResync r = resyncs.get(e.resyncId());
      if (r == null) return this;
      Map<String, PendingResync> next = new LinkedHashMap<>(resyncs);
      next.put(
          e.resyncId(), new PendingResync(r.id(), r.request(), r.requestedAtMillis(), e.reason()));
      return new State(pending, connections, failed, next);
    }

    List<StagedBatch> pendingOf(String connectionId) {
      return pending.values().stream().filter(b -> b.connectionId().equals(connectionId)).toList();
    }

    /** The oldest resync of the connection that has not failed. */
    Optional<PendingResync> nextResyncOf(String connectionId) {
      return resyncs.values().stream()
          .filter(r -> r.failure() == null && r.request().connectionId().equals(connectionId))
          .findFirst();
    }
  }

  // ---- behaviour ----

  /** Registers the coordinators with Cluster Sharding on this node. */
  public static void init(
      ActorSystem<?> system,
      LoadSettings settings,
      Function<String, Optional<Connection>> connections,
      Function<String, Optional<Destination>> destinations,
      BatchLoader loader,
      JournalRetention retention,
      NodeMetrics metrics) {
    ClusterSharding.get(system)
        .init(
            Entity.of(
                ENTITY_KEY,
                ctx ->
                    create(
                        ctx.getEntityId(),
                        settings,
                        connections,
                        () -> destinations.apply(ctx.getEntityId()),
                        loader,
                        retention,
                        metrics)));
  }

  /**
   * @param destination the destination's current registry entry (a change lifts a pause after a
   *     permanent failure)
   */
  public static Behavior<Command> create(
      String destinationId,
      LoadSettings settings,
      Function<String, Optional<Connection>> connections,
      Supplier<Optional<Destination>> destination,
      BatchLoader loader,
      JournalRetention retention,
      NodeMetrics metrics) {
    return Behaviors.setup(
        ctx ->
            Behaviors.withTimers(
                timers -> {
                  timers.startTimerWithFixedDelay(Tick.INSTANCE, settings.tickInterval());
                  return new LoadCoordinator(
                      ctx,
                      destinationId,
                      settings,
                      connections,
                      destination,
                      loader,
                      retention,
                      metrics);
                }));
  }

  /**
   * What this coordinator remembers, in memory, of one connection's attempts (redone after a
   * restart).
   */
  private static final class Attempts {
    int failures;
    long retryAtMillis;
    String lastError;
    long lastStartedAtMillis;
    boolean syncRequested;

    /**
     * The last load took only the first max-batches-per-load batches of a backlog: load again at
     * once.
     */
    boolean catchingUp;

    /** The last load attempts, newest first. */
    final java.util.ArrayDeque<LoadView> recent = new java.util.ArrayDeque<>();

    void loaded(LoadView view) {
      recent.addFirst(view);
      while (recent.size() > RECENT_LOADS) recent.removeLast();
    }
  }

  private final ActorContext<Command> ctx;
  private final String destinationId;
  private final LoadSettings settings;
  private final Function<String, Optional<Connection>> connections;
  private final BatchLoader loader;
  private final Supplier<Optional<Destination>> destination;
  private final JournalRetention retention;
  private final NodeMetrics metrics;
  private final long startedAtMillis = System.currentTimeMillis();

  // Work in progress, redone after a restart.
  /**
   * Set after a destination-level permanent failure: the entry it happened with. Loads wait for a
   * change.
   */
  private Optional<Destination> pausedWith;

  private String pausedReason;

  /** The connection being loaded (or resynced), or null. */
  private String inFlight;

  private long loadStartedNanos;
  private boolean syncAllRequested;
  private final Map<String, Attempts> attempts = new HashMap<>();
  private final Map<String, Attempts> resyncAttempts = new HashMap<>();
  private final List<Waiter> waiters = new ArrayList<>();

  private record Waiter(String connectionId, ActorRef<StatusReply<Done>> replyTo) {}

  private LoadCoordinator(
      ActorContext<Command> ctx,
      String destinationId,
      LoadSettings settings,
      Function<String, Optional<Connection>> connections,
      Supplier<Optional<Destination>> destination,
      BatchLoader loader,
      JournalRetention retention,
      NodeMetrics metrics) {
    super(
        PersistenceId.of(ENTITY_KEY.name(), destinationId),
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(10), 0.2));
    this.ctx = ctx;
    this.destinationId = destinationId;
    this.settings = settings;
    this.connections = connections;
    this.loader = loader;
    this.destination = destination;
    this.retention = retention;
    this.metrics = metrics;
    this.pausedWith = null;
  }

  @Override
  public State emptyState() {
    return State.empty();
  }

  @Override
  public boolean shouldSnapshot(State state, Event event, long sequenceNr) {
    return event instanceof BatchesLoaded;
  }

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(
            RecoveryCompleted.instance(),
            state -> {
              if (!state.pending().isEmpty() || !state.resyncs().isEmpty()) {
                ctx.getLog()
                    .info(
                        "Load coordinator {} recovered with {} pending batches, {} resyncs, {} failed batches",
                        destinationId,
                        state.pending().size(),
                        state.resyncs().size(),
                        state.failed().size());
              }
            })
        .onSignal(
            SnapshotCompleted.class,
            (state, done) ->
                retention.deleteBefore(
                    done.metadata().persistenceId(), done.metadata().sequenceNr()))
        .build();
  }

  private Attempts attempts(String connectionId) {
    return attempts.computeIfAbsent(connectionId, id -> new Attempts());
  }

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    return newCommandHandlerWithReplyBuilder()
        .forAnyState()
        .onCommand(
            RecordBatch.class,
            (state, cmd) -> {
              String id = cmd.batch().batchId();
              if (state.pending().containsKey(id) || state.failed().containsKey(id)) {
                return Effect().reply(cmd.replyTo(), StatusReply.ack());
              }
              return Effect()
                  .persist(new BatchRecorded(cmd.batch()))
                  .thenReply(cmd.replyTo(), s -> StatusReply.ack());
            })
        .onCommand(Sync.class, this::onSync)
        .onCommand(
            Resync.class,
            (state, cmd) -> {
              String id =
                  "r_"
                      + Long.toString(System.currentTimeMillis(), 36)
                      + "_"
                      + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 20), 36);
              return Effect()
                  .persist(new ResyncRequested(id, cmd.request(), System.currentTimeMillis()))
                  .thenRun(this::progress)
                  .thenReply(cmd.replyTo(), s -> StatusReply.success(id));
            })
        .onCommand(
            CancelResync.class,
            (state, cmd) -> {
              PendingResync r = state.resyncs().get(cmd.resyncId());
              if (r == null || !r.request().connectionId().equals(cmd.connectionId())) {
                return Effect()
                    .reply(
                        cmd.replyTo(),
                        StatusReply.error(
                            "resync_not_found: No resync with id '"
                                + cmd.resyncId()
                                + "' for this connection."));
              }
              if (cmd.resyncId().equals(inFlightResync)) {
                return Effect()
                    .reply(
                        cmd.replyTo(),
                        StatusReply.error(
                            "resync_running: Resync "
                                + cmd.resyncId()
                                + " is running now; it cannot be removed until it ends."));
              }
              resyncAttempts.remove(cmd.resyncId());
              return Effect()
                  .persist(new ResyncCancelled(cmd.resyncId()))
                  .thenReply(cmd.replyTo(), s -> StatusReply.ack());
            })
        .onCommand(
            ResyncSucceeded.class,
            (state, cmd) -> {
              inFlight = null;
              inFlightResync = null;
              resyncAttempts.remove(cmd.resyncId());
              PendingResync r = state.resyncs().get(cmd.resyncId());
              if (r != null) {
                ctx.getLog()
                    .info(
                        "Resync of connection {} tables {} ({} .. {}) done: {} batches reloaded, {} rows ({})",
                        r.request().connectionId(),
                        r.request().tables(),
                        r.request().from(),
                        r.request().to(),
                        cmd.outcome().batchIds().size(),
                        cmd.outcome().rowsInserted(),
                        r.id());
              }
              return Effect()
                  .persist(new ResyncFinished(cmd.resyncId()))
                  .thenRun(this::progress)
                  .thenNoReply();
            })
        .onCommand(ResyncAttemptFailed.class, this::onResyncFailed)
        .onCommand(Wake.class, (state, cmd) -> Effect().noReply())
        .onCommand(
            GetStatus.class,
            (state, cmd) -> Effect().reply(cmd.replyTo(), status(state, cmd.connectionId())))
        .onCommand(
            Tick.class,
            (state, cmd) -> {
              progress(state);
              return Effect().noReply();
            })
        .onCommand(LoadSucceeded.class, this::onLoadSucceeded)
        .onCommand(LoadFailed.class, this::onLoadFailed)
        .build();
  }

  /** The resync being run, or null. */
  private String inFlightResync;

  private ReplyEffect<Event, State> onSync(State state, Sync cmd) {
    if (cmd.connectionId() == null) {
      syncAllRequested = true;
      attempts.values().forEach(a -> a.retryAtMillis = 0);
    } else {
      Attempts a = attempts(cmd.connectionId());
      a.syncRequested = true;
      a.retryAtMillis = 0;
    }
    if (cmd.awaitLoaded()) waiters.add(new Waiter(cmd.connectionId(), cmd.replyTo()));
    else cmd.replyTo().tell(StatusReply.ack());
    if (pausedWith != null) {
      ctx.getLog()
          .info(
              "Sync of {} asked for: loads of destination {} resume",
              cmd.connectionId(),
              destinationId);
    }
    pausedWith = null;
    pausedReason = null;
    // A sync also retries the connection's failed batches (after their files were restored).
    List<Event> retried =
        state.failed().values().stream()
            .filter(
                f ->
                    cmd.connectionId() == null
                        || f.batch().connectionId().equals(cmd.connectionId()))
            .map(f -> (Event) new BatchRetried(f.batch().batchId()))
            .toList();
    if (retried.isEmpty()) {
      progress(state);
      return Effect().noReply();
    }
    return Effect().persist(retried).thenRun(this::progress).thenNoReply();
  }

  private ReplyEffect<Event, State> onLoadSucceeded(State state, LoadSucceeded cmd) {
    inFlight = null;
    Attempts a = attempts(cmd.connectionId());
    a.failures = 0;
    a.retryAtMillis = 0;
    a.lastError = null;
    a.loaded(
        new LoadView(
            System.currentTimeMillis(),
            (System.nanoTime() - loadStartedNanos) / 1_000_000,
            cmd.outcome().batchIds().size(),
            cmd.events(),
            cmd.outcome().rowsInserted(),
            cmd.outcome().rowsRejected(),
            null));
    metrics.observe(
        "weir_load_seconds",
        (System.nanoTime() - loadStartedNanos) / 1e9,
        "destination",
        destinationId);
    metrics.increment(
        "weir_loaded_rows_total", cmd.outcome().rowsInserted(), "connection", cmd.connectionId());
    metrics.increment("weir_loaded_events_total", cmd.events(), "connection", cmd.connectionId());
    if (cmd.outcome().rowsRejected() > 0) {
      metrics.increment(
          "weir_rejected_rows_total",
          cmd.outcome().rowsRejected(),
          "connection",
          cmd.connectionId());
      ctx.getLog()
          .warn(
              "The warehouse refused {} rows of connection {}: they are dead letters in _weir_dead_letters",
              cmd.outcome().rowsRejected(),
              cmd.connectionId());
    }
    ctx.getLog()
        .info(
            "Loaded {} batches of connection {} into {}: {} new rows",
            cmd.outcome().batchIds().size(),
            cmd.connectionId(),
            destinationId,
            cmd.outcome().rowsInserted());
    return Effect()
        .persist(
            new BatchesLoaded(
                cmd.connectionId(),
                cmd.outcome().batchIds(),
                cmd.outcome().rowsInserted(),
                System.currentTimeMillis(),
                cmd.events(),
                cmd.outcome().rowsRejected()))
        .thenRun(this::progress)
        .thenNoReply();
  }

  private ReplyEffect<Event, State> onLoadFailed(State state, LoadFailed cmd) {
    inFlight = null;
    Throwable error = RootCause.of(cmd.error());
    String reason = RootCause.describe(error);
    attempts(cmd.connectionId())
        .loaded(
            new LoadView(
                System.currentTimeMillis(),
                (System.nanoTime() - loadStartedNanos) / 1_000_000,
                0,
                0,
                0,
                0,
                reason));
    if (error instanceof BatchFailure failure && state.pending().containsKey(failure.batchId())) {
      // This batch alone can never load: set it aside (named in the status), load the others at
      // once.
      ctx.getLog()
          .error(
              "Batch {} of connection {} cannot be loaded into {} and is set aside: {}",
              failure.batchId(),
              cmd.connectionId(),
              destinationId,
              reason);
      return Effect()
          .persist(new BatchFailed(failure.batchId(), reason, System.currentTimeMillis()))
          .thenRun(this::progress)
          .thenNoReply();
    }
    failWaiters(cmd.connectionId(), reason);
    metrics.increment("weir_retries_total", 1, "stage", "load");
    if (permanent(error)) {
      pause(reason, "Load of connection " + cmd.connectionId());
      return Effect().noReply();
    }
    Attempts a = attempts(cmd.connectionId());
    a.failures++;
    a.lastError = reason;
    Duration delay = retryDelay(a.failures, cmd.connectionId());
    a.retryAtMillis = System.currentTimeMillis() + delay.toMillis();
    ctx.getLog()
        .warn(
            "Load of connection {} into {} failed (attempt {}), retrying in {} ms: {}",
            cmd.connectionId(),
            destinationId,
            a.failures,
            delay.toMillis(),
            reason);
    progress(state);
    return Effect().noReply();
  }

  private ReplyEffect<Event, State> onResyncFailed(State state, ResyncAttemptFailed cmd) {
    inFlight = null;
    inFlightResync = null;
    Throwable error = RootCause.of(cmd.error());
    String reason = "resync: " + RootCause.describe(error);
    PendingResync r = state.resyncs().get(cmd.resyncId());
    metrics.increment("weir_retries_total", 1, "stage", "resync");
    if (r == null) return Effect().noReply();
    if (permanent(error) || error instanceof BatchFailure) {
      // Kept as failed (visible, removable); the destination's loads go on.
      ctx.getLog()
          .error(
              "Resync {} of connection {} failed permanently; it stays failed until removed: {}",
              cmd.resyncId(),
              r.request().connectionId(),
              reason);
      resyncAttempts.remove(cmd.resyncId());
      return Effect()
          .persist(new ResyncFailed(cmd.resyncId(), reason))
          .thenRun(this::progress)
          .thenNoReply();
    }
    Attempts a = resyncAttempts.computeIfAbsent(cmd.resyncId(), id -> new Attempts());
    a.failures++;
    a.lastError = reason;
    Duration delay = retryDelay(a.failures, r.request().connectionId());
    a.retryAtMillis = System.currentTimeMillis() + delay.toMillis();
    ctx.getLog()
        .warn(
            "Resync {} of connection {} failed (attempt {}), retrying in {} ms: {}",
            cmd.resyncId(),
            r.request().connectionId(),
            a.failures,
            delay.toMillis(),
            reason);
    progress(state);
    return Effect().noReply();
  }

  /**
   * Exponential backoff, never longer than the connection's sync interval (users expect the
   * schedule).
   */
  private Duration retryDelay(int failures, String connectionId) {
    Duration delay = settings.retry().delay(failures);
    Duration interval =
        connections
            .apply(connectionId)
            .map(c -> Duration.ofSeconds(Math.max(1, c.syncIntervalSeconds())))
            .orElse(delay);
    return interval.compareTo(delay) < 0 ? interval : delay;
  }

  private void pause(String reason, String what) {
    pausedWith = destination.get();
    pausedReason = "loads paused until the destination's settings change: " + reason;
    ctx.getLog()
        .error(
            "{} into {} failed permanently; loads of this destination are paused until its settings "
                + "change or a sync is asked for: {}",
            what,
            destinationId,
            reason);
  }

  private void failWaiters(String connectionId, String reason) {
    List<Waiter> failed =
        waiters.stream()
            .filter(w -> w.connectionId() == null || w.connectionId().equals(connectionId))
            .toList();
    failed.forEach(w -> w.replyTo().tell(StatusReply.error("load failed: " + reason)));
    waiters.removeAll(failed);
  }

  /** A failure a retry cannot fix: the loader said so. */
  private static boolean permanent(Throwable error) {
    return error instanceof WarehouseLoader.LoadException e && !e.transientFailure();
  }

  private void progress(State state) {
    long now = System.currentTimeMillis();
    if (pausedWith != null && !pausedWith.equals(destination.get())) {
      ctx.getLog().info("Destination {} changed: loads resume", destinationId);
      pausedWith = null;
      pausedReason = null;
    }
    metrics.set("weir_pending_batches", state.pending().size(), "destination", destinationId);
    long oldest =
        state.pending().values().stream().mapToLong(StagedBatch::stagedAtMillis).min().orElse(now);
    metrics.set(
        "weir_load_lag_seconds", Math.max(0, now - oldest) / 1000, "destination", destinationId);
    if (inFlight == null && pausedWith == null) startNext(state, now);
    answerWaiters(state);
  }

  /**
   * Starts the work of the connection that waited longest among those with work due (fair order).
   */
  private void startNext(State state, long now) {
    Set<String> candidates = new LinkedHashSet<>();
    state.resyncs().values().forEach(r -> candidates.add(r.request().connectionId()));
    state.pending().values().forEach(b -> candidates.add(b.connectionId()));
    List<String> order = new ArrayList<>(candidates);
    order.sort(Comparator.comparingLong(id -> attempts(id).lastStartedAtMillis));
    for (String connectionId : order) {
      Optional<Connection> connection = connections.apply(connectionId);
      if (connection.isEmpty()) {
        attempts(connectionId).lastError = "connection not in the registry cache yet";
        continue;
      }
      Optional<PendingResync> resync = state.nextResyncOf(connectionId);
      if (resync.isPresent()) {
        Attempts ra = resyncAttempts.computeIfAbsent(resync.get().id(), id -> new Attempts());
        if (now >= ra.retryAtMillis) {
          startResync(connection.get(), resync.get());
          return;
        }
      }
      Attempts a = attempts(connectionId);
      if (!state.pendingOf(connectionId).isEmpty()
          && now >= a.retryAtMillis
          && loadDue(state, connection.get(), now)) {
        startLoad(state, connection.get());
        return;
      }
    }
  }

  private boolean loadDue(State state, Connection c, long now) {
    Attempts a = attempts(c.id());
    return syncAllRequested || a.syncRequested || a.catchingUp || now >= nextSyncAt(state, c);
  }

  private long nextSyncAt(State state, Connection c) {
    ConnectionTotals totals = state.connections().get(c.id());
    long last =
        totals == null || totals.lastSyncAtMillis() == 0
            ? startedAtMillis
            : totals.lastSyncAtMillis();
    return last + c.syncIntervalSeconds() * 1000L;
  }

  private void startLoad(State state, Connection connection) {
    List<StagedBatch> batches = state.pendingOf(connection.id());
    Attempts a = attempts(connection.id());
    if (batches.size() > settings.maxBatchesPerLoad()) {
      batches = batches.subList(0, settings.maxBatchesPerLoad());
      // A backlog (after an outage): the next load follows this one at once, not a sync interval
      // later.
      a.catchingUp = true;
    } else {
      a.catchingUp = false;
    }
    a.lastStartedAtMillis = System.currentTimeMillis();
    inFlight = connection.id();
    loadStartedNanos = System.nanoTime();
    String connectionId = connection.id();
    long events = batches.stream().mapToLong(StagedBatch::stagedEvents).sum();
    CompletionStage<LoadOutcome> result;
    try {
      result = loader.load(connection, List.copyOf(batches));
    } catch (RuntimeException e) {
      result = CompletableFuture.failedFuture(e);
    }
    ctx.pipeToSelf(
        result,
        (outcome, error) ->
            error == null
                ? new LoadSucceeded(connectionId, outcome, events)
                : new LoadFailed(connectionId, error));
  }

  private void startResync(Connection connection, PendingResync resync) {
    attempts(connection.id()).lastStartedAtMillis = System.currentTimeMillis();
    inFlight = connection.id();
    inFlightResync = resync.id();
    CompletionStage<LoadOutcome> result;
    try {
      result = loader.reload(connection, resync.request());
    } catch (RuntimeException e) {
      result = CompletableFuture.failedFuture(e);
    }
    String id = resync.id();
    ctx.pipeToSelf(
        result,
        (outcome, error) ->
            error == null ? new ResyncSucceeded(id, outcome) : new ResyncAttemptFailed(id, error));
  }

  private void answerWaiters(State state) {
    attempts.forEach(
        (id, a) -> {
          if (a.syncRequested && state.pendingOf(id).isEmpty() && !id.equals(inFlight))
            a.syncRequested = false;
        });
    if (syncAllRequested && state.pending().isEmpty() && inFlight == null) syncAllRequested = false;
    if (waiters.isEmpty()) return;
    List<Waiter> done =
        waiters.stream()
            .filter(
                w ->
                    inFlight == null
                        || w.connectionId() != null && !w.connectionId().equals(inFlight))
            .filter(
                w ->
                    w.connectionId() == null
                        ? state.pending().isEmpty()
                        : state.pendingOf(w.connectionId()).isEmpty())
            .toList();
    done.forEach(w -> w.replyTo().tell(StatusReply.ack()));
    waiters.removeAll(done);
  }

  private ConnectionLoadStatus status(State state, String connectionId) {
    List<StagedBatch> pending = state.pendingOf(connectionId);
    ConnectionTotals totals =
        state.connections().getOrDefault(connectionId, new ConnectionTotals(0, 0, 0L, 0L));
    long next = connections.apply(connectionId).map(c -> nextSyncAt(state, c)).orElse(0L);
    Attempts a = attempts.get(connectionId);
    List<ResyncView> resyncs =
        state.resyncs().values().stream()
            .filter(r -> r.request().connectionId().equals(connectionId))
            .map(
                r -> {
                  Attempts ra = resyncAttempts.get(r.id());
                  return new ResyncView(
                      r.id(),
                      r.request().tables(),
                      r.request().from(),
                      r.request().to(),
                      r.requestedAtMillis(),
                      ra == null ? 0 : ra.failures,
                      r.failure() != null ? r.failure() : ra == null ? null : ra.lastError,
                      r.failure() != null);
                })
            .toList();
    List<FailedBatchView> failed =
        state.failed().values().stream()
            .filter(f -> f.batch().connectionId().equals(connectionId))
            .map(f -> new FailedBatchView(f.batch().batchId(), f.reason(), f.atMillis()))
            .toList();
    String lastError =
        pausedReason != null
            ? pausedReason
            : a != null && a.lastError != null
                ? a.lastError
                : resyncs.stream()
                    .map(ResyncView::lastError)
                    .filter(Objects::nonNull)
                    .findFirst()
                    .orElse(
                        failed.isEmpty()
                            ? null
                            : "batch "
                                + failed.get(0).batchId()
                                + " cannot be loaded: "
                                + failed.get(0).reason());
    return new ConnectionLoadStatus(
        pending.size(),
        pending.stream().mapToLong(StagedBatch::rows).sum(),
        totals.loadedRowsTotal(),
        totals.lastSyncAtMillis(),
        next,
        lastError,
        (int) resyncs.stream().filter(r -> !r.failed()).count(),
        pausedWith != null,
        resyncs,
        failed,
        totals.events(),
        totals.rejected(),
        a == null ? List.of() : List.copyOf(a.recent));
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder()
        .forAnyState()
        .onEvent(BatchRecorded.class, State::recorded)
        .onEvent(BatchesLoaded.class, State::loaded)
        .onEvent(BatchFailed.class, State::batchFailed)
        .onEvent(BatchRetried.class, State::batchRetried)
        .onEvent(ResyncRequested.class, State::resync)
        .onEvent(ResyncFinished.class, (state, e) -> state.resyncGone(e.resyncId()))
        .onEvent(ResyncCancelled.class, (state, e) -> state.resyncGone(e.resyncId()))
        .onEvent(ResyncFailed.class, State::resyncFailed)
        .build();
  }
}
