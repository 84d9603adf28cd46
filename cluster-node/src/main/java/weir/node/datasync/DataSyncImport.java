package weir.node.datasync;

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
import akka.persistence.typed.SnapshotCompleted;
import akka.persistence.typed.javadsl.CommandHandlerWithReply;
import akka.persistence.typed.javadsl.EventHandler;
import akka.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import akka.persistence.typed.javadsl.ReplyEffect;
import akka.persistence.typed.javadsl.RetentionCriteria;
import akka.persistence.typed.javadsl.SignalHandler;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import weir.loaders.datasync.ExportLoader;
import weir.node.Backoff;
import weir.node.RootCause;
import weir.persistence.CborSerializable;
import weir.persistence.JournalRetention;
import weir.persistence.registry.Connection;

/**
 * The sync of one {@code datasync} connection (entity id = connection id): every {@code
 * sync_interval}, on {@link Sync}, or after a {@link Resync}, it loads the Data Sync exports of the
 * connection's source folder into its warehouse ({@link ExportLoader}: every export above the
 * warehouse's watermark, in counter order, each in one transaction with its record in {@code
 * _weir_loads}). The warehouse holds the watermark, so a rebuilt destination reloads from the start
 * and a sync repeated after a crash loads nothing twice; this entity only remembers what the status
 * shows, and a resync asked for (persisted before its 202).
 *
 * <p>A failed sync is retried with backoff (capped at the sync interval); exports loaded before the
 * failure stay loaded. Warnings (exports aged out of the manifest before they were loaded) show in
 * the status.
 */
