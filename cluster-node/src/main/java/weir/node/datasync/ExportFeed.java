package weir.node.datasync;

import akka.Done;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.actor.typed.PostStop;
import akka.actor.typed.PreRestart;
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
import akka.persistence.typed.javadsl.RetentionCriteria;
import akka.persistence.typed.javadsl.SignalHandler;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import java.util.function.Supplier;
import weir.node.RootCause;
import weir.persistence.CborSerializable;
import weir.persistence.JournalRetention;
import weir.persistence.registry.Connection;
import weir.persistence.registry.Export;
import weir.protocol.datasync.PageRule;

/**
 * The Data Sync feed of one connection into one data lake (entity id {@code
 * <destinationId>~<connectionId>}): every export of that pair runs here, one run at a time, because
 * they share one folder and one {@code exportmanifest.json} whose counter must increase by one per
 * export.
 *
 * <p>A run is one export written and listed (ExportRunner): a one-time export's days, a test
 * export's day, a recurring export's daily pair (yesterday, and the finalized day {@code
 * finalize_after_days} ago), or a retroactive export after the connection's {@code page_rules}
 * changed (the changed pages, for every day exported before). Runs are persisted when queued
 * ({@link RunQueued}, before the 201 of a new export), so they survive a restart, a rebalance and
 * the loss of a node: the run at the head of the queue is started again, under the same export
 * uuid, which rewrites its files and lists it once (a run listed before the crash keeps its
 * counter). The manifest is written only after every file of a run is complete.
 *
 * <p>A run that fails is retried with backoff; after {@code max-attempts} it is given up and its
 * export shows as failed with the reason (a recurring export tries again the next day). Stopping an
 * export drops its queued runs; a run already writing finishes and is listed.
 *
 * <p>The state is small (export definitions, statuses, the queue, the days exported): snapshots
 * every 100 events, the journal before them deleted.
 */
