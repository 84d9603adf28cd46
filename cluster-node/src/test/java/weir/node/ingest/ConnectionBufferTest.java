package weir.node.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static weir.node.Eventually.eventually;

import akka.Done;
import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.pattern.StatusReply;
import akka.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import akka.persistence.testkit.javadsl.EventSourcedBehaviorTestKit.CommandResultWithReply;
import java.io.IOException;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import weir.node.Backoff;
import weir.node.load.StagedBatch;
import weir.node.metrics.NodeMetrics;
import weir.persistence.JournalRetention;
import weir.persistence.registry.Connection;
import weir.persistence.registry.ConnectionKind;
import weir.protocol.StagedRow;

class ConnectionBufferTest {
  private static final ActorTestKit testKit =
      ActorTestKit.create(EventSourcedBehaviorTestKit.config());

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  /** An in-memory staging area: batch id → rows; fails the first {@code failuresLeft} calls. */
  static final class FakeStager implements BatchStager {
    final Map<String, List<StagedRow>> staged = new ConcurrentHashMap<>();
    final AtomicInteger failuresLeft = new AtomicInteger();
    final AtomicInteger calls = new AtomicInteger();

    @Override
    public CompletableFuture<StagedBatch.Written> stage(
        Connection connection, String batchId, List<ConnectionBuffer.Chunk> chunks) {
      calls.incrementAndGet();
      if (failuresLeft.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
        return CompletableFuture.failedFuture(new IOException("disk full"));
      }
      List<StagedRow> rows =
          chunks.stream().flatMap(c -> RowCodec.decode(c.rows()).stream()).toList();
      staged.put(batchId, rows);
      int events = chunks.stream().mapToInt(ConnectionBuffer.Chunk::events).sum();
      return CompletableFuture.completedFuture(
          new StagedBatch.Written(
              List.of(
                  new StagedBatch.File("events", batchId + ".ndjson.gz", rows.size(), 0, 0, 10)),
              rows.size(),
              events));
    }
  }

  /** An in-memory hand-off to the load coordinator; refuses while {@code down} is set. */
  static final class FakeHandoff implements BatchHandoff {
    final List<StagedBatch> recorded = new CopyOnWriteArrayList<>();
    volatile boolean down;

    @Override
    public CompletableFuture<Done> record(StagedBatch batch) {
      if (down)
        return CompletableFuture.failedFuture(new RuntimeException("coordinator unreachable"));
      recorded.add(batch);
      return CompletableFuture.completedFuture(Done.getInstance());
    }
  }

  private final FakeStager stager = new FakeStager();
  private final FakeHandoff handoff = new FakeHandoff();
  private static final AtomicInteger ids = new AtomicInteger();
  private String connectionId;

  @BeforeEach
  void freshConnection() {
    connectionId = "c" + ids.incrementAndGet();
  }

  private Connection connection(int batchSize, int intervalSeconds) {
    return new Connection(
        connectionId,
        "test",
        ConnectionKind.webhook,
        "d1",
        "demo",
        "events",
        batchSize,
        intervalSeconds,
        900,
        1,
        null,
        null,
        "key",
        null,
        0,
        0);
  }

  private EventSourcedBehaviorTestKit<
          ConnectionBuffer.Command, ConnectionBuffer.Event, ConnectionBuffer.State>
      buffer(Connection connection, Duration tick, int maxBuffered) {
    return buffer(connection, 0, tick, maxBuffered, new BufferMemory(Long.MAX_VALUE));
  }

  private EventSourcedBehaviorTestKit<
          ConnectionBuffer.Command, ConnectionBuffer.Event, ConnectionBuffer.State>
      buffer(Connection connection, int slot, Duration tick, int maxBuffered, BufferMemory memory) {
    return buffer(connection, slot, tick, maxBuffered, memory, 8L << 20);
  }

  private EventSourcedBehaviorTestKit<
          ConnectionBuffer.Command, ConnectionBuffer.Event, ConnectionBuffer.State>
      buffer(
          Connection connection,
          int slot,
          Duration tick,
          int maxBuffered,
          BufferMemory memory,
          long maxBatchBytes) {
    BufferSettings settings =
        new BufferSettings(
            tick,
            maxBuffered,
            new Backoff(Duration.ofMillis(20), Duration.ofMillis(100)),
            Duration.ofSeconds(3),
            0.3,
            maxBatchBytes);
    return EventSourcedBehaviorTestKit.create(
        testKit.system(),
        ConnectionBuffer.create(
            connection.id() + "#" + slot,
            settings,
            id -> Optional.of(connection),
            stager,
            handoff,
            JournalRetention.keepAll(),
            memory,
            new NodeMetrics()));
  }

