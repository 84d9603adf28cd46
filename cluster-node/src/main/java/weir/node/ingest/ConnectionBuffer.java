package weir.node.ingest;

import akka.Done;
import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.SupervisorStrategy;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.TimerScheduler;
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
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import weir.loaders.staging.StagedFile;
import weir.node.load.StagedBatch;
import weir.node.metrics.NodeMetrics;
import weir.node.RootCause;
import weir.persistence.CborSerializable;
import weir.persistence.registry.Connection;
import weir.protocol.Rejection;
import weir.protocol.StagedRow;

/**
 * The durable buffer of one slot of one connection (entity id {@code <connectionId>#<slot>}).
 *
 * <p>Accept: every ingestion request becomes one journal event ({@link EventsAccepted}); the request is
 * answered only after that write succeeded. Requests arrive grouped ({@link AcceptMany}: those that reached
 * this node's {@link SlotBatcher} while the previous write was in flight) and their events are written in one
 * atomic journal write, one row per request. Flush: when the slot holds {@code batch_size} events or its
 * oldest event is {@code batch_interval_seconds} old (or a flush is requested), the buffered events are
 * written to staging by the {@link BatchStager} off the actor; once the files are complete the buffer
 * persists {@link BatchStaged}, which drops those events from its state. Hand-off: every staged batch is
 * then given to the destination's load coordinator through the {@link BatchLedger} until it confirms
 * ({@link BatchHandedOff}); unconfirmed batches are re-sent after a restart (at-least-once; the
 * coordinator deduplicates by batch id). Failed flushes and hand-offs retry with backoff; events stay in
 * the journal until a staged file holds them. Snapshots every {@code snapshot-every} events delete the
 * older journal events.
 *
 * <p>Batch ids are deterministic ({@code <connection>-<slot>-<seq>}): a flush interrupted by a crash is
 * redone under the same id, replacing its files instead of adding new ones.
 */
