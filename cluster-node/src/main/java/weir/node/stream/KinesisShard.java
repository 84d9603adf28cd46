package weir.node.stream;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.PostStop;
import akka.actor.typed.SupervisorStrategy;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.TimerScheduler;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.sharding.typed.javadsl.Entity;
import akka.cluster.sharding.typed.javadsl.EntityTypeKey;
import akka.persistence.typed.PersistenceId;
import akka.persistence.typed.RecoveryCompleted;
import akka.persistence.typed.SnapshotCompleted;
import akka.persistence.typed.javadsl.CommandHandler;
import akka.persistence.typed.javadsl.Effect;
import akka.persistence.typed.javadsl.EventHandler;
import akka.persistence.typed.javadsl.EventSourcedBehavior;
import akka.persistence.typed.javadsl.RetentionCriteria;
import akka.persistence.typed.javadsl.SignalHandler;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.services.kinesis.KinesisClient;
import software.amazon.awssdk.services.kinesis.model.ExpiredIteratorException;
import software.amazon.awssdk.services.kinesis.model.GetRecordsRequest;
import software.amazon.awssdk.services.kinesis.model.GetRecordsResponse;
import software.amazon.awssdk.services.kinesis.model.GetShardIteratorRequest;
import software.amazon.awssdk.services.kinesis.model.ProvisionedThroughputExceededException;
import software.amazon.awssdk.services.kinesis.model.Record;
import software.amazon.awssdk.services.kinesis.model.ResourceNotFoundException;
import software.amazon.awssdk.services.kinesis.model.ShardIteratorType;
import weir.node.RootCause;
import weir.node.ingest.IngestGateway;
import weir.node.ingest.JournalWrites;
import weir.persistence.CborSerializable;
import weir.persistence.JournalRetention;
import weir.persistence.registry.Connection;

/**
 * The reader of one shard of a {@code kinesis} connection's stream (entity id {@code
 * <connection>~<stream>@<created>~<shard>}, {@code <created>} the stream's creation in epoch
 * seconds, so a stream deleted and created again under its name, or another region's stream of the
 * same name, has readers and checkpoints of its own): Cluster Sharding keeps one per shard in the
 * cluster, so no shard is read by two nodes at once, and starts it again on another node when its
 * node is lost (remember-entities; {@link KinesisSources} also wakes every shard every few
 * seconds).
 *
 * <p>It reads with {@code GetRecords}, one call at a time, writes each call's records into the
 * connection's buffers through {@link JournalWrites} (waiting while they refuse: backpressure), and
 * only then persists the last sequence number as its checkpoint; after a crash it reads again after
 * the checkpoint, and the records' ids ({@code <shard>-<sequence>}, or the format's own) keep what
 * was read twice from loading twice. A shard without a checkpoint of a {@code latest} connection
 * reads {@code AT_TIMESTAMP} the connection's creation, so a reader that moves before its first
 * checkpoint, or a child shard of a later reshard, skips nothing.
 *
 * <p>Resharding: a shard with parents (a split's or merge's child) reads nothing until every parent
 * it was given has read to its end; a shard read to its end (no next iterator) persists that and
 * passivates for good.
 */