  private static List<StagedRow> rows(String... ids) {
    return Arrays.stream(ids)
        .map(id -> new StagedRow("events", id, 1_700_000_000_000L, "{\"event_id\":\"" + id + "\"}"))
        .toList();
  }

  private static CommandResultWithReply<
          ConnectionBuffer.Command,
          ConnectionBuffer.Event,
          ConnectionBuffer.State,
          StatusReply<ConnectionBuffer.Accepted>>
      accept(
          EventSourcedBehaviorTestKit<
                  ConnectionBuffer.Command, ConnectionBuffer.Event, ConnectionBuffer.State>
              kit,
          List<StagedRow> rows) {
    return kit.runCommand(
        r -> new ConnectionBuffer.AcceptMany(List.of(request(rows, List.of())), r));
  }

  private static ConnectionBuffer.Request request(
      List<StagedRow> rows, List<ConnectionBuffer.DeadLetter> dl) {
    return new ConnectionBuffer.Request(rows.size(), RowCodec.encode(rows), dl);
  }

  @Test
  void aRequestIsOneJournalEventAndTheReplyComesAfterIt() {
    var kit = buffer(connection(100, 3600), Duration.ofHours(1), 1000);
    var result = accept(kit, rows("a", "b", "c"));
    assertThat(result.events())
        .singleElement()
        .isInstanceOfSatisfying(
            ConnectionBuffer.EventsAppended.class,
            e ->
                assertThat(RowCodec.decode(e.rows()))
                    .extracting(StagedRow::eventId)
                    .containsExactly("a", "b", "c"));
    assertThat(result.reply().getValue()).isEqualTo(new ConnectionBuffer.Accepted(List.of(true)));
    assertThat(result.state().bufferedEvents()).isEqualTo(3);
    assertThat(stager.calls).hasValue(0);
  }

  @Test
  void reachingBatchSizeStagesEveryBufferedEventInOrderAndHandsTheBatchOff() {
    var kit = buffer(connection(4, 3600), Duration.ofHours(1), 1000);
    accept(kit, rows("a", "b"));
    accept(kit, rows("c", "d", "e"));
    eventually(
        () -> {
          assertThat(kit.getState().bufferedEvents()).isZero();
          assertThat(kit.getState().unconfirmed()).isEmpty();
        });
    String batchId = connectionId + "-0-00000001";
    assertThat(stager.staged.get(batchId))
        .extracting(StagedRow::eventId)
        .containsExactly("a", "b", "c", "d", "e");
    assertThat(handoff.recorded)
        .singleElement()
        .satisfies(
            b -> {
              assertThat(b.batchId()).isEqualTo(batchId);
              assertThat(b.destinationId()).isEqualTo("d1");
              assertThat(b.rows()).isEqualTo(5);
            });
    assertThat(kit.getState().stagedEventsTotal()).isEqualTo(5);
  }

  @Test
  void theOldestEventsAgeTriggersAFlush() {
    var kit = buffer(connection(1000, 1), Duration.ofMillis(50), 1000);
    accept(kit, rows("a"));
    assertThat(kit.getState().bufferedEvents()).isEqualTo(1);
    eventually(() -> assertThat(handoff.recorded).hasSize(1));
    assertThat(kit.getState().bufferedEvents()).isZero();
  }

  @Test
  void aFailedFlushKeepsTheEventsAndIsRetriedUnderTheSameBatchId() {
    stager.failuresLeft.set(2);
    var kit = buffer(connection(2, 3600), Duration.ofMillis(20), 1000);
    accept(kit, rows("a", "b"));
    eventually(() -> assertThat(stager.calls.get()).isGreaterThanOrEqualTo(3));
    eventually(() -> assertThat(handoff.recorded).hasSize(1));
    assertThat(stager.staged).containsOnlyKeys(connectionId + "-0-00000001");
    assertThat(kit.getState().bufferedEvents()).isZero();
  }