public final class ConnectionBuffer
    extends EventSourcedBehaviorWithEnforcedReplies<ConnectionBuffer.Command, ConnectionBuffer.Event,
        ConnectionBuffer.State> {

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "ConnectionBuffer");

  /** How many recent dead letters a slot keeps readable. */
  static final int RECENT_DEAD_LETTERS = 100;

  // ---- protocol ----

  public sealed interface Command extends CborSerializable {}

  /** The rows and dead letters of one ingestion request. */
  public record Request(List<StagedRow> rows, List<DeadLetter> deadLetters) implements CborSerializable {}

  /**
   * Persist the requests (one journal event each, in one atomic write), then reply with one verdict per
   * request, in order: accepted, or refused because the slot would exceed {@code max-buffered-events}.
   */
  public record AcceptMany(List<Request> requests, ActorRef<StatusReply<Accepted>> replyTo) implements Command {}

  /** Reply to {@link AcceptMany}: per request, whether its rows are now durable. */
  public record Accepted(List<Boolean> accepted) implements CborSerializable {}

  /** Flush everything buffered now, and reply once all of it is staged and handed off. */
  public record FlushAll(ActorRef<StatusReply<Done>> replyTo) implements Command {}

  /** Start the entity (after a restart of the node) without other effect. */
  public record Wake() implements Command {}

  /** Read the slot's figures. */
  public record GetStatus(ActorRef<BufferStatus> replyTo) implements Command {}

  /** A slot's figures. */
  public record BufferStatus(String entityId, int bufferedEvents, int unconfirmedBatches, long acceptedTotal,
      long stagedEventsTotal, long deadLettersTotal, List<DeadLetter> recentDeadLetters, long lastFlushAtMillis,
      String lastError) implements CborSerializable {}

  private enum Tick implements Command { INSTANCE }

  private record FlushWritten(String batchId, int chunks, List<StagedFile> files, long rows) implements Command {}

  private record FlushFailed(String batchId, String reason) implements Command {}

  private record HandOffConfirmed(String batchId) implements Command {}

  private record HandOffFailed(String batchId, String reason) implements Command {}

  /** A rejected element of a request, kept with its reason. */
  public record DeadLetter(long receivedAtMillis, String code, String message, String payload)
      implements CborSerializable {
    public static DeadLetter of(Rejection r, long receivedAtMillis) {
      return new DeadLetter(receivedAtMillis, r.code(), r.message(), weir.protocol.DeadLetters.truncate(r.payload()));
    }
  }

  // ---- journal ----

  public sealed interface Event extends CborSerializable {}

  /** One request's rows (one chunk) and dead letters. */
  public record EventsAccepted(List<StagedRow> rows, List<DeadLetter> deadLetters, long acceptedAtMillis)
      implements Event {}

  /** The first {@code chunks} chunks are in complete staged files: {@code batch}. */
  public record BatchStaged(StagedBatch batch, int chunks) implements Event {}

  /** The load coordinator has recorded the batch. */
  public record BatchHandedOff(String batchId) implements Event {}

  /**
   * Immutable state. {@code chunks}: buffered rows, one chunk per accepted request, oldest first (a flush
   * takes whole chunks, so replay drops exactly what was staged). {@code unconfirmed}: staged batches not
   * yet recorded by the coordinator.
   */
  public record State(List<Chunk> chunks, int bufferedEvents, List<StagedBatch> unconfirmed, long batchSeq,
      long acceptedTotal, long stagedEventsTotal, long deadLettersTotal, List<DeadLetter> recentDeadLetters,
      long lastFlushAtMillis) implements CborSerializable {

    static State empty() {
      return new State(List.of(), 0, List.of(), 0, 0, 0, 0, List.of(), 0);
    }

    Optional<Long> oldestAcceptedAtMillis() {
      return chunks.isEmpty() ? Optional.empty() : Optional.of(chunks.get(0).acceptedAtMillis());
    }

    State accepted(EventsAccepted e) {
      List<Chunk> nextChunks = chunks;
      if (!e.rows().isEmpty()) {
        nextChunks = new ArrayList<>(chunks.size() + 1);
        nextChunks.addAll(chunks);
        nextChunks.add(new Chunk(e.rows(), e.acceptedAtMillis()));
      }
      List<DeadLetter> recent = recentDeadLetters;
      if (!e.deadLetters().isEmpty()) {
        List<DeadLetter> all = new ArrayList<>(recentDeadLetters);
        all.addAll(e.deadLetters());
        recent = List.copyOf(all.subList(Math.max(0, all.size() - RECENT_DEAD_LETTERS), all.size()));
      }
      // rows include one _weir_dead_letters row per dead letter: those are not accepted events.
      return new State(List.copyOf(nextChunks), bufferedEvents + e.rows().size(), unconfirmed, batchSeq,
          acceptedTotal + e.rows().size() - e.deadLetters().size(), stagedEventsTotal,
          deadLettersTotal + e.deadLetters().size(), recent, lastFlushAtMillis);
    }

    State staged(BatchStaged e) {
      List<Chunk> rest = List.copyOf(chunks.subList(e.chunks(), chunks.size()));
      int remaining = rest.stream().mapToInt(c -> c.rows().size()).sum();
      List<StagedBatch> nextUnconfirmed = new ArrayList<>(unconfirmed);
      nextUnconfirmed.add(e.batch());
      return new State(rest, remaining, List.copyOf(nextUnconfirmed), batchSeq + 1, acceptedTotal,
          stagedEventsTotal + e.batch().rows(), deadLettersTotal, recentDeadLetters, e.batch().stagedAtMillis());
    }

    State handedOff(BatchHandedOff e) {
      return new State(chunks, bufferedEvents,
          unconfirmed.stream().filter(b -> !b.batchId().equals(e.batchId())).toList(), batchSeq, acceptedTotal,
          stagedEventsTotal, deadLettersTotal, recentDeadLetters, lastFlushAtMillis);
    }

    boolean drained() {
      return chunks.isEmpty() && unconfirmed.isEmpty();
    }
  }

  /** The rows of one accepted request. */
  public record Chunk(List<StagedRow> rows, long acceptedAtMillis) implements CborSerializable {}

  // ---- behaviour ----

  /**
   * @param entityId {@code <connectionId>#<slot>}
   * @param connections the local registry cache (settings are read at each flush, so changes apply live)
   */
  public static Behavior<Command> create(String entityId, BufferSettings settings,
      Function<String, Optional<Connection>> connections, BatchStager stager, BatchLedger ledger,
      NodeMetrics metrics) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      timers.startTimerWithFixedDelay(Tick.INSTANCE, settings.tickInterval());
      return new ConnectionBuffer(ctx, entityId, settings, connections, stager, ledger, metrics);
    }));
  }

  private final ActorContext<Command> ctx;
  private final String entityId;
  private final String connectionId;
  private final int slot;
  private final BufferSettings settings;
  private final Function<String, Optional<Connection>> connections;
  private final BatchStager stager;
  private final BatchLedger ledger;
  private final NodeMetrics metrics;

  // Work in progress: not state, it is redone after a restart.
  private String flushInFlight;
  private long flushStartedNanos;
  private boolean flushRequested;
  private long flushRetryAtMillis;
  private int flushFailures;
  private String handOffInFlight;
  private long handOffRetryAtMillis;
  private int handOffFailures;
  private String lastError;
  private final List<ActorRef<StatusReply<Done>>> flushWaiters = new ArrayList<>();

  private ConnectionBuffer(ActorContext<Command> ctx, String entityId, BufferSettings settings,
      Function<String, Optional<Connection>> connections, BatchStager stager, BatchLedger ledger,
      NodeMetrics metrics) {
    super(PersistenceId.of(ENTITY_KEY.name(), entityId),
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(10), 0.2));
    this.ctx = ctx;
    this.entityId = entityId;
    int hash = entityId.lastIndexOf('#');
    this.connectionId = hash < 0 ? entityId : entityId.substring(0, hash);
    this.slot = hash < 0 ? 0 : Integer.parseInt(entityId.substring(hash + 1));
    this.settings = settings;
    this.connections = connections;
    this.stager = stager;
    this.ledger = ledger;
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
          if (state.bufferedEvents() > 0 || !state.unconfirmed().isEmpty()) {
            ctx.getLog().info("Buffer {} recovered with {} buffered events and {} batches to hand off",
                entityId, state.bufferedEvents(), state.unconfirmed().size());
          }
          progress(state);
        })
        .build();
  }

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    return newCommandHandlerWithReplyBuilder()
        .forAnyState()
        .onCommand(AcceptMany.class, this::onAccept)
        .onCommand(FlushAll.class, (state, cmd) -> {
          flushWaiters.add(cmd.replyTo());
          flushRequested = true;
          flushRetryAtMillis = 0;
          handOffRetryAtMillis = 0;
          progress(state);
          return Effect().noReply();
        })
        .onCommand(Wake.class, (state, cmd) -> Effect().noReply())
        .onCommand(GetStatus.class, (state, cmd) -> Effect().reply(cmd.replyTo(),
            new BufferStatus(entityId, state.bufferedEvents(), state.unconfirmed().size(), state.acceptedTotal(),
                state.stagedEventsTotal(), state.deadLettersTotal(), state.recentDeadLetters(),
                state.lastFlushAtMillis(), lastError)))
        .onCommand(Tick.class, (state, cmd) -> {
          progress(state);
          return Effect().noReply();
        })
        .onCommand(FlushWritten.class, this::onFlushWritten)
        .onCommand(FlushFailed.class, (state, cmd) -> {
          flushInFlight = null;
          flushFailures++;
          metrics.increment("weir_retries_total", 1, "stage", "flush");
          lastError = "flush failed: " + cmd.reason();
          Duration delay = settings.retry().delay(flushFailures);
          flushRetryAtMillis = System.currentTimeMillis() + delay.toMillis();
          ctx.getLog().warn("Flush of {} failed (attempt {}), retrying in {} ms: {}", cmd.batchId(), flushFailures,
              delay.toMillis(), cmd.reason());
          return Effect().noReply();
        })
        .onCommand(HandOffConfirmed.class, (state, cmd) -> {
          handOffInFlight = null;
          handOffFailures = 0;
          return Effect().persist(new BatchHandedOff(cmd.batchId())).thenRun(this::progress).thenNoReply();
        })
        .onCommand(HandOffFailed.class, (state, cmd) -> {
          handOffInFlight = null;
          handOffFailures++;
          metrics.increment("weir_retries_total", 1, "stage", "handoff");
          lastError = "hand-off failed: " + cmd.reason();
          Duration delay = settings.retry().delay(handOffFailures);
          handOffRetryAtMillis = System.currentTimeMillis() + delay.toMillis();
          ctx.getLog().warn("Hand-off of {} failed (attempt {}), retrying in {} ms: {}", cmd.batchId(),
              handOffFailures, delay.toMillis(), cmd.reason());
          return Effect().noReply();
        })
        .build();
  }

  private ReplyEffect<Event, State> onAccept(State state, AcceptMany cmd) {
    long now = System.currentTimeMillis();
    int buffered = state.bufferedEvents();
    List<Event> events = new ArrayList<>(cmd.requests().size());
    List<Boolean> verdicts = new ArrayList<>(cmd.requests().size());
    for (Request r : cmd.requests()) {
      boolean fits = r.rows().isEmpty() || buffered + r.rows().size() <= settings.maxBufferedEvents();
      verdicts.add(fits);
      if (fits) {
        buffered += r.rows().size();
        events.add(new EventsAccepted(r.rows(), r.deadLetters(), now));
      }
    }
    Accepted reply = new Accepted(List.copyOf(verdicts));
    if (events.isEmpty()) return Effect().reply(cmd.replyTo(), StatusReply.success(reply));
    return Effect().persist(events).thenRun(this::progress).thenReply(cmd.replyTo(), s -> StatusReply.success(reply));
  }

  private ReplyEffect<Event, State> onFlushWritten(State state, FlushWritten cmd) {
    flushInFlight = null;
    metrics.observe("weir_flush_seconds", (System.nanoTime() - flushStartedNanos) / 1e9, "connection", connectionId);
    metrics.increment("weir_flushed_events_total", cmd.rows(), "connection", connectionId);
    flushFailures = 0;
    flushRetryAtMillis = 0;
    lastError = null;
    Optional<Connection> connection = connections.apply(connectionId);
    String destinationId = connection.map(Connection::destinationId).orElse("");
    StagedBatch batch = new StagedBatch(cmd.batchId(), connectionId, destinationId, cmd.files(), cmd.rows(),
        System.currentTimeMillis());
    return Effect().persist(new BatchStaged(batch, cmd.chunks())).thenRun(this::progress).thenNoReply();
  }

  /** Starts whatever work is due: a flush, a hand-off; answers flush waiters once drained. */
  private void progress(State state) {
    long now = System.currentTimeMillis();
    metrics.set("weir_buffered_events", state.bufferedEvents(), "slot", entityId);
    if (flushInFlight == null && state.bufferedEvents() > 0 && now >= flushRetryAtMillis) {
      Optional<Connection> connection = connections.apply(connectionId);
      if (connection.isEmpty()) {
        lastError = "connection " + connectionId + " is not in the registry (cache not loaded yet?)";
      } else if (flushDue(state, connection.get(), now)) {
        startFlush(state, connection.get());
      }
    }
    if (handOffInFlight == null && !state.unconfirmed().isEmpty() && now >= handOffRetryAtMillis) {
      startHandOff(state.unconfirmed().get(0));
    }
    if (state.drained() && flushInFlight == null) {
      flushRequested = false;
      flushWaiters.forEach(w -> w.tell(StatusReply.ack()));
      flushWaiters.clear();
    }
  }

  private boolean flushDue(State state, Connection c, long now) {
    return flushRequested
        || state.bufferedEvents() >= c.batchSize()
        || state.oldestAcceptedAtMillis().map(t -> now - t >= c.batchIntervalSeconds() * 1000L).orElse(false);
  }

  private void startFlush(State state, Connection connection) {
    String batchId = String.format("%s-%d-%08d", connectionId, slot, state.batchSeq() + 1);
    int chunks = state.chunks().size();
    List<StagedRow> rows = new ArrayList<>(state.bufferedEvents());
    for (Chunk chunk : state.chunks()) rows.addAll(chunk.rows());
    flushInFlight = batchId;
    flushStartedNanos = System.nanoTime();
    ctx.pipeToSelf(stager.stage(connection, batchId, rows), (files, error) -> error == null
        ? new FlushWritten(batchId, chunks, files, rows.size())
        : new FlushFailed(batchId, RootCause.describe(error)));
  }

  private void startHandOff(StagedBatch batch) {
    handOffInFlight = batch.batchId();
    StagedBatch toSend = batch;
    if (batch.destinationId().isEmpty()) {
      // Staged while the registry cache was not loaded: fill in the destination now.
      Optional<Connection> connection = connections.apply(connectionId);
      if (connection.isEmpty()) {
        handOffInFlight = null;
        handOffRetryAtMillis = System.currentTimeMillis() + settings.retry().delay(++handOffFailures).toMillis();
        return;
      }
      toSend = new StagedBatch(batch.batchId(), batch.connectionId(), connection.get().destinationId(),
          batch.files(), batch.rows(), batch.stagedAtMillis());
    }
    String batchId = batch.batchId();
    ctx.pipeToSelf(ledger.record(toSend), (done, error) -> error == null
        ? new HandOffConfirmed(batchId)
        : new HandOffFailed(batchId, RootCause.describe(error)));
  }


  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder()
        .forAnyState()
        .onEvent(EventsAccepted.class, State::accepted)
        .onEvent(BatchStaged.class, State::staged)
        .onEvent(BatchHandedOff.class, State::handedOff)
        .build();
  }
}