public final class KinesisShard
    extends EventSourcedBehavior<KinesisShard.Command, KinesisShard.Event, KinesisShard.State> {
  private static final Logger log = LoggerFactory.getLogger(KinesisShard.class);

  public static final EntityTypeKey<Command> ENTITY_KEY =
      EntityTypeKey.create(Command.class, "KinesisShard");

  /** Records per {@code GetRecords} call (Kinesis allows up to 10,000). */
  static final int RECORDS_PER_CALL = 5_000;

  /** Kinesis allows five reads a second per shard. */
  private static final Duration BUSY_POLL = Duration.ofMillis(200);

  private static final Duration IDLE_POLL = Duration.ofSeconds(1);

  public static String entityId(String connectionId, String streamKey, String shardId) {
    // '|' is reserved in persistence ids; '~' is in none of a connection id, stream or shard id.
    return connectionId + "~" + streamKey + "~" + shardId;
  }

  /** One stream, whatever its name: {@code <name>@<creation in epoch seconds>}. */
  public static String streamKey(String stream, Instant created) {
    return stream + "@" + (created == null ? 0 : created.getEpochSecond());
  }

  // ---- protocol ----

  public sealed interface Command extends CborSerializable {}

  /** Read, once the {@code parents} (shard ids of the same stream) are read to their ends. */
  public record Wake(List<String> parents) implements Command {}

  public record GetProgress(ActorRef<Progress> replyTo) implements Command {}

  private enum Poll implements Command {
    INSTANCE
  }

  private record ParentsChecked(boolean allEnded, String waitingFor) implements Command {}

  /** A read's outcome, of the reading round {@code round} (an older round's is dropped). */
  private record Read(int round, Polled polled) implements Command {}

  /**
   * What one read gave. {@code iterator} is the next one (null: read again from the checkpoint);
   * {@code lastSequence} the last record's, written to the journal (null: no records).
   */
  private record Polled(
      String iterator,
      String lastSequence,
      int records,
      long millisBehind,
      boolean ended,
      String error,
      boolean throttled) {}

  /** Where a shard's reader is. */
  public record Progress(
      String shardId,
      String sequence,
      boolean ended,
      boolean reading,
      String waitingForParent,
      long millisBehindLatest,
      long recordsTotal,
      String lastError,
      long lastReadAtMillis)
      implements CborSerializable {}

  // ---- events ----

  public sealed interface Event extends CborSerializable {}

  /** Every record up to {@code sequence} is in the journal. */
  public record Checkpointed(String sequence, int records) implements Event {}

  /** The shard (closed by resharding) is read to its end. */
  public record Ended(long atMillis) implements Event {}

  /**
   * @param sequence the checkpoint: the last sequence number written to the journal (null: none)
   */
  public record State(String sequence, boolean ended, long recordsTotal)
      implements CborSerializable {}

  // ---- behaviour ----

  /** What every shard reader of a node shares. */
  public record Context(
      Function<String, Optional<Connection>> connections,
      KinesisClients clients,
      IngestGateway gateway,
      Executor blocking,
      JournalRetention retention,
      Duration askTimeout,
      KinesisSources.Lag lag,
      java.util.function.BiConsumer<String, Progress> ended,
      Function<String, Optional<String>> streamKeys,
      Function<String, java.util.concurrent.Semaphore> permits) {}

  /** Reads of one connection's shards running at once on one node, at most. */
  public static final int READS_PER_CONNECTION = 4;

  public static void init(ActorSystem<?> system, Context context) {
    ClusterSharding.get(system)
        .init(
            Entity.of(
                ENTITY_KEY,
                entity ->
                    Behaviors.<Command>setup(
                        ctx ->
                            Behaviors.withTimers(
                                timers ->
                                    new KinesisShard(
                                        ctx,
                                        timers,
                                        entity.getShard(),
                                        entity.getEntityId(),
                                        context)))));
  }

  private final ActorContext<Command> ctx;
  private final TimerScheduler<Command> timers;
  private final ActorRef<ClusterSharding.ShardCommand> shard;
  private final String entityId;
  private final String connectionId;
  private final String streamKey;
  private final String stream;
  private final String shardId;
  private final Context context;

  // In memory, redone after a restart.
  private final AtomicBoolean stopped = new AtomicBoolean();
  private List<String> parents = List.of();
  private boolean parentsEnded;
  private boolean checkingParents;
  private String waitingFor;
  private boolean reading;
  private boolean polling;
  private String iterator;
  private long millisBehind = -1;
  private String lastError;
  private long lastReadAtMillis;
  private int failures;

  /** Bumped when the behaviour restarts: reads still running from before are dropped. */
  private int round;

  private KinesisShard(
      ActorContext<Command> ctx,
      TimerScheduler<Command> timers,
      ActorRef<ClusterSharding.ShardCommand> shard,
      String entityId,
      Context context) {
    super(
        PersistenceId.of(ENTITY_KEY.name(), entityId),
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(10), 0.2));
    this.ctx = ctx;
    this.timers = timers;
    this.shard = shard;
    this.entityId = entityId;
    String[] parts = entityId.split("~", 3);
    this.connectionId = parts[0];
    this.streamKey = parts.length > 1 ? parts[1] : "";
    this.stream =
        streamKey.contains("@") ? streamKey.substring(0, streamKey.lastIndexOf('@')) : streamKey;
    this.shardId = parts.length > 2 ? parts[2] : "";
    this.context = context;
  }

  @Override
  public State emptyState() {
    return new State(null, false, 0);
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
              // After a failed persist the behaviour restarts (with backoff) in this same object:
              // what was in flight is gone, so read again from the recovered checkpoint.
              boolean wasReading = reading || polling || checkingParents;
              reading = false;
              polling = false;
              checkingParents = false;
              iterator = null;
              round++;
              if (wasReading && !state.ended()) {
                lastError = "a checkpoint could not be persisted; reading again from the last one";
                log.warn("Kinesis connection {}: shard {}: {}", connectionId, shardId, lastError);
                ctx.getSelf().tell(new Wake(parents));
              }
            })
        .onSignal(
            PostStop.instance(),
            state -> {
              stopped.set(true);
              context.lag().remove(connectionId, shardId);
            })
        .onSignal(
            SnapshotCompleted.class,
            (state, done) ->
                context
                    .retention()
                    .deleteBefore(done.metadata().persistenceId(), done.metadata().sequenceNr()))
        .build();
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder()
        .forAnyState()
        .onEvent(
            Checkpointed.class,
            (s, e) -> new State(e.sequence(), false, s.recordsTotal() + e.records()))
        .onEvent(Ended.class, (s, e) -> new State(s.sequence(), true, s.recordsTotal()))
        .build();
  }

  @Override
  public CommandHandler<Command, Event, State> commandHandler() {
    return newCommandHandlerBuilder()
        .forAnyState()
        .onCommand(Wake.class, this::onWake)
        .onCommand(
            GetProgress.class,
            (state, get) -> {
              get.replyTo().tell(progress(state));
              // A question from a child wakes an ended shard: it answers and goes again.
              if (state.ended() && !reading) return Effect().none().thenRun(s -> passivate());
              return Effect().none();
            })
        .onCommand(ParentsChecked.class, this::onParentsChecked)
        .onCommand(Poll.class, this::onPoll)
        .onCommand(
            Read.class,
            (state, read) ->
                read.round() == round ? onPolled(state, read.polled()) : Effect().none())
        .build();
  }

  private Progress progress(State state) {
    return new Progress(
        shardId,
        state.sequence(),
        state.ended(),
        reading,
        waitingFor,
        millisBehind,
        state.recordsTotal(),
        lastError,
        lastReadAtMillis);
  }

  private Effect<Event, State> onWake(State state, Wake wake) {
    if (state.ended()) return Effect().none().thenRun(s -> passivate());
    if (!wake.parents().isEmpty() && !wake.parents().equals(parents)) parentsEnded = false;
    parents = List.copyOf(wake.parents());
    if (reading) return Effect().none();
    if (parents.isEmpty() || parentsEnded) return startReading(state);
    if (!checkingParents) {
      checkingParents = true;
      ClusterSharding sharding = ClusterSharding.get(ctx.getSystem());
      List<CompletableFuture<Progress>> asks = new ArrayList<>();
      for (String parent : parents)
        asks.add(
            sharding
                .entityRefFor(ENTITY_KEY, entityId(connectionId, streamKey, parent))
                .<Progress>ask(GetProgress::new, context.askTimeout())
                .toCompletableFuture());
      CompletionStage<List<Progress>> all =
          CompletableFuture.allOf(asks.toArray(new CompletableFuture<?>[0]))
              .thenApply(v -> asks.stream().map(CompletableFuture::join).toList());
      ctx.pipeToSelf(
          all,
          (answers, failure) -> {
            if (failure != null) return new ParentsChecked(false, String.join(",", parents));
            String pending =
                String.join(
                    ",", answers.stream().filter(p -> !p.ended()).map(Progress::shardId).toList());
            return new ParentsChecked(pending.isEmpty(), pending.isEmpty() ? null : pending);
          });
    }
    return Effect().none();
  }

  private Effect<Event, State> onParentsChecked(State state, ParentsChecked checked) {
    checkingParents = false;
    waitingFor = checked.waitingFor();
    if (!checked.allEnded() || reading) return Effect().none();
    parentsEnded = true;
    log.info(
        "Kinesis connection {}: shard {} starts, its parents {} read to their ends",
        connectionId,
        shardId,
        parents);
    return startReading(state);
  }

  private Effect<Event, State> startReading(State state) {
    reading = true;
    waitingFor = null;
    log.info(
        "Kinesis connection {}: reading shard {} of stream {} {}",
        connectionId,
        shardId,
        stream,
        state.sequence() != null
            ? "after checkpoint " + state.sequence()
            : "with no checkpoint yet (its connection's start applies)");
    return Effect().none().thenRun(s -> ctx.getSelf().tell(Poll.INSTANCE));
  }

  private Effect<Event, State> onPoll(State state, Poll poll) {
    if (polling || !reading) return Effect().none();
    Optional<Connection> found = context.connections().apply(connectionId);
    if (found.isEmpty()
        || !found.get().active()
        || !stream.equals(found.get().source().get("stream"))
        || !context.streamKeys().apply(connectionId).map(streamKey::equals).orElse(true)) {
      log.info(
          "Kinesis connection {}: shard {} of stream {} stops (the connection was deleted or now"
              + " reads another stream, or the stream was created again)",
          connectionId,
          shardId,
          stream);
      reading = false;
      return Effect().none().thenRun(s -> passivate());
    }
    Connection c = found.get();
    // A connection's readers on one node read (and wait for room in its buffers) on at most
    // READS_PER_CONNECTION threads of the stream pool: an overloaded connection waits alone.
    java.util.concurrent.Semaphore permits = context.permits().apply(connectionId);
    if (!permits.tryAcquire()) {
      timers.startSingleTimer(Poll.INSTANCE, BUSY_POLL);
      return Effect().none();
    }
    polling = true;
    String from = iterator;
    int thisRound = round;
    ctx.pipeToSelf(
        CompletableFuture.supplyAsync(() -> read(c, state, from), context.blocking())
            .whenComplete((done, failure) -> permits.release()),
        (polled, failure) ->
            new Read(
                thisRound,
                failure == null
                    ? polled
                    : new Polled(null, null, 0, -1, false, RootCause.describe(failure), false)));
    return Effect().none();
  }

  /** One {@code GetRecords} call and the journal write of its records (on the blocking pool). */
  private Polled read(Connection c, State state, String from) {
    KinesisClient client = context.clients().client(c);
    String it = from;
    try {
      if (it == null) it = iterator(client, c, state);
      GetRecordsResponse got =
          client.getRecords(
              GetRecordsRequest.builder().shardIterator(it).limit(RECORDS_PER_CALL).build());
      List<Record> records = got.records();
      String last = null;
      if (!records.isEmpty()) {
        List<StreamRecords.StreamRecord> batch = new ArrayList<>(records.size());
        for (Record r : records) {
          String position = shardId + "-" + r.sequenceNumber();
          byte[] data = r.data().asByteArrayUnsafe();
          // A KPL-aggregated record's user records: <shard>-<sequence>-<n>, stable when read again.
          Optional<List<byte[]>> aggregated = KinesisAggregation.deaggregate(data);
          if (aggregated.isEmpty()) batch.add(new StreamRecords.StreamRecord(position, data));
          else
            for (int n = 0; n < aggregated.get().size(); n++)
              batch.add(
                  new StreamRecords.StreamRecord(position + "-" + n, aggregated.get().get(n)));
        }
        StreamRecords.Parsed parsed = StreamRecords.parse(c, batch);
        JournalWrites.forStream(context.gateway(), c, stopped::get)
            .write(parsed.rows(), parsed.rejections());
        last = records.get(records.size() - 1).sequenceNumber();
      }
      long behind = got.millisBehindLatest() == null ? -1 : got.millisBehindLatest();
      return new Polled(
          got.nextShardIterator(),
          last,
          records.size(),
          behind,
          got.nextShardIterator() == null,
          null,
          false);
    } catch (ExpiredIteratorException e) {
      return new Polled(null, null, 0, millisBehind, false, null, false);
    } catch (ProvisionedThroughputExceededException e) {
      return new Polled(it, null, 0, millisBehind, false, null, true);
    } catch (ResourceNotFoundException e) {
      return new Polled(
          null, null, 0, -1, false, "the stream or shard does not exist: " + e.getMessage(), false);
    } catch (Exception e) {
      // The journal stayed unavailable, or Kinesis refused: read again from the checkpoint.
      return new Polled(null, null, 0, -1, false, RootCause.describe(e), false);
    }
  }

  private String iterator(KinesisClient client, Connection c, State state) {
    GetShardIteratorRequest.Builder request =
        GetShardIteratorRequest.builder().streamName(stream).shardId(shardId);
    if (state.sequence() != null)
      request
          .shardIteratorType(ShardIteratorType.AFTER_SEQUENCE_NUMBER)
          .startingSequenceNumber(state.sequence());
    else if ("latest".equals(c.source().get("start")))
      // Latest is the connection's creation, for every shard: one open then, a child of a later
      // split or merge, a shard of a stream a PATCH named. Nothing put after it is skipped.
      request
          .shardIteratorType(ShardIteratorType.AT_TIMESTAMP)
          .timestamp(Instant.ofEpochMilli(c.createdAtMillis()));
    else request.shardIteratorType(ShardIteratorType.TRIM_HORIZON);
    return client.getShardIterator(request.build()).shardIterator();
  }

  private Effect<Event, State> onPolled(State state, Polled polled) {
    polling = false;
    lastReadAtMillis = System.currentTimeMillis();
    iterator = polled.iterator();
    if (polled.millisBehind() >= 0) {
      millisBehind = polled.millisBehind();
      context.lag().put(connectionId, stream, shardId, millisBehind);
    }
    if (polled.error() != null) {
      failures++;
      if (!polled.error().equals(lastError))
        log.warn(
            "Kinesis connection {}: reading shard {} failed, retrying from its checkpoint: {}",
            connectionId,
            shardId,
            polled.error());
      lastError = polled.error();
      long delay = Math.min(30_000, 500L << Math.min(6, failures));
      timers.startSingleTimer(Poll.INSTANCE, Duration.ofMillis(delay));
      return Effect().none();
    }
    failures = 0;
    lastError = null;
    List<Event> events = new ArrayList<>(2);
    if (polled.lastSequence() != null)
      events.add(new Checkpointed(polled.lastSequence(), polled.records()));
    if (polled.ended()) events.add(new Ended(System.currentTimeMillis()));
    if (polled.ended()) {
      reading = false;
      log.info("Kinesis connection {}: shard {} read to its end", connectionId, shardId);
      return Effect()
          .persist(events)
          .thenRun(
              s -> {
                context.ended().accept(entityId, progress(s));
                passivate();
              });
    }
    // More to read (records came, or the shard is behind): the next read soon; else in a second.
    Duration delay =
        !polled.throttled() && (polled.records() > 0 || polled.millisBehind() > 0)
            ? BUSY_POLL
            : IDLE_POLL;
    if (events.isEmpty()) {
      timers.startSingleTimer(Poll.INSTANCE, delay);
      return Effect().none();
    }
    return Effect().persist(events).thenRun(s -> timers.startSingleTimer(Poll.INSTANCE, delay));
  }

  /** Stops for good (remember-entities forgets it) until it is woken again. */
  private void passivate() {
    shard.tell(new ClusterSharding.Passivate<>(ctx.getSelf()));
  }
}
