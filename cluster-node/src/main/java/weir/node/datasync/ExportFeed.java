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
   * @param rules the page rules it is written with; null until it starts ({@link RunStarted})
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
      String lastError,
      List<PageRule> rules)
      implements CborSerializable {
    public Run {
      days = List.copyOf(days);
      pages = pages == null ? List.of() : List.copyOf(pages);
      rules = rules == null ? null : List.copyOf(rules);
    }

    Run failed(String error, long retryAt) {
      return new Run(
          runId, exportId, kind, days, pages, recurringDay, attempts + 1, retryAt, error, rules);
    }

    /** The run as it is written: its days, pages and page rules fixed. */
    Run started(List<String> days, List<String> pages, List<PageRule> rules) {
      return new Run(
          runId,
          exportId,
          kind,
          days,
          pages,
          recurringDay,
          attempts,
          notBeforeMillis,
          lastError,
          rules);
    }

    /** Whether it was started ({@link RunStarted}): then it is redone exactly so. */
    public boolean isStarted() {
      return rules != null;
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

  private record RunSucceeded(String runId, String attempt, Published published)
      implements Command {}

  private record RunFailedToWrite(String runId, String attempt, String error) implements Command {}

  private record Progress(String runId, String text) implements Command {}

  // ---- events ----

  public sealed interface Event extends CborSerializable {}

  public record ExportAdded(Export export, Run run) implements Event {}

  public record RunQueued(Run run) implements Event {}

  /**
   * The head run, about to be written, with what it is written with (days within the archive's
   * retention, a retroactive run's pages, the page rules): redone exactly so after a restart.
   */
  public record RunStarted(Run run) implements Event {}

  /** A run that will not be written: its export was stopped before it ran. */
  public record RunDropped(String runId) implements Event {}

  public record RunCompleted(
      String runId, Published published, List<String> days, List<PageRule> rules)
      implements Event {}

  /**
   * @param rules for a retroactive run given up, the page rules it was for (no retroactive run is
   *     queued again until they change)
   */
  public record RunFailed(Run run, boolean givenUp, List<PageRule> rules) implements Event {}

  /**
   * @param dropHead whether its run at the head of the queue goes too (it was not being written)
   */
  public record ExportStopped(String exportId, boolean dropHead) implements Event {}

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
      boolean stopped,
      List<String> missedDays)
      implements CborSerializable {
    public ExportState {
      missedDays = missedDays == null ? List.of() : List.copyOf(missedDays);
    }

    static ExportState of(Export x) {
      return new ExportState(x, 0, 0, 0, null, null, null, 0, false, List.of());
    }

    /** A recurring export's days whose run was given up: the next daily run covers them too. */
    ExportState missed(List<String> days) {
      Set<String> all = new TreeSet<>(missedDays);
      all.addAll(days);
      return new ExportState(
          export,
          lastSuccessfulAtMillis,
          counter,
          storageSize,
          rootUrl,
          failure,
          lastRecurringDay,
          runsCompleted,
          stopped,
          List.copyOf(all));
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
          stopped,
          missedDays);
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
          stopped,
          missedDays);
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
          stopped,
          List.of());
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
          true,
          missedDays);
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
   * @param archiveRetentionDays days a connection's staging archive keeps files after loading (-1:
   *     forever): a run leaves out the days the archive may no longer hold, rather than export them
   *     empty (a loader would delete their rows)
   */
  public static void init(
      ActorSystem<?> system,
      DataSyncSettings settings,
      Function<String, Optional<Connection>> connections,
      Supplier<Collection<Export>> registered,
      Function<Connection, Integer> archiveRetentionDays,
      Runner runner,
      JournalRetention retention) {
    ClusterSharding.get(system)
        .init(
            Entity.of(
                ENTITY_KEY,
                ctx ->
                    create(
                        ctx.getEntityId(),
                        settings,
                        connections,
                        registered,
                        archiveRetentionDays,
                        runner,
                        retention)));
  }

  public static Behavior<Command> create(
      String feedId,
      DataSyncSettings settings,
      Function<String, Optional<Connection>> connections,
      Supplier<Collection<Export>> registered,
      Function<Connection, Integer> archiveRetentionDays,
      Runner runner,
      JournalRetention retention) {
    return Behaviors.setup(
        ctx ->
            Behaviors.withTimers(
                timers -> {
                  timers.startTimerWithFixedDelay(Tick.INSTANCE, settings.checkInterval());
                  return new ExportFeed(
                      ctx,
                      feedId,
                      settings,
                      connections,
                      registered,
                      archiveRetentionDays,
                      runner,
                      retention);
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

  private final Function<Connection, Integer> archiveRetentionDays;

  /** The run being written, or null (not persisted: after a restart the head run starts again). */
  private String running;

  /** The attempt being written: what its completion must name (an older one is ignored). */
  private String attempt;

  /** Set when the attempt must stop (the feed stopped or restarts): it is never listed then. */
  private AtomicBoolean cancel;

  private String progress;

  /** The last attempt's work: a new attempt starts once it has ended (it may be cancelled). */
  private CompletionStage<Published> lastWork =
      java.util.concurrent.CompletableFuture.completedFuture(null);

  private ExportFeed(
      ActorContext<Command> ctx,
      String feedId,
      DataSyncSettings settings,
      Function<String, Optional<Connection>> connections,
      Supplier<Collection<Export>> registered,
      Function<Connection, Integer> archiveRetentionDays,
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
    this.archiveRetentionDays = archiveRetentionDays;
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
              // After a restart of the behaviour (a journal failure) nothing is being written.
              running = null;
              attempt = null;
              progress = null;
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
        .onSignal(PostStop.instance(), state -> cancelAttempt())
        .onSignal(PreRestart.instance(), state -> cancelAttempt())
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
        UUID.randomUUID().toString(), exportId, kind, days, pages, recurringDay, 0, 0, null, null);
  }

  private ReplyEffect<Event, State> onStop(State state, Stop cmd) {
    ExportState x = state.exports().get(cmd.exportId());
    if (x == null || x.stopped()) return Effect().reply(cmd.replyTo(), StatusReply.ack());
    boolean dropHead =
        !state.queue().isEmpty()
            && cmd.exportId().equals(state.queue().get(0).exportId())
            && !state.queue().get(0).runId().equals(running);
    return Effect()
        .persist(new ExportStopped(cmd.exportId(), dropHead))
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
    Set<String> stoppedNow = new java.util.HashSet<>();
    for (Export x : registered.get()) {
      if (!x.feedId().equals(feedId)) continue;
      ExportState known = state.exports().get(x.id());
      if (known == null && x.active()) events.add(new ExportAdded(x, firstRun(x, now)));
      else if (known != null && !x.active() && !known.stopped() && stoppedNow.add(x.id()))
        events.add(
            new ExportStopped(
                x.id(),
                !state.queue().isEmpty()
                    && x.id().equals(state.queue().get(0).exportId())
                    && !state.queue().get(0).runId().equals(running)));
    }
    // Recurring exports due today.
    ZonedDateTime utc = now.atZone(ZoneOffset.UTC);
    LocalDate today = utc.toLocalDate();
    // A deleted connection gets no more daily runs (what it accepted is still in its archive;
    // one-time exports of it still run).
    boolean active = connections.apply(connectionId).map(Connection::active).orElse(false);
    if (active && !utc.toLocalTime().isBefore(settings.dailyAt())) {
      for (ExportState x : state.exports().values()) {
        if (x.stopped()
            || stoppedNow.contains(x.export().id())
            || x.export().type() != Export.Type.recurring) continue;
        if (today.toString().equals(x.lastRecurringDay()) || state.queued(x.export().id()))
          continue;
        // Today's pair, the pairs of days whose daily run never came (the node was down, an
        // earlier run was still going; at most a month back) and the days of a run given up.
        Set<String> days = new TreeSet<>(x.missedDays());
        LocalDate from =
            x.lastRecurringDay() == null
                ? today
                : LocalDate.parse(x.lastRecurringDay()).plusDays(1);
        if (from.isBefore(today.minusDays(30))) {
          ctx.getLog()
              .warn(
                  "Recurring export {} last ran for {}: catching up the last 30 days only; export"
                      + " the days before with a one_time export",
                  x.export().id(),
                  x.lastRecurringDay());
          from = today.minusDays(30);
        }
        for (LocalDate d = from; !d.isAfter(today); d = d.plusDays(1)) {
          days.add(d.minusDays(1).toString());
          days.add(d.minusDays(x.export().finalizeAfterDays()).toString());
        }
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
      if (head.notBeforeMillis() > now.toEpochMilli()) return Effect().noReply();
      if (connection.isEmpty()) {
        failHead(head, "connection " + connectionId + " is not in the registry");
        return Effect().noReply();
      }
      ExportState owner = head.exportId() == null ? null : state.exports().get(head.exportId());
      if (owner != null && owner.stopped()) {
        return Effect()
            .persist(new RunDropped(head.runId()))
            .thenRun(s -> ctx.getSelf().tell(Tick.INSTANCE))
            .thenNoReply();
      }
      Run run;
      if (head.isStarted()) {
        // Redone as it was started, but never with a day the archive may have lost since.
        run =
            head.started(
                archived(head.days(), connection.get(), today, head), head.pages(), head.rules());
        if (run.equals(head)) {
          begin(state, head, connection.get());
          return Effect().noReply();
        }
      } else {
        run = asWritten(state, head, connection.get(), today);
      }
      if (run.days().isEmpty()) {
        failHead(
            head,
            "every day of this run ("
                + head.days().get(0)
                + (head.days().size() > 1 ? " .. " + head.days().get(head.days().size() - 1) : "")
                + ") is older than connection "
                + connectionId
                + "'s staging archive keeps files ("
                + archiveRetentionDays.apply(connection.get())
                + " days after loading); nothing was exported");
        return Effect().noReply();
      }
      running = run.runId();
      Connection c = connection.get();
      return Effect().persist(new RunStarted(run)).thenRun(s -> begin(s, run, c)).thenNoReply();
    }
    return Effect().noReply();
  }

  /**
   * The head run as it will be written: a retroactive run covers every day exported so far and the
   * pages changed since; days the archive may no longer hold (older than its retention) are left
   * out, so that no export lists them empty; the page rules are the connection's now.
   */
  private Run asWritten(State state, Run head, Connection connection, LocalDate today) {
    List<PageRule> rules = connection.pageRules();
    List<String> days = head.retroactive() ? state.exportedDays() : head.days();
    List<String> pages =
        head.retroactive()
            ? List.copyOf(
                changedPages(
                    state.exportedRules() == null ? List.of() : state.exportedRules(), rules))
            : head.pages();
    return head.started(archived(days, connection, today, head), pages, rules);
  }

  /**
   * {@code days} without those the connection's archive may no longer hold ({@link ArchiveWindow}).
   */
  private List<String> archived(
      List<String> days, Connection connection, LocalDate today, Run run) {
    int retention = archiveRetentionDays.apply(connection);
    Optional<LocalDate> oldest = ArchiveWindow.oldestDay(retention, today);
    if (oldest.isEmpty()) return days;
    String first = oldest.get().toString();
    List<String> kept = days.stream().filter(d -> d.compareTo(first) >= 0).toList();
    if (kept.size() < days.size())
      ctx.getLog()
          .warn(
              "Export run {} of connection {}: {} of its {} days are older than the staging"
                  + " archive keeps files ({} days after loading) and are left out",
              run.runId(),
              connectionId,
              days.size() - kept.size(),
              days.size(),
              retention);
    return kept;
  }

  /** Fails the head run without writing it (the failure goes through {@link #onFailed}). */
  private void failHead(Run head, String error) {
    running = head.runId();
    attempt = UUID.randomUUID().toString();
    ctx.getSelf().tell(new RunFailedToWrite(head.runId(), attempt, error));
  }

  private void cancelAttempt() {
    if (cancel != null) cancel.set(true);
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

  /** Writes {@code run} (started: its days, pages and rules fixed) off the actor. */
  private void begin(State state, Run run, Connection connection) {
    running = run.runId();
    String mine = UUID.randomUUID().toString();
    attempt = mine;
    AtomicBoolean cancelled = new AtomicBoolean();
    cancel = cancelled;
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
    long lastCounter = state.lastCounter();
    // After a restart of the behaviour an earlier attempt may still be writing (it stops at its
    // next day, cancelled): this one starts once it has ended, never beside it.
    CompletionStage<Published> work =
        lastWork
            .handle((ignored, failure) -> null)
            .thenCompose(
                ignored ->
                    runner.run(
                        connection.withPageRules(run.rules()),
                        destinationId,
                        run,
                        lastCounter,
                        line ->
                            self.tell(
                                new Progress(
                                    run.runId(),
                                    line + " (" + (++done[0]) + " of " + total + " days)")),
                        cancelled::get));
    lastWork = work;
    ctx.pipeToSelf(
        work,
        (published, failure) ->
            failure == null
                ? new RunSucceeded(run.runId(), mine, published)
                : new RunFailedToWrite(run.runId(), mine, RootCause.describe(failure)));
  }

  private ReplyEffect<Event, State> onSucceeded(State state, RunSucceeded cmd) {
    if (!cmd.attempt().equals(attempt)) return Effect().noReply();
    running = null;
    attempt = null;
    cancel = null;
    progress = null;
    Optional<Run> run = state.run(cmd.runId());
    if (run.isEmpty()) return Effect().noReply();
    List<String> days = run.get().days();
    List<PageRule> rules = run.get().rules() == null ? List.of() : run.get().rules();
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
    if (!cmd.attempt().equals(attempt)) return Effect().noReply();
    running = null;
    attempt = null;
    cancel = null;
    progress = null;
    Optional<Run> run = state.run(cmd.runId());
    if (run.isEmpty()) return Effect().noReply();
    Run r = run.get();
    List<PageRule> rules =
        r.rules() != null
            ? r.rules()
            : connections.apply(connectionId).map(Connection::pageRules).orElse(List.of());
    ExportState owner = r.exportId() == null ? null : state.exports().get(r.exportId());
    if (owner != null && owner.stopped()) {
      return Effect()
          .persist(new RunDropped(r.runId()))
          .thenRun(s -> ctx.getSelf().tell(Tick.INSTANCE))
          .thenNoReply();
    }
    boolean givenUp =
        r.attempts() + 1 >= settings.maxAttempts()
            || cmd.error().startsWith("every day of this run");
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
            RunStarted.class,
            (state, e) -> {
              List<Run> q = new ArrayList<>(state.queue());
              q.replaceAll(r -> r.runId().equals(e.run().runId()) ? e.run() : r);
              return state.withQueue(q);
            })
        .onEvent(
            RunDropped.class,
            (state, e) -> {
              List<Run> q = new ArrayList<>(state.queue());
              q.removeIf(r -> r.runId().equals(e.runId()));
              return state.withQueue(q);
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
              if (x != null && e.givenUp() && e.run().recurringDay() != null) {
                // A daily run given up: its days go with the next daily run; the export goes on.
                return s.withExport(
                    x.missed(e.run().days())
                        .failure(
                            "a daily run gave up after "
                                + e.run().attempts()
                                + " attempts (its days go with the next one): "
                                + e.run().lastError()));
              }
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
                boolean head = q.isEmpty() && r == state.queue().get(0);
                if (!e.exportId().equals(r.exportId()) || (head && !e.dropHead())) q.add(r);
              }
              return state.withExport(x.stop()).withQueue(q);
            })
        .build();
  }
}
