package weir.node.connector;

import akka.Done;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.actor.typed.PostStop;
import akka.actor.typed.PreRestart;
import akka.actor.typed.SupervisorStrategy;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.AskPattern;
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
import akka.persistence.typed.javadsl.RetentionCriteria;
import akka.persistence.typed.javadsl.SignalHandler;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import weir.node.Backoff;
import weir.node.RootCause;
import weir.persistence.CborSerializable;
import weir.persistence.JournalRetention;
import weir.persistence.registry.Connection;
import weir.protocol.connector.ConnectorOps;
import weir.sdk.ConnectorException;

/**
 * The syncs of one {@code connector} connection (entity id = connection id): every {@code
 * sync_interval}, on {@link Sync}, after a {@link Resync}, and at once when it recovers with a sync
 * unfinished, it runs the connector ({@link ConnectorRunner}) on the connector dispatcher.
 *
 * <p>What it persists is what a resumed sync needs: the connector's state at its last checkpoint
 * (saved only once every operation before it is in the journal), the checkpoint number ({@code
 * epoch}: the surrogate ids of appended rows derive from it, so a resumed sync that emits the same
 * rows appends them once) and the time of the last row (every later row is later), the start of an
 * unfinished sync (snapshot tables soft-delete what was not sent since), and resyncs asked for. A
 * node killed mid-sync: the entity starts again elsewhere (remembered by sharding), resumes from
 * the last checkpoint, and the merge by key makes the repeated operations land once.
 *
 * <p>A failed sync (its exception's message in the status, its stack in the log) is retried with
 * backoff, capped at the sync interval; a sync running longer than {@code max-sync-duration} is
 * cancelled.
 */