  @Test
  void afterARestartBufferedEventsAndUnconfirmedBatchesAreRecoveredAndHandedOff() {
    handoff.down = true;
    var kit = buffer(connection(2, 3600), Duration.ofMillis(20), 1000);
    accept(kit, rows("a", "b"));
    accept(kit, rows("c"));
    eventually(() -> assertThat(kit.getState().unconfirmed()).hasSize(1));
    assertThat(kit.getState().bufferedEvents()).isEqualTo(1);

    kit.restart();
    assertThat(kit.getState().unconfirmed())
        .extracting(StagedBatch::batchId)
        .containsExactly(connectionId + "-0-00000001");
    assertThat(kit.getState().bufferedEvents()).isEqualTo(1);

    handoff.down = false;
    eventually(() -> assertThat(kit.getState().unconfirmed()).isEmpty());
    assertThat(handoff.recorded)
        .extracting(StagedBatch::batchId)
        .contains(connectionId + "-0-00000001");
  }

  @Test
  void snapshotsAndEventDeletionKeepTheStateIntact() {
    var kit = buffer(connection(10, 3600), Duration.ofMillis(20), 100_000);
    for (int i = 0; i < 23; i++) accept(kit, rows("e" + i));
    eventually(() -> assertThat(handoff.recorded).hasSize(2));
    kit.restart();
    assertThat(kit.getState().bufferedEvents()).isEqualTo(3);
    assertThat(kit.getState().acceptedTotal()).isEqualTo(23);
    assertThat(kit.getState().stagedEventsTotal()).isEqualTo(20);
    assertThat(kit.getState().chunks())
        .extracting(c -> RowCodec.decode(c.rows()).get(0).eventId())
        .containsExactly("e20", "e21", "e22");
  }

  @Test
  void aFullSlotRefusesRequestsAsOverloadedWithoutPersisting() {
    var kit = buffer(connection(1000, 3600), Duration.ofHours(1), 5);
    accept(kit, rows("a", "b", "c", "d"));
    var refused = accept(kit, rows("e", "f"));
    assertThat(refused.reply().getValue().accepted()).containsExactly(false);
    assertThat(refused.events()).isEmpty();
    assertThat(refused.state().bufferedEvents()).isEqualTo(4);
  }

  @Test
  void aGroupOfRequestsIsOneJournalEventWithOneVerdictPerRequest() {
    var kit = buffer(connection(1000, 3600), Duration.ofHours(1), 5);
    var result =
        kit.<StatusReply<ConnectionBuffer.Accepted>>runCommand(
            r ->
                new ConnectionBuffer.AcceptMany(
                    List.of(
                        request(rows("a", "b"), List.of()),
                        request(rows("c", "d", "e", "f"), List.of()),
                        request(rows("g"), List.of())),
                    r));
    assertThat(result.reply().getValue().accepted()).containsExactly(true, false, true);
    // The requests that fit are one journal event: their rows in order, the refused one's left out.
    assertThat(result.events()).hasSize(1);
    ConnectionBuffer.EventsAppended event =
        (ConnectionBuffer.EventsAppended) result.events().get(0);
    assertThat(event.events()).isEqualTo(3);
    assertThat(RowCodec.decode(event.rows()).stream().map(StagedRow::eventId))
        .containsExactly("a", "b", "g");
    assertThat(result.state().bufferedEvents()).isEqualTo(3);
    kit.restart();
    assertThat(kit.getState().bufferedEvents()).isEqualTo(3);
  }

  @Test
  void theSlotsOfANodeShareOneMemoryLimitAndRefuseBeyondItUntilAFlushFreesIt() {
    long request = RowCodec.encode(rows("a", "b")).length;
    BufferMemory memory = new BufferMemory(request * 5 / 2);
    var first = buffer(connection(1000, 3600), 0, Duration.ofHours(1), 1000, memory);
    var second = buffer(connection(1000, 3600), 1, Duration.ofHours(1), 1000, memory);
    assertThat(accept(first, rows("a", "b")).reply().getValue().accepted()).containsExactly(true);
    assertThat(accept(second, rows("c", "d")).reply().getValue().accepted()).containsExactly(true);
    assertThat(memory.heldBytes()).isEqualTo(2 * request);

    // a third request would pass the node's limit: refused (503), in either slot, nothing journaled
    var refused = accept(second, rows("e", "f"));
    assertThat(refused.reply().getValue().accepted()).containsExactly(false);
    assertThat(refused.events()).isEmpty();
    assertThat(accept(first, rows("e", "f")).reply().getValue().accepted()).containsExactly(false);
    assertThat(second.getState().bufferedEvents()).isEqualTo(2);

    // the first slot's flush frees its share: the other slot accepts again
    TestProbe<StatusReply<Done>> probe = testKit.createTestProbe();
    first.runCommand(new ConnectionBuffer.FlushAll(probe.getRef()));
    assertThat(probe.receiveMessage().isSuccess()).isTrue();
    assertThat(memory.heldBytes()).isEqualTo(request);
    assertThat(accept(second, rows("e", "f")).reply().getValue().accepted()).containsExactly(true);
    assertThat(memory.heldBytes()).isEqualTo(2 * request);
  }