public final class DataSyncImport
    extends EventSourcedBehaviorWithEnforcedReplies<
        DataSyncImport.Command, DataSyncImport.Event, DataSyncImport.State> {

  public static final EntityTypeKey<Command> ENTITY_KEY =
      EntityTypeKey.create(Command.class, "DataSyncImport");

  /** Runs one sync of a connection; blocking work runs off the actor. */
  public interface Importer {
    CompletionStage<ExportLoader.Summary> sync(Connection connection, boolean resync);
  }

  // ---- protocol ----

  public sealed interface Command extends CborSerializable {}

  /** Sync now; replies at once that it has started. */
  public record Sync(ActorRef<StatusReply<Done>> replyTo) implements Command {}

  /** Reload every export still listed; replies once persisted. */
  public record Resync(ActorRef<StatusReply<Done>> replyTo) implements Command {}

  public record GetStatus(ActorRef<ImportStatus> replyTo) implements Command {}

  public record Wake() implements Command {}

  /** What the status shows of the imports. */
  public record ImportStatus(
      long lastSyncAtMillis,
      long nextSyncAtMillis,
      long watermark,
      long exportsLoadedTotal,
      long rowsLoadedTotal,
      List<String> warnings,
      String lastError,
      boolean resyncPending,
      boolean running)
      implements CborSerializable {}

  private enum Tick implements Command {
    INSTANCE
  }

  /**
   * @param resyncedUpTo the resyncs asked for up to this one were run (0: not a resync)
   */
  private record Finished(ExportLoader.Summary summary, long resyncedUpTo) implements Command {}

  private record Failed(String error) implements Command {}

  // ---- events ----

  public sealed interface Event extends CborSerializable {}

  public record ResyncRequested() implements Event {}

  /**
   * @param resyncedUpTo the resyncs asked for up to this number were run (0: not a resync)
   */
  public record Synced(
      long atMillis,
      long watermark,
      int exportsLoaded,
      long rowsLoaded,
      List<String> warnings,
      long resyncedUpTo)
      implements Event {}

  /**
   * @param watermark the highest counter the warehouse has (0: none)
   * @param warnings of the last sync
   * @param resyncsRequested resyncs asked for (numbered from 1)
   * @param resyncsDone the resyncs asked for up to this number were run
   */
  public record State(
      long lastSyncAtMillis,
      long watermark,
      long exportsLoadedTotal,
      long rowsLoadedTotal,
      List<String> warnings,
      long resyncsRequested,
      long resyncsDone)
      implements CborSerializable {
    public State {
      warnings = warnings == null ? List.of() : List.copyOf(warnings);
    }

    boolean resyncPending() {
      return resyncsRequested > resyncsDone;
    }
  }

  // ---- behaviour ----

  public static void init(
      ActorSystem<?> system,
      Function<String, Optional<Connection>> connections,
      Importer importer,
      Backoff retry,
      JournalRetention retention) {
    ClusterSharding.get(system)
        .init(
            Entity.of(
                ENTITY_KEY,
                ctx -> create(ctx.getEntityId(), connections, importer, retry, retention)));
  }

  public static Behavior<Command> create(
      String connectionId,
      Function<String, Optional<Connection>> connections,
      Importer importer,
      Backoff retry,
      JournalRetention retention) {
    return Behaviors.setup(
        ctx ->
            Behaviors.withTimers(
                timers -> {
                  timers.startTimerWithFixedDelay(Tick.INSTANCE, Duration.ofMillis(500));
                  return new DataSyncImport(
                      ctx, connectionId, connections, importer, retry, retention);
                }));
  }

  private final ActorContext<Command> ctx;
  private final String connectionId;
  private final Function<String, Optional<Connection>> connections;
  private final Importer importer;
  private final Backoff retry;
  private final JournalRetention retention;

  // In memory, redone after a restart.
  private boolean running;
  private boolean requested;
  private long lastAttemptAtMillis;
  private long retryAtMillis;
  private int failures;
  private String lastError;

  private DataSyncImport(
      ActorContext<Command> ctx,
      String connectionId,
      Function<String, Optional<Connection>> connections,
      Importer importer,
      Backoff retry,
      JournalRetention retention) {
    super(
        PersistenceId.of(ENTITY_KEY.name(), connectionId),
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(10), 0.2));
    this.ctx = ctx;
    this.connectionId = connectionId;
    this.connections = connections;
    this.importer = importer;
    this.retry = retry;
    this.retention = retention;
    // The first sync after a start runs at once.
    this.requested = true;
  }

  @Override
  public State emptyState() {
    return new State(0, 0, 0, 0, List.of(), 0, 0);
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(100, 2);
  }

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(
            SnapshotCompleted.class,
            (state, done) ->
                retention.deleteBefore(
                    done.metadata().persistenceId(), done.metadata().sequenceNr()))
        .build();
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
                    .persist(new ResyncRequested())
                    .thenRun(
                        s -> {
                          retryAtMillis = 0;
                          ctx.getSelf().tell(Tick.INSTANCE);
                        })
                    .thenReply(cmd.replyTo(), s -> StatusReply.ack()))
        .onCommand(GetStatus.class, (state, cmd) -> Effect().reply(cmd.replyTo(), status(state)))
        .onCommand(Wake.class, (state, cmd) -> Effect().noReply())
        .onCommand(Tick.class, (state, cmd) -> onTick(state))
        .onCommand(
            Finished.class,
            (state, cmd) -> {
              running = false;
              failures = 0;
              lastError = null;
              ExportLoader.Summary s = cmd.summary();
              long rows = s.rowsInserted().values().stream().mapToLong(Long::longValue).sum();
              if (!s.loadedCounters().isEmpty() || !s.warnings().isEmpty()) {
                ctx.getLog()
                    .info(
                        "Data Sync connection {}: loaded exports {} ({} rows), watermark {}{}",
                        connectionId,
                        s.loadedCounters(),
                        rows,
                        s.watermark(),
                        s.warnings().isEmpty() ? "" : "; warnings: " + s.warnings());
              }
              return Effect()
                  .persist(
                      new Synced(
                          System.currentTimeMillis(),
                          s.watermark(),
                          s.loadedCounters().size(),
                          rows,
                          s.warnings(),
                          cmd.resyncedUpTo()))
                  .thenNoReply();
            })
        .onCommand(
            Failed.class,
            (state, cmd) -> {
              running = false;
              failures++;
              lastError = cmd.error();
              Connection c = connections.apply(connectionId).orElse(null);
              long cap = c == null ? 60_000 : Math.max(1000, c.syncIntervalSeconds() * 1000);
              long delay = Math.min(retry.delay(failures).toMillis(), cap);
              retryAtMillis = System.currentTimeMillis() + delay;
              ctx.getLog()
                  .warn(
                      "Data Sync connection {}: sync failed (attempt {}, retried in {} ms): {}",
                      connectionId,
                      failures,
                      delay,
                      cmd.error());
              return Effect().noReply();
            })
        .build();
  }

  private ImportStatus status(State state) {
    Connection c = connections.apply(connectionId).orElse(null);
    long next =
        retryAtMillis > 0
            ? retryAtMillis
            : c == null ? 0 : lastAttemptAtMillis + c.syncIntervalSeconds() * 1000;
    return new ImportStatus(
        state.lastSyncAtMillis(),
        next,
        state.watermark(),
        state.exportsLoadedTotal(),
        state.rowsLoadedTotal(),
        state.warnings(),
        lastError,
        state.resyncPending(),
        running);
  }

  private ReplyEffect<Event, State> onTick(State state) {
    if (running) return Effect().noReply();
    Optional<Connection> connection = connections.apply(connectionId).filter(Connection::active);
    if (connection.isEmpty()) return Effect().noReply();
    long now = System.currentTimeMillis();
    boolean due =
        requested
            || state.resyncPending()
            || now >= lastAttemptAtMillis + connection.get().syncIntervalSeconds() * 1000;
    if (!due || now < retryAtMillis) return Effect().noReply();
    requested = false;
    running = true;
    lastAttemptAtMillis = now;
    boolean resync = state.resyncPending();
    long upTo = resync ? state.resyncsRequested() : 0;
    ctx.pipeToSelf(
        importer.sync(connection.get(), resync),
        (summary, failure) ->
            failure == null
                ? new Finished(summary, upTo)
                : new Failed(RootCause.describe(failure)));
    return Effect().noReply();
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder()
        .forAnyState()
        .onEvent(
            ResyncRequested.class,
            (state, e) ->
                new State(
                    state.lastSyncAtMillis(),
                    state.watermark(),
                    state.exportsLoadedTotal(),
                    state.rowsLoadedTotal(),
                    state.warnings(),
                    state.resyncsRequested() + 1,
                    state.resyncsDone()))
        .onEvent(
            Synced.class,
            (state, e) ->
                new State(
                    e.atMillis(),
                    e.watermark(),
                    state.exportsLoadedTotal() + e.exportsLoaded(),
                    state.rowsLoadedTotal() + e.rowsLoaded(),
                    e.warnings(),
                    state.resyncsRequested(),
                    Math.max(state.resyncsDone(), e.resyncedUpTo())))
        .build();
  }
}
