package weir.node.ingest;

import akka.Done;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.actor.typed.PostStop;
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
import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import weir.node.RootCause;
import weir.node.load.StagedBatch;
import weir.node.metrics.NodeMetrics;
import weir.persistence.CborSerializable;
import weir.persistence.JournalRetention;
import weir.persistence.registry.Connection;
import weir.protocol.DeadLetters;
import weir.protocol.Rejection;
import weir.protocol.StagedRow;

/**
 * The durable buffer of one slot of one connection (entity id {@code <connectionId>#<slot>}).
 *
 * <p>Accept: requests arrive grouped ({@link AcceptMany}: those that reached this node's {@link
 * SlotBatcher} while the previous write was in flight); the requests of a group that fit the slot
 * become one journal event ({@link EventsAppended}: their rows as {@link RowCodec} bytes, one per
 * event plus one per dead letter), and each is answered only after that write succeeded. One
 * journal row per group, not per request: the journal's cost is per row and per commit, so a busy
 * slot writes dozens of requests for the price of one. Flush: when the slot holds {@code
 * batch_size} events or its oldest event is {@code batch_interval_seconds} old (or a flush is
 * requested), the buffered chunks are written to staging by the {@link BatchStager} off the actor;
 * once the files are complete the buffer persists {@link BatchStaged}, which drops those chunks
 * from its state, snapshots (the state is small right after a flush) and deletes the journal events
 * before the snapshot ({@link JournalRetention}): the journal holds what is not staged yet, plus
 * the batches not handed off. Hand-off: every staged batch is then given to the destination's load
 * coordinator through the {@link BatchHandoff} until it confirms ({@link BatchHandedOff});
 * unconfirmed batches are re-sent after a restart (at-least-once; the coordinator deduplicates by
 * batch id). Failed flushes and hand-offs retry with backoff; events stay in the journal until a
 * staged file holds them.
 *
 * <p>Batch ids are deterministic ({@code <connection>-<slot>-<seq>}): a flush interrupted by a
 * crash is redone under the same id, replacing its files instead of adding new ones.
 *
 * <p>Counts: events are accepted events (not table rows: a Segment track becomes two rows when
 * staged, and a rejection a dead-letter row); {@code batch_size} and {@code max-buffered-events}
 * count events.
 */