  @Test
  void aBacklogIsStagedInBatchesOfBoundedSizeOldestFirst() {
    long request = RowCodec.encode(rows("a", "b")).length;
    stager.failuresLeft.set(1_000_000); // staging is down while the backlog builds up
    var kit =
        buffer(
            connection(2, 3600),
            0,
            Duration.ofMillis(20),
            1000,
            new BufferMemory(Long.MAX_VALUE),
            2 * request);
    for (String[] ids :
        List.of(
            new String[] {"a", "b"},
            new String[] {"c", "d"},
            new String[] {"e", "f"},
            new String[] {"g", "h"},
            new String[] {"i", "j"})) accept(kit, rows(ids));
    stager.failuresLeft.set(0); // back
    eventually(() -> assertThat(kit.getState().bufferedEvents()).isZero());
    assertThat(new TreeMap<>(stager.staged).values())
        .extracting(batch -> batch.stream().map(StagedRow::eventId).toList())
        .containsExactly(
            List.of("a", "b", "c", "d"), List.of("e", "f", "g", "h"), List.of("i", "j"));
  }

  @Test
  void flushAllAnswersOnceEverythingIsStagedAndHandedOff() {
    var kit = buffer(connection(1000, 3600), Duration.ofHours(1), 1000);
    accept(kit, rows("a"));
    TestProbe<StatusReply<Done>> probe = testKit.createTestProbe();
    kit.runCommand(new ConnectionBuffer.FlushAll(probe.getRef()));
    assertThat(probe.receiveMessage().isSuccess()).isTrue();
    assertThat(kit.getState().drained()).isTrue();
    assertThat(handoff.recorded).hasSize(1);
  }

  @Test
  void deadLettersAreCountedAndKeptWithTheirReason() {
    var kit = buffer(connection(1000, 3600), Duration.ofHours(1), 1000);
    var dl =
        new ConnectionBuffer.DeadLetter(
            1L, "not_an_object", "Element 1 is a JSON number, not an object.", "2");
    kit.<StatusReply<ConnectionBuffer.Accepted>>runCommand(
        r -> new ConnectionBuffer.AcceptMany(List.of(request(rows("a"), List.of(dl))), r));
    kit.restart();
    TestProbe<ConnectionBuffer.BufferStatus> probe = testKit.createTestProbe();
    kit.runCommand(new ConnectionBuffer.GetStatus(probe.getRef()));
    ConnectionBuffer.BufferStatus status = probe.receiveMessage();
    assertThat(status.deadLettersTotal()).isEqualTo(1);
    assertThat(status.recentDeadLetters()).containsExactly(dl);
  }

  @Test
  void batchSizeAndTheOverloadLimitCountEventsNotRows() {
    var kit = buffer(connection(3, 3600), Duration.ofHours(1), 4);
    // Two events, each rejected element kept as a dead-letter row beside them: 4 rows, 2 events.
    var dl =
        new ConnectionBuffer.DeadLetter(
            1L, "not_an_object", "Element 1 is a JSON number, not an object.", "2");
    var result =
        kit.<StatusReply<ConnectionBuffer.Accepted>>runCommand(
            r ->
                new ConnectionBuffer.AcceptMany(
                    List.of(
                        new ConnectionBuffer.Request(
                            2, RowCodec.encode(rows("a", "b", "dl1", "dl2")), List.of(dl, dl))),
                    r));
    assertThat(result.reply().getValue().accepted()).containsExactly(true);
    assertThat(result.state().bufferedEvents()).isEqualTo(2);
    assertThat(result.state().acceptedTotal()).isEqualTo(2);
    assertThat(result.state().deadLettersTotal()).isEqualTo(2);
    assertThat(stager.calls).as("2 events < batch_size 3: no flush").hasValue(0);
    // 2 + 3 events > 4: refused, whatever the rows.
    var refused =
        kit.<StatusReply<ConnectionBuffer.Accepted>>runCommand(
            r ->
                new ConnectionBuffer.AcceptMany(
                    List.of(
                        new ConnectionBuffer.Request(
                            3, RowCodec.encode(rows("c", "d", "e")), List.of())),
                    r));
    assertThat(refused.reply().getValue().accepted()).containsExactly(false);
  }
}