public final class ExportFeed
    extends EventSourcedBehaviorWithEnforcedReplies<
        ExportFeed.Command, ExportFeed.Event, ExportFeed.State> {

  public static final EntityTypeKey<Command> ENTITY_KEY =
      EntityTypeKey.create(Command.class, "ExportFeed");

  /** Writes and lists one run's export; blocking work runs off the actor. */
  public interface Runner {
    /**
     * Writes {@code run} of {@code export} (connection {@code connection}, with the page rules it
     * is written with) and lists it in the manifest with a counter above {@code lastCounter};
     * {@code progress} hears each day done. Once {@code cancelled} (the feed stopped: a rebalance,
     * a restart) it stops before the next day and never lists the run: the feed's next incarnation
     * redoes it.
     */
    CompletionStage<Published> run(
        Connection connection,
        String destinationId,
        Run run,
        long lastCounter,
        java.util.function.Consumer<String> progress,
        java.util.function.BooleanSupplier cancelled);
  }

  /** What a run listed. */
  public record Published(
      long counter, long finishedAtMillis, long storageSize, String rootUrl, long events)
      implements CborSerializable {}

  /**
   * One export to write.
   *
   * @param runId the export's uuid (its folder)
   * @param exportId the registered export it belongs to; null for a retroactive run (the feed's)
   * @param kind {@code regular}, {@code test} or {@code retroactive}
   * @param days UTC days (ISO), in order
   * @param pages for a retroactive run, the ids of the pages it replaces
   * @param recurringDay for a recurring export's daily run, the day it ran for
   * @param attempts failed attempts so far
   * @param notBeforeMillis not started again before this time (after a failure)
   */
  public record Run(
      String runId,
      String exportId,
      String kind,
      List<String> days,
      List<String> pages,
      String recurringDay,
      int attempts,
      long notBeforeMillis,
      String lastError)
      implements CborSerializable {
    public Run {
      days = List.copyOf(days);
      pages = pages == null ? List.of() : List.copyOf(pages);
    }

    Run failed(String error, long retryAt) {
      return new Run(
          runId, exportId, kind, days, pages, recurringDay, attempts + 1, retryAt, error);
    }

    public boolean retroactive() {
      return "retroactive".equals(kind);
    }

    public boolean test() {
      return "test".equals(kind);
    }
  }

  // ---- protocol ----

  public sealed interface Command extends CborSerializable {}

  /** Takes a new export and queues its first run; replies once persisted. */
  public record Add(Export export, ActorRef<StatusReply<Done>> replyTo) implements Command {}

  /** Stops an export: its queued runs are dropped, no more recurring runs. */
  public record Stop(String exportId, ActorRef<StatusReply<Done>> replyTo) implements Command {}

  /** What one export has done. */
  public record Get(String exportId, ActorRef<ExportView> replyTo) implements Command {}

  /** Start the entity without other effect. */
  public record Wake() implements Command {}

  /**
   * An export as the API shows it.
   *
   * @param status {@code in_progress}, {@code complete}, {@code failed}, {@code stopped}, or {@code
   *     unknown} when this feed has never heard of it
   * @param progress what the running run has done ({@code "2026-11-20: 1234 events (1 of 2
   *     days)"}), or null
   */
  public record ExportView(
      String status,
      long lastSuccessfulAtMillis,
      long counter,
      long storageSize,
      String rootUrl,
      String message,
      String progress,
      int runsCompleted)
      implements CborSerializable {}

  private enum Tick implements Command {
    INSTANCE
  }

  private record RunSucceeded(String runId, Published published) implements Command {}

  private record RunFailedToWrite(String runId, String error) implements Command {}

  private record Progress(String runId, String text) implements Command {}

  // ---- events ----

  public sealed interface Event extends CborSerializable {}

  public record ExportAdded(Export export, Run run) implements Event {}

  public record RunQueued(Run run) implements Event {}

  public record RunCompleted(
      String runId, Published published, List<String> days, List<PageRule> rules)
      implements Event {}

  /**
   * @param rules for a retroactive run given up, the page rules it was for (no retroactive run is
   *     queued again until they change)
   */
  public record RunFailed(Run run, boolean givenUp, List<PageRule> rules) implements Event {}

  public record ExportStopped(String exportId) implements Event {}

  // ---- state ----

  /** One export's record in the feed. */
  public record ExportState(
      Export export,
      long lastSuccessfulAtMillis,
      long counter,
      long storageSize,
      String rootUrl,
      String failure,
      String lastRecurringDay,
      int runsCompleted,
      boolean stopped)
      implements CborSerializable {
    static ExportState of(Export x) {
      return new ExportState(x, 0, 0, 0, null, null, null, 0, false);
    }

    ExportState completed(Published p) {
      return new ExportState(
          export,
          p.finishedAtMillis(),
          p.counter(),
          p.storageSize(),
          p.rootUrl(),
          null,
          lastRecurringDay,
          runsCompleted + 1,
          stopped);
    }

    ExportState failure(String reason) {
      return new ExportState(
          export,
          lastSuccessfulAtMillis,
          counter,
          storageSize,
          rootUrl,
          reason,
          lastRecurringDay,
          runsCompleted,
          stopped);
    }

    ExportState ranFor(String day) {
      return new ExportState(
          export,
          lastSuccessfulAtMillis,
          counter,
          storageSize,
          rootUrl,
          failure,
          day,
          runsCompleted,
          stopped);
    }

    ExportState stop() {
      return new ExportState(
          export,
          lastSuccessfulAtMillis,
          counter,
          storageSize,
          rootUrl,
          failure,
          lastRecurringDay,
          runsCompleted,
          true);
    }
  }

  /**
   * @param lastCounter the highest counter this feed listed
   * @param exports by export id
   * @param queue runs to do, the head first
   * @param exportedDays every day a run listed (a retroactive run covers them)
   * @param exportedRules the page rules every exported day reflects (null: nothing exported yet)
   */
  public record State(
      long lastCounter,
      Map<String, ExportState> exports,
      List<Run> queue,
      List<String> exportedDays,
      List<PageRule> exportedRules,
      String retroactiveFailure,
      List<PageRule> retroactiveFailedRules)
      implements CborSerializable {
    public State {
      exports = Map.copyOf(exports);
      queue = List.copyOf(queue);
      exportedDays = List.copyOf(exportedDays);
      exportedRules = exportedRules == null ? null : List.copyOf(exportedRules);
      retroactiveFailedRules =
          retroactiveFailedRules == null ? null : List.copyOf(retroactiveFailedRules);
    }

    static State empty() {
      return new State(0, Map.of(), List.of(), List.of(), null, null, null);
    }

    State withExport(ExportState x) {
      Map<String, ExportState> next = new LinkedHashMap<>(exports);
      next.put(x.export().id(), x);
      return new State(
          lastCounter,
          next,
          queue,
          exportedDays,
          exportedRules,
          retroactiveFailure,
          retroactiveFailedRules);
    }

    State withQueue(List<Run> q) {
      return new State(
          lastCounter,
          exports,
          q,
          exportedDays,
          exportedRules,
          retroactiveFailure,
          retroactiveFailedRules);
    }

    State withRetroactiveFailure(String failure, List<PageRule> rules) {
      return new State(lastCounter, exports, queue, exportedDays, exportedRules, failure, rules);
    }

    Optional<Run> run(String runId) {
      return queue.stream().filter(r -> r.runId().equals(runId)).findFirst();
    }

    boolean queued(String exportId) {
      return queue.stream().anyMatch(r -> Objects.equals(r.exportId(), exportId));
    }
  }

  // ---- behaviour ----

  /** Registers the feeds with Cluster Sharding on this node. */
  /**
   * @param registered the exports of the registry (the node's cache): a feed takes the ones that
   *     are its own and that it has not heard of (an {@link Add} lost to a timeout), and stops
   *     those stopped there
   */
  public static void init(
      ActorSystem<?> system,
      DataSyncSettings settings,
      Function<String, Optional<Connection>> connections,
      Supplier<Collection<Export>> registered,
      Runner runner,
      JournalRetention retention) {
    ClusterSharding.get(system)
        .init(
            Entity.of(
                ENTITY_KEY,
                ctx ->
                    create(
                        ctx.getEntityId(), settings, connections, registered, runner, retention)));
  }

  public static Behavior<Command> create(
      String feedId,
      DataSyncSettings settings,
      Function<String, Optional<Connection>> connections,
      Supplier<Collection<Export>> registered,
      Runner runner,
      JournalRetention retention) {
    return Behaviors.setup(
        ctx ->
            Behaviors.withTimers(
                timers -> {
                  timers.startTimerWithFixedDelay(Tick.INSTANCE, settings.checkInterval());
                  return new ExportFeed(
                      ctx, feedId, settings, connections, registered, runner, retention);
                }));
  }

  private final ActorContext<Command> ctx;
  private final String feedId;
  private final String destinationId;
  private final String connectionId;
  private final DataSyncSettings settings;
  private final Function<String, Optional<Connection>> connections;
  private final Supplier<Collection<Export>> registered;
  private final Runner runner;
  private final JournalRetention retention;

  /** The run being written, or null (not persisted: after a restart the head run starts again). */
  private String running;

  /** The run being written as it is written (a retroactive run's days and pages are fixed then). */
  private Run runningAs;

  private List<PageRule> runningRules;
  private String progress;

  /** Set when this incarnation stops: its run in progress stops and is never listed. */
  private final AtomicBoolean stopped = new AtomicBoolean();

  private ExportFeed(
      ActorContext<Command> ctx,
      String feedId,
      DataSyncSettings settings,
      Function<String, Optional<Connection>> connections,
      Supplier<Collection<Export>> registered,
      Runner runner,
      JournalRetention retention) {
    super(
        PersistenceId.of(ENTITY_KEY.name(), feedId),
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(10), 0.2));
    int sep = feedId.indexOf('~');
    if (sep < 0) throw new IllegalArgumentException("not a feed id: " + feedId);
    this.ctx = ctx;
    this.feedId = feedId;
    this.destinationId = feedId.substring(0, sep);
    this.connectionId = feedId.substring(sep + 1);
    this.settings = settings;
    this.connections = connections;
    this.registered = registered;
    this.runner = runner;
    this.retention = retention;
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
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(
            RecoveryCompleted.instance(),
            state -> {
              if (!state.queue().isEmpty()) {
                ctx.getLog()
                    .info(
                        "Export feed {} recovered with {} runs to do; starting {}",
                        feedId,
                        state.queue().size(),
                        state.queue().get(0).runId());
                ctx.getSelf().tell(Tick.INSTANCE);
              }
            })
        .onSignal(PostStop.instance(), state -> stopped.set(true))
        .onSignal(PreRestart.instance(), state -> stopped.set(true))
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
        .onCommand(Add.class, this::onAdd)
        .onCommand(Stop.class, this::onStop)
        .onCommand(Get.class, (state, cmd) -> Effect().reply(cmd.replyTo(), view(state, cmd)))
        .onCommand(Wake.class, (state, cmd) -> Effect().noReply())
        .onCommand(Tick.class, (state, cmd) -> onTick(state))
        .onCommand(
            Progress.class,
            (state, cmd) -> {
              if (cmd.runId().equals(running)) progress = cmd.text();
              return Effect().noReply();
            })
        .onCommand(RunSucceeded.class, this::onSucceeded)
        .onCommand(RunFailedToWrite.class, this::onFailed)
        .build();
  }

  private ReplyEffect<Event, State> onAdd(State state, Add cmd) {
    Export x = cmd.export();
    if (state.exports().containsKey(x.id())) {
      return Effect().reply(cmd.replyTo(), StatusReply.ack());
    }
    Run first = firstRun(x, Instant.now());
    return Effect()
        .persist(new ExportAdded(x, first))
        .thenRun(s -> ctx.getSelf().tell(Tick.INSTANCE))
        .thenReply(cmd.replyTo(), s -> StatusReply.ack());
  }

  /** The run a new export starts with (null for a recurring one: its daily check queues it). */
  private Run firstRun(Export x, Instant now) {
    LocalDate yesterday = now.atZone(ZoneOffset.UTC).toLocalDate().minusDays(1);
    return switch (x.type()) {
      case one_time -> {
        List<String> days = new ArrayList<>();
        for (LocalDate d = LocalDate.parse(x.from());
            !d.isAfter(LocalDate.parse(x.to()));
            d = d.plusDays(1)) days.add(d.toString());
        yield newRun(x.id(), "regular", days, null, null);
      }
      case test ->
          newRun(
              x.id(),
              "test",
              List.of(x.from() == null ? yesterday.toString() : x.from()),
              null,
              null);
      case recurring -> null;
    };
  }

  private static Run newRun(
      String exportId, String kind, List<String> days, List<String> pages, String recurringDay) {
    return new Run(
        UUID.randomUUID().toString(), exportId, kind, days, pages, recurringDay, 0, 0, null);
  }

  private ReplyEffect<Event, State> onStop(State state, Stop cmd) {
    ExportState x = state.exports().get(cmd.exportId());
    if (x == null || x.stopped()) return Effect().reply(cmd.replyTo(), StatusReply.ack());
    return Effect()
        .persist(new ExportStopped(cmd.exportId()))
        .thenReply(cmd.replyTo(), s -> StatusReply.ack());
  }

  private ExportView view(State state, Get cmd) {
    ExportState x = state.exports().get(cmd.exportId());
    if (x == null) return new ExportView("unknown", 0, 0, 0, null, null, null, 0);
    Optional<Run> queued =
        state.queue().stream().filter(r -> cmd.exportId().equals(r.exportId())).findFirst();
    String status;
    String message = null;
    if (queued.isPresent()) {
      status = "in_progress";
      Run r = queued.get();
      if (r.lastError() != null)
        message = "attempt " + r.attempts() + " failed (retried): " + r.lastError();
    } else if (x.failure() != null) {
      status = "failed";
      message = x.failure();
    } else if (x.stopped()) {
      status = "stopped";
    } else if (x.export().type() == Export.Type.recurring
        && !connections.apply(connectionId).map(Connection::active).orElse(false)) {
      status = x.runsCompleted() > 0 ? "complete" : "failed";
      message = "its connection was deleted: no more daily runs";
    } else if (x.export().type() == Export.Type.recurring) {
      status = x.runsCompleted() > 0 ? "complete" : "in_progress";
      if (x.runsCompleted() == 0)
        message = "waiting for its first daily run at " + settings.dailyAt() + " UTC";
    } else {
      status = x.runsCompleted() > 0 ? "complete" : "in_progress";
    }
    if (message == null && state.retroactiveFailure() != null)
      message =
          "the retroactive export after the last page rule change failed: "
              + state.retroactiveFailure();
    String runningProgress =
        queued.isPresent() && queued.get().runId().equals(running) ? progress : null;
    return new ExportView(
        status,
        x.lastSuccessfulAtMillis(),
        x.counter(),
        x.storageSize(),
        x.rootUrl(),
        message,
        runningProgress,
        x.runsCompleted());
  }

  private ReplyEffect<Event, State> onTick(State state) {
    List<Event> events = new ArrayList<>();
    Instant now = Instant.now();
    // The registry is the list of exports: take what this feed missed.
    for (Export x : registered.get()) {
      if (!x.feedId().equals(feedId)) continue;
      ExportState known = state.exports().get(x.id());
      if (known == null && x.active()) events.add(new ExportAdded(x, firstRun(x, now)));
      else if (known != null && !x.active() && !known.stopped())
        events.add(new ExportStopped(x.id()));
    }
    // Recurring exports due today.
    ZonedDateTime utc = now.atZone(ZoneOffset.UTC);
    LocalDate today = utc.toLocalDate();
    // A deleted connection gets no more daily runs (what it accepted is still in its archive;
    // one-time exports of it still run).
    boolean active = connections.apply(connectionId).map(Connection::active).orElse(false);
    if (active && !utc.toLocalTime().isBefore(settings.dailyAt())) {
      for (ExportState x : state.exports().values()) {
        if (x.stopped() || x.export().type() != Export.Type.recurring) continue;
        if (today.toString().equals(x.lastRecurringDay()) || state.queued(x.export().id()))
          continue;
        Set<String> days = new TreeSet<>();
        days.add(today.minusDays(1).toString());
        days.add(today.minusDays(x.export().finalizeAfterDays()).toString());
        events.add(
            new RunQueued(
                newRun(x.export().id(), "regular", List.copyOf(days), null, today.toString())));
      }
    }
    // Pages changed since the exported days were written: a retroactive export.
    Optional<Connection> connection = connections.apply(connectionId);
    if (connection.isPresent()
        && state.exportedRules() != null
        && !state.exportedDays().isEmpty()
        && state.queue().stream().noneMatch(Run::retroactive)
        && !connection.get().pageRules().equals(state.retroactiveFailedRules())) {
      Set<String> changed = changedPages(state.exportedRules(), connection.get().pageRules());
      if (!changed.isEmpty()) {
        ctx.getLog()
            .info(
                "Page rules of connection {} changed ({}): a retroactive export of {} days follows",
                connectionId,
                changed,
                state.exportedDays().size());
        events.add(
            new RunQueued(
                newRun(null, "retroactive", state.exportedDays(), List.copyOf(changed), null)));
      }
    }
    if (!events.isEmpty()) {
      return Effect().persist(events).thenRun(s -> ctx.getSelf().tell(Tick.INSTANCE)).thenNoReply();
    }
    if (running == null && !state.queue().isEmpty()) {
      Run head = state.queue().get(0);
      if (head.notBeforeMillis() <= now.toEpochMilli()) start(state, head, connection);
    }
    return Effect().noReply();
  }

  /** Pages added, changed or removed between {@code before} and {@code after}. */
  static Set<String> changedPages(List<PageRule> before, List<PageRule> after) {
    Map<String, PageRule> old = new LinkedHashMap<>();
    before.forEach(r -> old.put(r.id(), r));
    Set<String> changed = new LinkedHashSet<>();
    for (PageRule r : after) {
      if (!r.equals(old.remove(r.id()))) changed.add(r.id());
    }
    changed.addAll(old.keySet());
    return changed;
  }

  private void start(State state, Run run, Optional<Connection> connection) {
    if (connection.isEmpty()) {
      ctx.getSelf()
          .tell(
              new RunFailedToWrite(
                  run.runId(), "connection " + connectionId + " is not in the registry"));
      running = run.runId();
      return;
    }
    List<PageRule> rules = connection.get().pageRules();
    if (run.retroactive()) {
      // Fixed now, not when queued: every day exported so far, the pages changed since.
      List<String> pages =
          List.copyOf(
              changedPages(
                  state.exportedRules() == null ? List.of() : state.exportedRules(), rules));
      run =
          new Run(
              run.runId(),
              run.exportId(),
              run.kind(),
              state.exportedDays(),
              pages,
              run.recurringDay(),
              run.attempts(),
              run.notBeforeMillis(),
              run.lastError());
    }
    Run as = run;
    running = run.runId();
    runningAs = run;
    runningRules = rules;
    progress = "starting (" + run.days().size() + " days)";
    ActorRef<Command> self = ctx.getSelf();
    int total = run.days().size();
    int[] done = {0};
    ctx.getLog()
        .info(
            "Export {} of connection {} to {}: {} run {} over {} days ({} .. {})",
            run.exportId() == null ? "(retroactive)" : run.exportId(),
            connectionId,
            destinationId,
            run.kind(),
            run.runId(),
            total,
            run.days().get(0),
            run.days().get(total - 1));
    ctx.pipeToSelf(
        runner.run(
            connection.get(),
            destinationId,
            as,
            state.lastCounter(),
            line ->
                self.tell(
                    new Progress(
                        as.runId(), line + " (" + (++done[0]) + " of " + total + " days)")),
            stopped::get),
        (published, failure) ->
            failure == null
                ? new RunSucceeded(as.runId(), published)
                : new RunFailedToWrite(as.runId(), RootCause.describe(failure)));
  }

  private ReplyEffect<Event, State> onSucceeded(State state, RunSucceeded cmd) {
    Run written = runningAs;
    List<PageRule> rules = runningRules == null ? List.of() : runningRules;
    running = null;
    runningAs = null;
    runningRules = null;
    progress = null;
    Optional<Run> run = state.run(cmd.runId());
    if (run.isEmpty()) return Effect().noReply();
    List<String> days =
        written != null && written.runId().equals(cmd.runId()) ? written.days() : run.get().days();
    Published p = cmd.published();
    ctx.getLog()
        .info(
            "Export run {} of connection {} listed as counter {} ({} events, {} bytes, {})",
            cmd.runId(),
            connectionId,
            p.counter(),
            p.events(),
            p.storageSize(),
            p.rootUrl());
    return Effect()
        .persist(new RunCompleted(cmd.runId(), p, days, rules))
        .thenRun(s -> ctx.getSelf().tell(Tick.INSTANCE))
        .thenNoReply();
  }

  private ReplyEffect<Event, State> onFailed(State state, RunFailedToWrite cmd) {
    List<PageRule> rules = runningRules;
    running = null;
    runningAs = null;
    runningRules = null;
    progress = null;
    Optional<Run> run = state.run(cmd.runId());
    if (run.isEmpty()) return Effect().noReply();
    Run r = run.get();
    boolean givenUp = r.attempts() + 1 >= settings.maxAttempts();
    long retryAt = System.currentTimeMillis() + settings.retry().delay(r.attempts() + 1).toMillis();
    ctx.getLog()
        .warn(
            "Export run {} of connection {} failed (attempt {} of {}{}): {}",
            r.runId(),
            connectionId,
            r.attempts() + 1,
            settings.maxAttempts(),
            givenUp ? ", given up" : "",
            cmd.error());
    return Effect()
        .persist(
            new RunFailed(
                r.failed(cmd.error(), retryAt), givenUp, r.retroactive() && givenUp ? rules : null))
        .thenRun(s -> ctx.getSelf().tell(Tick.INSTANCE))
        .thenNoReply();
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder()
        .forAnyState()
        .onEvent(
            ExportAdded.class,
            (state, e) -> {
              State s = state.withExport(ExportState.of(e.export()));
              if (e.run() == null) return s;
              List<Run> q = new ArrayList<>(s.queue());
              q.add(e.run());
              return s.withQueue(q);
            })
        .onEvent(
            RunQueued.class,
            (state, e) -> {
              List<Run> q = new ArrayList<>(state.queue());
              q.add(e.run());
              State s = state.withQueue(q);
              ExportState x =
                  e.run().exportId() == null ? null : s.exports().get(e.run().exportId());
              if (x != null && e.run().recurringDay() != null)
                s = s.withExport(x.ranFor(e.run().recurringDay()));
              return s;
            })
        .onEvent(
            RunCompleted.class,
            (state, e) -> {
              Run run = state.run(e.runId()).orElse(null);
              List<Run> q = new ArrayList<>(state.queue());
              q.removeIf(r -> r.runId().equals(e.runId()));
              Set<String> days = new TreeSet<>(state.exportedDays());
              boolean first = state.exportedRules() == null || state.exportedDays().isEmpty();
              days.addAll(e.days());
              List<PageRule> rules =
                  first || (run != null && run.retroactive()) ? e.rules() : state.exportedRules();
              Map<String, ExportState> exports = new LinkedHashMap<>(state.exports());
              if (run != null && run.exportId() != null && exports.containsKey(run.exportId()))
                exports.put(run.exportId(), exports.get(run.exportId()).completed(e.published()));
              boolean retro = run != null && run.retroactive();
              return new State(
                  Math.max(state.lastCounter(), e.published().counter()),
                  exports,
                  q,
                  List.copyOf(days),
                  rules,
                  retro ? null : state.retroactiveFailure(),
                  retro ? null : state.retroactiveFailedRules());
            })
        .onEvent(
            RunFailed.class,
            (state, e) -> {
              List<Run> q = new ArrayList<>(state.queue());
              q.replaceAll(r -> r.runId().equals(e.run().runId()) ? e.run() : r);
              if (e.givenUp()) q.removeIf(r -> r.runId().equals(e.run().runId()));
              State s = state.withQueue(q);
              ExportState x =
                  e.run().exportId() == null ? null : s.exports().get(e.run().exportId());
              if (e.givenUp() && e.run().retroactive())
                s =
                    s.withRetroactiveFailure(
                        "gave up after " + e.run().attempts() + " attempts: " + e.run().lastError(),
                        e.rules());
              if (x != null && e.givenUp())
                s =
                    s.withExport(
                        x.failure(
                            "gave up after "
                                + e.run().attempts()
                                + " attempts: "
                                + e.run().lastError()));
              return s;
            })
        .onEvent(
            ExportStopped.class,
            (state, e) -> {
              ExportState x = state.exports().get(e.exportId());
              // The head run may be being written: it is let finish (listed, its counter used).
              List<Run> q = new ArrayList<>();
              for (Run r : state.queue()) {
                if (q.isEmpty() || !e.exportId().equals(r.exportId())) q.add(r);
              }
              return state.withExport(x.stop()).withQueue(q);
            })
        .build();
  }
}