public final class ConnectionBuffer
    extends EventSourcedBehaviorWithEnforcedReplies<
        ConnectionBuffer.Command, ConnectionBuffer.Event, ConnectionBuffer.State> {

  public static final EntityTypeKey<Command> ENTITY_KEY =
      EntityTypeKey.create(Command.class, "ConnectionBuffer");

  /** How many recent dead letters a slot keeps readable. */
  static final int RECENT_DEAD_LETTERS = 100;

  // ---- protocol ----

  public sealed interface Command extends CborSerializable {}

  /**
   * The rows and dead letters of one ingestion request.
   *
   * @param events accepted events (the rows besides the dead-letter rows)
   * @param rows {@link RowCodec} bytes: one row per event, then one {@code _weir_dead_letters} row
   *     per rejection
   */
  public record Request(int events, byte[] rows, List<DeadLetter> deadLetters)
      implements CborSerializable {
    /**
     * The request of {@code batch} for {@code connectionId}: its rows, and a dead-letter row per
     * rejection.
     */
    public static Request of(String connectionId, IngestBatch batch) {
      List<StagedRow> rows = batch.rows();
      if (!batch.rejections().isEmpty()) {
        rows = new ArrayList<>(batch.rows());
        for (Rejection r : batch.rejections())
          rows.add(DeadLetters.row(connectionId, r, batch.receivedAt()));
      }
      return new Request(
          batch.rows().size(),
          RowCodec.encode(rows),
          batch.rejections().stream()
              .map(r -> DeadLetter.of(r, batch.receivedAt().toEpochMilli()))
              .toList());
    }
  }

  /**
   * Persist the requests (one journal event each, in one atomic write), then reply with one verdict
   * per request, in order: accepted, or refused because the slot would exceed {@code
   * max-buffered-events}.
   */
  public record AcceptMany(List<Request> requests, ActorRef<StatusReply<Accepted>> replyTo)
      implements Command {}

  /** Reply to {@link AcceptMany}: per request, whether its rows are now durable. */
  public record Accepted(List<Boolean> accepted) implements CborSerializable {}

  /** Flush everything buffered now, and reply once all of it is staged and handed off. */
  public record FlushAll(ActorRef<StatusReply<Done>> replyTo) implements Command {}

  /** Start the entity (after a restart of the node) without other effect. */
  public record Wake() implements Command {}

  /** Read the slot's figures. */
  public record GetStatus(ActorRef<BufferStatus> replyTo) implements Command {}

  /** A slot's figures; events are events, not rows. */
  public record BufferStatus(
      String entityId,
      int bufferedEvents,
      int unconfirmedBatches,
      long acceptedTotal,
      long stagedEventsTotal,
      long deadLettersTotal,
      List<DeadLetter> recentDeadLetters,
      long lastFlushAtMillis,
      String lastError)
      implements CborSerializable {}

  private enum Tick implements Command {
    INSTANCE
  }

  private record FlushWritten(String batchId, int chunks, StagedBatch.Written written)
      implements Command {}

  private record FlushFailed(String batchId, String reason) implements Command {}

  private record HandOffConfirmed(String batchId) implements Command {}

  private record HandOffFailed(String batchId, String reason) implements Command {}

  /** A rejected element of a request, kept with its reason. */
  public record DeadLetter(long receivedAtMillis, String code, String message, String payload)
      implements CborSerializable {
    public static DeadLetter of(Rejection r, long receivedAtMillis) {
      return new DeadLetter(
          receivedAtMillis, r.code(), r.message(), DeadLetters.truncate(r.payload()));
    }
  }

  // ---- journal (a contract: JournalFixtureTest replays a journal written before these changed)
  // ----

  public sealed interface Event extends CborSerializable {}

  /**
   * The events of one group of requests (of one request, in journals written before groups): {@code
   * rows} as {@link RowCodec} bytes (primary rows and dead-letter rows).
   */
  public record EventsAppended(
      int events, byte[] rows, List<DeadLetter> deadLetters, long acceptedAtMillis)
      implements Event {}

  /**
   * Written before {@link EventsAppended} (replayed, no longer written): one request's rows, every
   * table's row of each event already derived, as CBOR records.
   */
  public record EventsAccepted(
      List<LegacyRow> rows, List<DeadLetter> deadLetters, long acceptedAtMillis) implements Event {}

  /**
   * A row of an {@link EventsAccepted} event (the fields of the old {@code
   * weir.protocol.StagedRow}).
   */
  public record LegacyRow(String table, String eventId, long timestampMillis, String json)
      implements CborSerializable {
    StagedRow toRow() {
      return new StagedRow(table, eventId, timestampMillis, json);
    }
  }

  /** The first {@code chunks} chunks are in complete staged files: {@code batch}. */
  public record BatchStaged(StagedBatch batch, int chunks) implements Event {}

  /** The load coordinator has recorded the batch. */
  public record BatchHandedOff(String batchId) implements Event {}

  /**
   * One accepted request's rows, waiting for a flush.
   *
   * @param rows {@link RowCodec} bytes
   * @param events accepted events among them
   * @param expanded whether the rows already include the rows staging derives ({@code
   *     EventTables.expand}): true for chunks journaled before {@link EventsAppended}
   */
  public record Chunk(byte[] rows, int events, long acceptedAtMillis, boolean expanded)
      implements CborSerializable {
    @JsonCreator
    static Chunk fromJson(
        @JsonProperty("rows") JsonNode rows,
        @JsonProperty("events") Integer events,
        @JsonProperty("acceptedAtMillis") long acceptedAtMillis,
        @JsonProperty("expanded") Boolean expanded)
        throws IOException {
      if (rows != null && rows.isBinary()) {
        return new Chunk(
            rows.binaryValue(),
            events == null ? 0 : events,
            acceptedAtMillis,
            Boolean.TRUE.equals(expanded));
      }
      // A snapshot written before EventsAppended: rows as a list of row records.
      List<LegacyRow> legacy = new ArrayList<>();
      if (rows != null) {
        for (JsonNode r : rows) {
          legacy.add(
              new LegacyRow(
                  r.path("table").asText(),
                  r.path("eventId").asText(),
                  r.path("timestampMillis").asLong(),
                  r.path("json").asText()));
        }
      }
      return legacy(legacy, acceptedAtMillis);
    }

    static Chunk legacy(List<LegacyRow> rows, long acceptedAtMillis) {
      Set<String> events = new HashSet<>();
      for (LegacyRow r : rows) if (!r.table().equals(DeadLetters.TABLE)) events.add(r.eventId());
      return new Chunk(
          RowCodec.encode(rows.stream().map(LegacyRow::toRow).toList()),
          events.size(),
          acceptedAtMillis,
          true);
    }
  }

  /**
   * Immutable state. Chunks (one per accepted request, oldest first) are kept as a persistent list,
   * newest first, so that accepting a request is O(1) whatever the slot holds; a flush takes whole
   * chunks, so replay drops exactly what was staged. {@code unconfirmed}: staged batches not yet
   * recorded by the coordinator. Serialized (snapshots) as the list of chunks oldest first;
   * snapshots written before {@link EventsAppended} read too.
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static final class State implements CborSerializable {
    private final ChunkList chunks;
    private final List<StagedBatch> unconfirmed;
    private final long batchSeq;
    private final long acceptedTotal;
    private final long stagedEventsTotal;
    private final long deadLettersTotal;
    private final List<DeadLetter> recentDeadLetters;
    private final long lastFlushAtMillis;

    private State(
        ChunkList chunks,
        List<StagedBatch> unconfirmed,
        long batchSeq,
        long acceptedTotal,
        long stagedEventsTotal,
        long deadLettersTotal,
        List<DeadLetter> recentDeadLetters,
        long lastFlushAtMillis) {
      this.chunks = chunks;
      this.unconfirmed = unconfirmed;
      this.batchSeq = batchSeq;
      this.acceptedTotal = acceptedTotal;
      this.stagedEventsTotal = stagedEventsTotal;
      this.deadLettersTotal = deadLettersTotal;
      this.recentDeadLetters = recentDeadLetters;
      this.lastFlushAtMillis = lastFlushAtMillis;
    }

    @JsonCreator
    static State fromJson(
        @JsonProperty("chunks") List<Chunk> chunks,
        @JsonProperty("unconfirmed") List<StagedBatch> unconfirmed,
        @JsonProperty("batchSeq") long batchSeq,
        @JsonProperty("acceptedTotal") long acceptedTotal,
        @JsonProperty("stagedEventsTotal") long stagedEventsTotal,
        @JsonProperty("deadLettersTotal") long deadLettersTotal,
        @JsonProperty("recentDeadLetters") List<DeadLetter> recentDeadLetters,
        @JsonProperty("lastFlushAtMillis") long lastFlushAtMillis) {
      ChunkList list = ChunkList.EMPTY;
      for (Chunk c : chunks == null ? List.<Chunk>of() : chunks) list = list.append(c);
      return new State(
          list,
          unconfirmed == null ? List.of() : List.copyOf(unconfirmed),
          batchSeq,
          acceptedTotal,
          stagedEventsTotal,
          deadLettersTotal,
          recentDeadLetters == null ? List.of() : List.copyOf(recentDeadLetters),
          lastFlushAtMillis);
    }

    static State empty() {
      return new State(ChunkList.EMPTY, List.of(), 0, 0, 0, 0, List.of(), 0);
    }

    /** The buffered chunks, oldest first (a copy: O(n), for snapshots, flushes and tests). */
    @JsonProperty("chunks")
    public List<Chunk> chunks() {
      return chunks.oldestFirst();
    }

    /** Buffered events (not rows). */
    @JsonIgnore
    public int bufferedEvents() {
      return chunks.events();
    }

    /** Bytes of the buffered rows. */
    @JsonIgnore
    public long bufferedBytes() {
      return chunks.bytes();
    }

    @JsonProperty("unconfirmed")
    public List<StagedBatch> unconfirmed() {
      return unconfirmed;
    }

    @JsonProperty("batchSeq")
    public long batchSeq() {
      return batchSeq;
    }

    /** Events accepted, ever (dead letters not included). */
    @JsonProperty("acceptedTotal")
    public long acceptedTotal() {
      return acceptedTotal;
    }

    @JsonProperty("stagedEventsTotal")
    public long stagedEventsTotal() {
      return stagedEventsTotal;
    }

    @JsonProperty("deadLettersTotal")
    public long deadLettersTotal() {
      return deadLettersTotal;
    }

    @JsonProperty("recentDeadLetters")
    public List<DeadLetter> recentDeadLetters() {
      return recentDeadLetters;
    }

    @JsonProperty("lastFlushAtMillis")
    public long lastFlushAtMillis() {
      return lastFlushAtMillis;
    }

    Optional<Long> oldestAcceptedAtMillis() {
      return chunks.isEmpty() ? Optional.empty() : Optional.of(chunks.oldestAcceptedAtMillis());
    }

    int chunkCount() {
      return chunks.size();
    }

    State appended(Chunk chunk, List<DeadLetter> deadLetters) {
      List<DeadLetter> recent = recentDeadLetters;
      if (!deadLetters.isEmpty()) {
        List<DeadLetter> all = new ArrayList<>(recentDeadLetters);
        all.addAll(deadLetters);
        recent =
            List.copyOf(all.subList(Math.max(0, all.size() - RECENT_DEAD_LETTERS), all.size()));
      }
      return new State(
          chunks.append(chunk),
          unconfirmed,
          batchSeq,
          acceptedTotal + chunk.events(),
          stagedEventsTotal,
          deadLettersTotal + deadLetters.size(),
          recent,
          lastFlushAtMillis);
    }

    State staged(BatchStaged e) {
      List<StagedBatch> nextUnconfirmed = new ArrayList<>(unconfirmed);
      nextUnconfirmed.add(e.batch());
      return new State(
          chunks.dropOldest(e.chunks()),
          List.copyOf(nextUnconfirmed),
          batchSeq + 1,
          acceptedTotal,
          stagedEventsTotal + e.batch().stagedEvents(),
          deadLettersTotal,
          recentDeadLetters,
          e.batch().stagedAtMillis());
    }

    State handedOff(BatchHandedOff e) {
      return new State(
          chunks,
          unconfirmed.stream().filter(b -> !b.batchId().equals(e.batchId())).toList(),
          batchSeq,
          acceptedTotal,
          stagedEventsTotal,
          deadLettersTotal,
          recentDeadLetters,
          lastFlushAtMillis);
    }

    @JsonIgnore
    public boolean drained() {
      return chunks.isEmpty() && unconfirmed.isEmpty();
    }
  }

  /**
   * A persistent list of chunks, newest first, with running totals: append O(1), drop-oldest
   * O(kept).
   */
  static final class ChunkList {
    static final ChunkList EMPTY = new ChunkList(null, null, 0, 0, 0, 0);

    private final Chunk head;
    private final ChunkList older;
    private final int size;
    private final int events;
    private final long bytes;
    private final long oldestAcceptedAtMillis;

    private ChunkList(
        Chunk head,
        ChunkList older,
        int size,
        int events,
        long bytes,
        long oldestAcceptedAtMillis) {
      this.head = head;
      this.older = older;
      this.size = size;
      this.events = events;
      this.bytes = bytes;
      this.oldestAcceptedAtMillis = oldestAcceptedAtMillis;
    }

    ChunkList append(Chunk c) {
      return new ChunkList(
          c,
          this,
          size + 1,
          events + c.events(),
          bytes + c.rows().length,
          size == 0 ? c.acceptedAtMillis() : oldestAcceptedAtMillis);
    }

    /** This list without its {@code n} oldest chunks. */
    ChunkList dropOldest(int n) {
      if (n >= size) return EMPTY;
      List<Chunk> kept = new ArrayList<>(size - n);
      ChunkList node = this;
      for (int i = 0; i < size - n; i++) {
        kept.add(node.head);
        node = node.older;
      }
      ChunkList out = EMPTY;
      for (int i = kept.size() - 1; i >= 0; i--) out = out.append(kept.get(i));
      return out;
    }

    List<Chunk> oldestFirst() {
      Chunk[] out = new Chunk[size];
      ChunkList node = this;
      for (int i = size - 1; i >= 0; i--) {
        out[i] = node.head;
        node = node.older;
      }
      return List.of(out);
    }

    boolean isEmpty() {
      return size == 0;
    }

    int size() {
      return size;
    }

    int events() {
      return events;
    }

    long bytes() {
      return bytes;
    }

    long oldestAcceptedAtMillis() {
      return oldestAcceptedAtMillis;
    }
  }

  // ---- behaviour ----

  /**
   * Registers the buffers with Cluster Sharding on this node.
   *
   * @param connections the local registry cache (settings are read at each flush, so changes apply
   *     live)
   */
  public static void init(
      ActorSystem<?> system,
      BufferSettings settings,
      Function<String, Optional<Connection>> connections,
      BatchStager stager,
      BatchHandoff ledger,
      JournalRetention retention,
      BufferMemory memory,
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
                        stager,
                        ledger,
                        retention,
                        memory,
                        metrics)));
  }

  /**
   * @param entityId {@code <connectionId>#<slot>}
   * @param connections the local registry cache (settings are read at each flush, so changes apply
   *     live)
   */
  public static Behavior<Command> create(
      String entityId,
      BufferSettings settings,
      Function<String, Optional<Connection>> connections,
      BatchStager stager,
      BatchHandoff ledger,
      JournalRetention retention,
      BufferMemory memory,
      NodeMetrics metrics) {
    return Behaviors.setup(
        ctx ->
            Behaviors.withTimers(
                timers -> {
                  timers.startTimerWithFixedDelay(Tick.INSTANCE, settings.tickInterval());
                  return new ConnectionBuffer(
                      ctx,
                      entityId,
                      settings,
                      connections,
                      stager,
                      ledger,
                      retention,
                      memory,
                      metrics);
                }));
  }

  private final ActorContext<Command> ctx;
  private final String entityId;
  private final String connectionId;
  private final int slot;
  private final BufferSettings settings;
  private final Function<String, Optional<Connection>> connections;
  private final BatchStager stager;
  private final BatchHandoff ledger;
  private final JournalRetention retention;
  private final BufferMemory memory;
  private final NodeMetrics metrics;

  /** The bytes of this slot's rows last reported to {@link #memory}. */
  private long accountedBytes;

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

  private ConnectionBuffer(
      ActorContext<Command> ctx,
      String entityId,
      BufferSettings settings,
      Function<String, Optional<Connection>> connections,
      BatchStager stager,
      BatchHandoff ledger,
      JournalRetention retention,
      BufferMemory memory,
      NodeMetrics metrics) {
    super(
        PersistenceId.of(ENTITY_KEY.name(), entityId),
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
    this.retention = retention;
    this.memory = memory;
    this.metrics = metrics;
  }

  @Override
  public State emptyState() {
    return State.empty();
  }

  /**
   * Right after a flush the state is small: snapshot it, then {@link JournalRetention} deletes what
   * precedes.
   */
  @Override
  public boolean shouldSnapshot(State state, Event event, long sequenceNr) {
    return event instanceof BatchStaged;
  }

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(
            RecoveryCompleted.instance(),
            state -> {
              if (state.bufferedEvents() > 0 || !state.unconfirmed().isEmpty()) {
                ctx.getLog()
                    .info(
                        "Buffer {} recovered with {} buffered events and {} batches to hand off",
                        entityId,
                        state.bufferedEvents(),
                        state.unconfirmed().size());
              }
              progress(state);
            })
        .onSignal(PostStop.instance(), state -> accountedBytes = memory.account(accountedBytes, 0))
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
        .onCommand(AcceptMany.class, this::onAccept)
        .onCommand(
            FlushAll.class,
            (state, cmd) -> {
              flushWaiters.add(cmd.replyTo());
              flushRequested = true;
              flushRetryAtMillis = 0;
              handOffRetryAtMillis = 0;
              progress(state);
              return Effect().noReply();
            })
        .onCommand(Wake.class, (state, cmd) -> Effect().noReply())
        .onCommand(
            GetStatus.class,
            (state, cmd) ->
                Effect()
                    .reply(
                        cmd.replyTo(),
                        new BufferStatus(
                            entityId,
                            state.bufferedEvents(),
                            state.unconfirmed().size(),
                            state.acceptedTotal(),
                            state.stagedEventsTotal(),
                            state.deadLettersTotal(),
                            state.recentDeadLetters(),
                            state.lastFlushAtMillis(),
                            lastError)))
        .onCommand(
            Tick.class,
            (state, cmd) -> {
              progress(state);
              return Effect().noReply();
            })
        .onCommand(FlushWritten.class, this::onFlushWritten)
        .onCommand(
            FlushFailed.class,
            (state, cmd) -> {
              flushInFlight = null;
              flushFailures++;
              metrics.increment("weir_retries_total", 1, "stage", "flush");
              lastError = "flush failed: " + cmd.reason();
              Duration delay = settings.retry().delay(flushFailures);
              flushRetryAtMillis = System.currentTimeMillis() + delay.toMillis();
              ctx.getLog()
                  .warn(
                      "Flush of {} failed (attempt {}), retrying in {} ms: {}",
                      cmd.batchId(),
                      flushFailures,
                      delay.toMillis(),
                      cmd.reason());
              return Effect().noReply();
            })
        .onCommand(
            HandOffConfirmed.class,
            (state, cmd) -> {
              handOffInFlight = null;
              handOffFailures = 0;
              return Effect()
                  .persist(new BatchHandedOff(cmd.batchId()))
                  .thenRun(this::progress)
                  .thenNoReply();
            })
        .onCommand(
            HandOffFailed.class,
            (state, cmd) -> {
              handOffInFlight = null;
              handOffFailures++;
              metrics.increment("weir_retries_total", 1, "stage", "handoff");
              lastError = "hand-off failed: " + cmd.reason();
              Duration delay = settings.retry().delay(handOffFailures);
              handOffRetryAtMillis = System.currentTimeMillis() + delay.toMillis();
              ctx.getLog()
                  .warn(
                      "Hand-off of {} failed (attempt {}), retrying in {} ms: {}",
                      cmd.batchId(),
                      handOffFailures,
                      delay.toMillis(),
                      cmd.reason());
              return Effect().noReply();
            })
        .build();
  }

  private ReplyEffect<Event, State> onAccept(State state, AcceptMany cmd) {
    long now = System.currentTimeMillis();
    int buffered = state.bufferedEvents();
    List<Boolean> verdicts = new ArrayList<>(cmd.requests().size());
    List<byte[]> rows = new ArrayList<>(cmd.requests().size());
    List<DeadLetter> deadLetters = new ArrayList<>();
    int events = 0;
    long bytes = 0;
    for (Request r : cmd.requests()) {
      boolean fits =
          r.events() == 0
              || (buffered + r.events() <= settings.maxBufferedEvents()
                  && memory.hasRoom(bytes + r.rows().length));
      verdicts.add(fits);
      if (fits) {
        buffered += r.events();
        events += r.events();
        bytes += r.rows().length;
        rows.add(r.rows());
        deadLetters.addAll(r.deadLetters());
      }
    }
    Accepted reply = new Accepted(List.copyOf(verdicts));
    if (rows.isEmpty()) return Effect().reply(cmd.replyTo(), StatusReply.success(reply));
    return Effect()
        .persist(
            new EventsAppended(
                events,
                rows.size() == 1 ? rows.get(0) : RowCodec.concat(rows),
                List.copyOf(deadLetters),
                now))
        .thenRun(this::progress)
        .thenReply(cmd.replyTo(), s -> StatusReply.success(reply));
  }

  private ReplyEffect<Event, State> onFlushWritten(State state, FlushWritten cmd) {
    flushInFlight = null;
    metrics.observe(
        "weir_flush_seconds",
        (System.nanoTime() - flushStartedNanos) / 1e9,
        "connection",
        connectionId);
    metrics.increment(
        "weir_flushed_events_total", cmd.written().events(), "connection", connectionId);
    flushFailures = 0;
    flushRetryAtMillis = 0;
    lastError = null;
    String destinationId =
        connections.apply(connectionId).map(Connection::destinationId).orElse("");
    StagedBatch batch =
        StagedBatch.of(
            cmd.batchId(), connectionId, destinationId, cmd.written(), System.currentTimeMillis());
    return Effect()
        .persist(new BatchStaged(batch, cmd.chunks()))
        .thenRun(this::progress)
        .thenNoReply();
  }

  /** Starts whatever work is due: a flush, a hand-off; answers flush waiters once drained. */
  private void progress(State state) {
    accountedBytes = memory.account(accountedBytes, state.bufferedBytes());
    long now = System.currentTimeMillis();
    metrics.set("weir_buffered_events", state.bufferedEvents(), "slot", entityId);
    if (flushInFlight == null && state.chunkCount() > 0 && now >= flushRetryAtMillis) {
      Optional<Connection> connection = connections.apply(connectionId);
      if (connection.isEmpty()) {
        lastError =
            "connection " + connectionId + " is not in the registry (cache not loaded yet?)";
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
        || state
            .oldestAcceptedAtMillis()
            .map(t -> now - t >= c.batchIntervalSeconds() * 1000L)
            .orElse(false);
  }

  private void startFlush(State state, Connection connection) {
    String batchId = String.format("%s-%d-%08d", connectionId, slot, state.batchSeq() + 1);
    List<Chunk> chunks = oldestWithin(state.chunks(), settings.maxBatchBytes());
    flushInFlight = batchId;
    flushStartedNanos = System.nanoTime();
    ctx.pipeToSelf(
        stager.stage(connection, batchId, chunks),
        (written, error) ->
            error == null
                ? new FlushWritten(batchId, chunks.size(), written)
                : new FlushFailed(batchId, RootCause.describe(error)));
  }

  /**
   * The oldest chunks holding at most {@code maxBytes} of rows (at least one): a backlog (staging
   * was down, or slower than ingest) is staged in batches of bounded size, one after the other, not
   * in one batch that must be decoded and written whole, in memory, at every retry.
   */
  static List<Chunk> oldestWithin(List<Chunk> chunks, long maxBytes) {
    long bytes = 0;
    int n = 0;
    while (n < chunks.size() && (n == 0 || bytes + chunks.get(n).rows().length <= maxBytes)) {
      bytes += chunks.get(n).rows().length;
      n++;
    }
    return n == chunks.size() ? chunks : chunks.subList(0, n);
  }

  private void startHandOff(StagedBatch batch) {
    handOffInFlight = batch.batchId();
    StagedBatch toSend = batch;
    if (batch.destinationId().isEmpty()) {
      // Staged while the registry cache was not loaded: fill in the destination now.
      Optional<Connection> connection = connections.apply(connectionId);
      if (connection.isEmpty()) {
        handOffInFlight = null;
        handOffRetryAtMillis =
            System.currentTimeMillis() + settings.retry().delay(++handOffFailures).toMillis();
        return;
      }
      toSend = batch.withDestination(connection.get().destinationId());
    }
    String batchId = batch.batchId();
    ctx.pipeToSelf(
        ledger.record(toSend),
        (done, error) ->
            error == null
                ? new HandOffConfirmed(batchId)
                : new HandOffFailed(batchId, RootCause.describe(error)));
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder()
        .forAnyState()
        .onEvent(
            EventsAppended.class,
            (state, e) ->
                state.appended(
                    new Chunk(e.rows(), e.events(), e.acceptedAtMillis(), false), e.deadLetters()))
        .onEvent(
            EventsAccepted.class,
            (state, e) ->
                state.appended(Chunk.legacy(e.rows(), e.acceptedAtMillis()), e.deadLetters()))
        .onEvent(BatchStaged.class, State::staged)
        .onEvent(BatchHandedOff.class, State::handedOff)
        .build();
  }
}