public final class ConnectorSync
    extends EventSourcedBehaviorWithEnforcedReplies<
        ConnectorSync.Command, ConnectorSync.Event, ConnectorSync.State> {

  public static final EntityTypeKey<Command> ENTITY_KEY =
      EntityTypeKey.create(Command.class, "ConnectorSync");

  // ---- protocol ----

  public sealed interface Command extends CborSerializable {}

  /** Sync now; replies at once. */
  public record Sync(ActorRef<StatusReply<Done>> replyTo) implements Command {}

  /**
   * Re-sync {@code tables} (warehouse or connector names; empty: all): their state removed, the
   * tables truncated at the start of the next sync, which starts now. Replies once persisted.
   */
  public record Resync(List<String> tables, ActorRef<StatusReply<Done>> replyTo)
      implements Command {}

  public record GetStatus(ActorRef<SyncStatus> replyTo) implements Command {}

  public record Wake() implements Command {}

  /** A checkpoint of the running sync: replies once persisted (local: sent by the runner). */
  public record Checkpoint(
      String runId,
      String stateJson,
      long epoch,
      long syncedMicros,
      Map<String, ConnectorOps.Counts> counts,
      ActorRef<StatusReply<Done>> replyTo)
      implements Command {}

  private enum Tick implements Command {
    INSTANCE
  }

  private record Finished(String runId, ConnectorRunner.Outcome outcome, long resyncUpTo)
      implements Command {}

  private record Failed(String runId, String error) implements Command {}

  /** What the status shows. */
  public record SyncStatus(
      boolean running,
      long lastSyncAtMillis,
      long nextSyncAtMillis,
      long lastCheckpointAtMillis,
      int stateBytes,
      Map<String, ConnectorOps.Counts> tables,
      String lastError,
      boolean resyncPending,
      long syncsTotal)
      implements CborSerializable {}

  // ---- events ----

  public sealed interface Event extends CborSerializable {}

  public record ResyncRequested(boolean all, List<String> tables) implements Event {}

  public record SyncStarted(long atMillis) implements Event {}

  /**
   * @param resyncedUpTo the resyncs asked for up to this number are done (0: not a resync)
   */
  public record Checkpointed(
      String stateJson,
      long epoch,
      long floorMicros,
      long atMillis,
      Map<String, ConnectorOps.Counts> counts,
      long resyncedUpTo)
      implements Event {}

  public record SyncSucceeded(
      long atMillis,
      long epoch,
      long floorMicros,
      Map<String, ConnectorOps.Counts> counts,
      long resyncedUpTo)
      implements Event {}

  /**
   * @param stateJson the connector's state at its last checkpoint
   * @param epoch the checkpoint number a sync resumes from
   * @param floorMicros every row written so far is at or before this time (µs since the epoch)
   * @param syncStartedAtMillis the start of the unfinished sync; 0 when none is
   * @param counts operations per table of the last (or running) sync
   * @param resyncAll a full re-sync is pending
   * @param resyncTables tables whose re-sync is pending
   */
  public record State(
      String stateJson,
      long epoch,
      long floorMicros,
      long syncStartedAtMillis,
      long lastSyncAtMillis,
      long lastCheckpointAtMillis,
      Map<String, ConnectorOps.Counts> counts,
      long resyncsRequested,
      long resyncsDone,
      boolean resyncAll,
      List<String> resyncTables,
      long syncsTotal)
      implements CborSerializable {
    public State {
      counts = counts == null ? Map.of() : Map.copyOf(counts);
      resyncTables = resyncTables == null ? List.of() : List.copyOf(resyncTables);
      if (stateJson == null) stateJson = "{}";
    }

    boolean resyncPending() {
      return resyncsRequested > resyncsDone;
    }

    State resyncedUpTo(long upTo) {
      if (upTo == 0) return this;
      boolean all = upTo >= resyncsRequested;
      return new State(
          stateJson,
          epoch,
          floorMicros,
          syncStartedAtMillis,
          lastSyncAtMillis,
          lastCheckpointAtMillis,
          counts,
          resyncsRequested,
          Math.max(resyncsDone, upTo),
          all ? false : resyncAll,
          all ? List.of() : resyncTables,
          syncsTotal);
    }
  }

  // ---- behaviour ----

  /** Node settings of connector syncs. */
  public record Settings(Duration maxSyncDuration, Duration askTimeout, Backoff retry) {}

  public static void init(
      ActorSystem<?> system,
      Function<String, Optional<Connection>> connections,
      ConnectorRunner runner,
      Executor dispatcher,
      Settings settings,
      JournalRetention retention) {
    ClusterSharding.get(system)
        .init(
            Entity.of(
                ENTITY_KEY,
                ctx ->
                    create(
                        ctx.getEntityId(), connections, runner, dispatcher, settings, retention)));
  }

  public static Behavior<Command> create(
      String connectionId,
      Function<String, Optional<Connection>> connections,
      ConnectorRunner runner,
      Executor dispatcher,
      Settings settings,
      JournalRetention retention) {
    return Behaviors.setup(
        ctx ->
            Behaviors.withTimers(
                timers -> {
                  timers.startTimerWithFixedDelay(Tick.INSTANCE, Duration.ofMillis(500));
                  return new ConnectorSync(
                      ctx, connectionId, connections, runner, dispatcher, settings, retention);
                }));
  }

  private final ActorContext<Command> ctx;
  private final String connectionId;
  private final Function<String, Optional<Connection>> connections;
  private final ConnectorRunner runner;
  private final Executor dispatcher;
  private final Settings settings;
  private final JournalRetention retention;

  // In memory, redone after a restart.
  private String running;
  private volatile String cancelReason;
  private long runStartedAtMillis;
  private AtomicBoolean cancelled = new AtomicBoolean();
  private final AtomicReference<Thread> runThread = new AtomicReference<>();
  private boolean requested;
  private long lastAttemptAtMillis;
  private long retryAtMillis;
  private int failures;
  private String lastError;

  private ConnectorSync(
      ActorContext<Command> ctx,
      String connectionId,
      Function<String, Optional<Connection>> connections,
      ConnectorRunner runner,
      Executor dispatcher,
      Settings settings,
      JournalRetention retention) {
    super(
        PersistenceId.of(ENTITY_KEY.name(), connectionId),
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(10), 0.2));
    this.ctx = ctx;
    this.connectionId = connectionId;
    this.connections = connections;
    this.runner = runner;
    this.dispatcher = dispatcher;
    this.settings = settings;
    this.retention = retention;
  }

  @Override
  public State emptyState() {
    return new State("{}", 0, 0, 0, 0, 0, Map.of(), 0, 0, false, List.of(), 0);
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(100, 2);
  }

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(
            RecoveryCompleted.instance(),
            state -> {
              if (state.syncStartedAtMillis() != 0) {
                ctx.getLog()
                    .info(
                        "Connector connection {}: resuming the sync started at {} from checkpoint"
                            + " {}",
                        connectionId,
                        Instant.ofEpochMilli(state.syncStartedAtMillis()),
                        state.epoch());
                requested = true;
              }
            })
        .onSignal(PostStop.instance(), state -> cancelRun())
        .onSignal(PreRestart.instance(), state -> cancelRun())
        .onSignal(
            SnapshotCompleted.class,
            (state, done) ->
                retention.deleteBefore(
                    done.metadata().persistenceId(), done.metadata().sequenceNr()))
        .build();
  }

  private void cancelRun() {
    cancelled.set(true);
    Thread t = runThread.get();
    if (t != null) t.interrupt();
  }

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    return newCommandHandlerWithReplyBuilder()
        .forAnyState()
        .onCommand(
            Sync.class,
            (state, cmd) -> {
              requested = true;
              retryAtMillis = 0;
              ctx.getSelf().tell(Tick.INSTANCE);
              return Effect().reply(cmd.replyTo(), StatusReply.ack());
            })
        .onCommand(
            Resync.class,
            (state, cmd) ->
                Effect()
                    .persist(new ResyncRequested(cmd.tables().isEmpty(), cmd.tables()))
                    .thenRun(
                        s -> {
                          requested = true;
                          retryAtMillis = 0;
                          ctx.getSelf().tell(Tick.INSTANCE);
                        })
                    .thenReply(cmd.replyTo(), s -> StatusReply.ack()))
        .onCommand(GetStatus.class, (state, cmd) -> Effect().reply(cmd.replyTo(), status(state)))
        .onCommand(Wake.class, (state, cmd) -> Effect().noReply())
        .onCommand(Tick.class, (state, cmd) -> onTick(state))
        .onCommand(Checkpoint.class, this::onCheckpoint)
        .onCommand(Finished.class, this::onFinished)
        .onCommand(
            Failed.class,
            (state, cmd) -> {
              if (!cmd.runId().equals(running)) return Effect().noReply();
              running = null;
              failures++;
              lastError = cmd.error();
              Connection c = connections.apply(connectionId).orElse(null);
              long cap = c == null ? 60_000 : Math.max(1000, c.syncIntervalSeconds() * 1000);
              long delay = Math.min(settings.retry().delay(failures).toMillis(), cap);
              retryAtMillis = System.currentTimeMillis() + delay;
              // Retried (from the last checkpoint) once the backoff has passed.
              requested = true;
              ctx.getLog()
                  .warn(
                      "Connector connection {}: sync failed (attempt {}, retried in {} ms): {}",
                      connectionId,
                      failures,
                      delay,
                      cmd.error());
              return Effect().noReply();
            })
        .build();
  }

  private ReplyEffect<Event, State> onCheckpoint(State state, Checkpoint cmd) {
    if (!cmd.runId().equals(running))
      return Effect()
          .reply(
              cmd.replyTo(),
              StatusReply.error("the sync " + cmd.runId() + " is no longer the running one"));
    return Effect()
        .persist(
            new Checkpointed(
                cmd.stateJson(),
                cmd.epoch(),
                cmd.syncedMicros(),
                System.currentTimeMillis(),
                cmd.counts(),
                resyncUpTo))
        .thenReply(cmd.replyTo(), s -> StatusReply.ack());
  }

  private ReplyEffect<Event, State> onFinished(State state, Finished cmd) {
    if (!cmd.runId().equals(running)) return Effect().noReply();
    running = null;
    failures = 0;
    lastError = null;
    ConnectorRunner.Outcome o = cmd.outcome();
    ctx.getLog()
        .info(
            "Connector connection {}: sync done in {} ms: {}",
            connectionId,
            System.currentTimeMillis() - runStartedAtMillis,
            o.counts());
    return Effect()
        .persist(
            new SyncSucceeded(
                System.currentTimeMillis(),
                // The rows after the last checkpoint took this epoch's ids: the next sync has
                // its own.
                o.epoch() + 1,
                ChronoUnit.MICROS.between(Instant.EPOCH, o.lastSynced()),
                o.counts(),
                cmd.resyncUpTo()))
        .thenRun(s -> loadNow())
        .thenNoReply();
  }

  /**
   * A finished sync is loaded at once, not at the next load interval: the connection's buffer
   * flushes what the sync wrote, then its destination's coordinator loads it.
   */
  private void loadNow() {
    Connection c = connections.apply(connectionId).orElse(null);
    if (c == null) return;
    ClusterSharding sharding = ClusterSharding.get(ctx.getSystem());
    Duration timeout = settings.askTimeout().multipliedBy(6);
    sharding
        .entityRefFor(weir.node.ingest.ConnectionBuffer.ENTITY_KEY, c.slotEntityId(0))
        .<Done>askWithStatus(weir.node.ingest.ConnectionBuffer.FlushAll::new, timeout)
        .thenCompose(
            done ->
                sharding
                    .entityRefFor(weir.node.load.LoadCoordinator.ENTITY_KEY, c.destinationId())
                    .<Done>askWithStatus(
                        r -> new weir.node.load.LoadCoordinator.Sync(c.id(), false, r), timeout))
        .whenComplete(
            (done, failure) -> {
              if (failure != null)
                ctx.getSystem()
                    .log()
                    .warn(
                        "Connector connection {}: loading the sync now failed ({}); it loads at"
                            + " the next load interval",
                        connectionId,
                        RootCause.describe(failure));
            });
  }

  /** The resyncs the running sync covers (0: none). */
  private long resyncUpTo;

  private SyncStatus status(State state) {
    Connection c = connections.apply(connectionId).orElse(null);
    long next =
        running != null
            ? 0
            : retryAtMillis > 0
                ? retryAtMillis
                : c == null ? 0 : lastAttemptAtMillis + c.syncIntervalSeconds() * 1000;
    return new SyncStatus(
        running != null,
        state.lastSyncAtMillis(),
        next,
        state.lastCheckpointAtMillis(),
        state.stateJson().length(),
        state.counts(),
        lastError,
        state.resyncPending(),
        state.syncsTotal());
  }

  private ReplyEffect<Event, State> onTick(State state) {
    long now = System.currentTimeMillis();
    Optional<Connection> connection = connections.apply(connectionId).filter(Connection::active);
    if (running != null) {
      if (connection.isEmpty()
          || now - runStartedAtMillis > settings.maxSyncDuration().toMillis()) {
        if (!cancelled.get()) {
          cancelReason =
              connection.isEmpty()
                  ? "cancelled: the connection was deleted"
                  : "cancelled: the sync ran longer than max-sync-duration ("
                      + settings.maxSyncDuration().toSeconds()
                      + " s, weir.connectors.max-sync-duration); the next attempt resumes from"
                      + " its last checkpoint";
          ctx.getLog().warn("Connector connection {}: {}", connectionId, cancelReason);
          cancelRun();
        }
      }
      return Effect().noReply();
    }
    if (connection.isEmpty() || connection.get().connector() == null) return Effect().noReply();
    boolean due =
        requested
            || state.resyncPending()
            || state.syncStartedAtMillis() != 0 && lastAttemptAtMillis == 0
            || now >= lastAttemptAtMillis + connection.get().syncIntervalSeconds() * 1000;
    if (!due || now < retryAtMillis) return Effect().noReply();
    requested = false;
    lastAttemptAtMillis = now;
    if (state.syncStartedAtMillis() != 0) {
      start(state, connection.get(), state.syncStartedAtMillis());
      return Effect().noReply();
    }
    // The start is later than every row written so far (a snapshot table soft-deletes the rows
    // older than it that the sync did not send), whatever the clock of the node that wrote them.
    long startAt = Math.max(now, state.floorMicros() / 1000 + 1);
    return Effect()
        .persist(new SyncStarted(startAt))
        .thenRun(s -> start(s, connection.get(), startAt))
        .thenNoReply();
  }

  private void start(State state, Connection connection, long syncStartedAt) {
    String runId = UUID.randomUUID().toString();
    running = runId;
    runStartedAtMillis = System.currentTimeMillis();
    cancelled = new AtomicBoolean();
    cancelReason = null;
    AtomicBoolean cancel = cancelled;
    resyncUpTo = state.resyncPending() ? state.resyncsRequested() : 0;
    long upTo = resyncUpTo;
    ConnectorRunner.Start start =
        new ConnectorRunner.Start(
            ConnectorRunner.state(state.stateJson()),
            state.epoch(),
            // Every row of the sync is later than its start.
            Instant.EPOCH.plus(
                Math.max(state.floorMicros(), syncStartedAt * 1000), ChronoUnit.MICROS),
            Instant.ofEpochMilli(syncStartedAt),
            state.resyncPending() && state.resyncAll(),
            state.resyncPending() ? new TreeSet<>(state.resyncTables()) : new TreeSet<>());
    ActorRef<Command> self = ctx.getSelf();
    ActorSystem<?> system = ctx.getSystem();
    ConnectorRunner.Checkpoints checkpoints =
        (next, epoch, synced, counts) ->
            AskPattern.<Command, StatusReply<Done>>ask(
                    self,
                    r ->
                        new Checkpoint(
                            runId,
                            ConnectorRunner.stateJson(next),
                            epoch,
                            ChronoUnit.MICROS.between(Instant.EPOCH, synced),
                            counts,
                            r),
                    settings.askTimeout(),
                    system.scheduler())
                .toCompletableFuture()
                .get()
                .getValue();
    ctx.getLog()
        .info(
            "Connector connection {}: sync starts (checkpoint {}{})",
            connectionId,
            state.epoch(),
            start.resyncAll()
                ? ", full re-sync"
                : start.resyncTables().isEmpty() ? "" : ", re-sync of " + start.resyncTables());
    ctx.pipeToSelf(
        CompletableFuture.supplyAsync(
            () -> {
              runThread.set(Thread.currentThread());
              try {
                return runner.run(connection, start, checkpoints, cancel);
              } catch (RuntimeException e) {
                throw e;
              } catch (Exception e) {
                throw new CompletionException(e);
              } finally {
                runThread.set(null);
                Thread.interrupted();
              }
            },
            dispatcher),
        (outcome, failure) -> {
          if (failure == null) return new Finished(runId, outcome, upTo);
          if (cancel.get() && cancelReason != null) return new Failed(runId, cancelReason);
          Throwable cause =
              failure instanceof CompletionException && failure.getCause() != null
                  ? failure.getCause()
                  : failure;
          if (!(cause instanceof ConnectorException) && !(cause instanceof CancellationException))
            ctx.getLog().warn("Connector connection {}: sync failed", connectionId, cause);
          return new Failed(runId, describe(cause));
        });
  }

  private static String describe(Throwable cause) {
    if (cause instanceof ConnectorException) return cause.getMessage();
    if (cause instanceof CancellationException) return "cancelled: " + cause.getMessage();
    return RootCause.describe(cause);
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder()
        .forAnyState()
        .onEvent(
            ResyncRequested.class,
            (s, e) -> {
              TreeSet<String> tables = new TreeSet<>(s.resyncTables());
              tables.addAll(e.tables());
              return new State(
                  s.stateJson(),
                  s.epoch(),
                  s.floorMicros(),
                  s.syncStartedAtMillis(),
                  s.lastSyncAtMillis(),
                  s.lastCheckpointAtMillis(),
                  s.counts(),
                  s.resyncsRequested() + 1,
                  s.resyncsDone(),
                  s.resyncAll() || e.all(),
                  List.copyOf(tables),
                  s.syncsTotal());
            })
        .onEvent(
            SyncStarted.class,
            (s, e) ->
                new State(
                    s.stateJson(),
                    s.epoch(),
                    s.floorMicros(),
                    e.atMillis(),
                    s.lastSyncAtMillis(),
                    s.lastCheckpointAtMillis(),
                    Map.of(),
                    s.resyncsRequested(),
                    s.resyncsDone(),
                    s.resyncAll(),
                    s.resyncTables(),
                    s.syncsTotal()))
        .onEvent(
            Checkpointed.class,
            (s, e) ->
                new State(
                        e.stateJson(),
                        e.epoch(),
                        e.floorMicros(),
                        s.syncStartedAtMillis(),
                        s.lastSyncAtMillis(),
                        e.atMillis(),
                        new TreeMap<>(e.counts()),
                        s.resyncsRequested(),
                        s.resyncsDone(),
                        s.resyncAll(),
                        s.resyncTables(),
                        s.syncsTotal())
                    .resyncedUpTo(e.resyncedUpTo()))
        .onEvent(
            SyncSucceeded.class,
            (s, e) ->
                new State(
                        s.stateJson(),
                        e.epoch(),
                        e.floorMicros(),
                        0,
                        e.atMillis(),
                        s.lastCheckpointAtMillis(),
                        new TreeMap<>(e.counts()),
                        s.resyncsRequested(),
                        s.resyncsDone(),
                        s.resyncAll(),
                        s.resyncTables(),
                        s.syncsTotal() + 1)
                    .resyncedUpTo(e.resyncedUpTo()))
        .build();
  }
}
