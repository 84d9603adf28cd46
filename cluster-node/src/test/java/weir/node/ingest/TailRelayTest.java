package weir.node.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static weir.node.Eventually.eventually;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.SerializationTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.stream.testkit.TestSubscriber;
import akka.stream.testkit.javadsl.TestSink;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import weir.protocol.StagedRow;

/**
 * The cluster tail's relay in one process: a lease not renewed removes its watcher, forwarding is
 * bounded by the rows in flight (the rest dropped and counted), and a tail sees another relay's
 * rows through the Receptionist.
 */
class TailRelayTest {
  private static final ActorTestKit testKit =
      ActorTestKit.create(
          "tail-relay",
          ConfigFactory.parseString("akka.actor.provider = local")
              .withFallback(ConfigFactory.load()));

  private static final TailRelay.Settings FAST =
      new TailRelay.Settings(
          Duration.ofMillis(400),
          Duration.ofMillis(100),
          Duration.ofMillis(30),
          30,
          5,
          1000,
          20,
          4);

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  private static IngestBatch batch(String prefix, int rows) {
    List<StagedRow> list = new ArrayList<>();
    for (int i = 0; i < rows; i++)
      list.add(new StagedRow("events", prefix + i, 0, "{\"event_id\":\"" + prefix + i + "\"}"));
    return new IngestBatch(list, List.of(), Instant.now());
  }

  @Test
  void aLeaseThatIsNotRenewedRemovesItsWatcherAndARenewedOneStays() {
    EventTail tail = new EventTail();
    ActorRef<TailRelay.Command> relay = testKit.spawn(TailRelay.create(tail, FAST));
    TestProbe<TailRelay.Command> there = testKit.createTestProbe(TailRelay.Command.class);
    relay.tell(new TailRelay.Watch("kept", "c-kept", there.ref(), 400));
    relay.tell(new TailRelay.Watch("lapsed", "c-lapsed", there.ref(), 400));
    eventually(() -> assertThat(tail.watched("c-lapsed")).isTrue());
    tail.accepted("c-lapsed", batch("a", 3));
    TailRelay.Rows rows = there.expectMessageClass(TailRelay.Rows.class);
    assertThat(rows.tailId()).isEqualTo("lapsed");
    assertThat(rows.rows()).extracting(r -> r.row().eventId()).containsExactly("a0", "a1", "a2");
    long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
    while (tail.watched("c-lapsed")) {
      assertThat(System.nanoTime()).as("lease expired").isLessThan(deadline);
      relay.tell(new TailRelay.Watch("kept", "c-kept", there.ref(), 400));
      there.expectNoMessage(Duration.ofMillis(100));
    }
    // Renewed every 100 ms, the other lease outlived the 400 ms one.
    assertThat(tail.watched("c-kept")).isTrue();
    tail.accepted("c-lapsed", batch("b", 3)); // nobody watches it any more: not forwarded
    there.expectNoMessage(Duration.ofMillis(150));
    relay.tell(new TailRelay.Unwatch("kept"));
    eventually(() -> assertThat(tail.watched("c-kept")).isFalse());
    testKit.stop(relay);
  }

  @Test
  void forwardingStopsAtTheRowsInFlightAndCountsWhatItDrops() {
    EventTail tail = new EventTail();
    ActorRef<TailRelay.Command> relay = testKit.spawn(TailRelay.create(tail, FAST));
    TestProbe<TailRelay.Command> there = testKit.createTestProbe(TailRelay.Command.class);
    relay.tell(new TailRelay.Watch("t", "c-bounded", there.ref(), 10_000));
    eventually(() -> assertThat(tail.watched("c-bounded")).isTrue());
    // 100 rows at once: the relay's buffer holds 30 (the newest beyond are dropped), and 20 may be
    // in flight without an acknowledgement.
    for (int i = 0; i < 10; i++) tail.accepted("c-bounded", batch("r" + i + "-", 10));
    List<TailRelay.Rows> got = receive(there, Duration.ofMillis(300));
    assertThat(got).allSatisfy(r -> assertThat(r.rows().size()).isLessThanOrEqualTo(5));
    assertThat(rows(got)).isEqualTo(20);
    assertThat(got.get(got.size() - 1).dropped()).isGreaterThanOrEqualTo(100 - 20 - 30);
    // Acknowledgements free the window: the buffered rows follow; every row is sent or counted.
    long sent = 20;
    long dropped = got.get(got.size() - 1).dropped();
    while (true) {
      relay.tell(new TailRelay.Delivered("t", sent));
      List<TailRelay.Rows> more = receiveIfAny(there, Duration.ofMillis(300));
      if (more.isEmpty()) break;
      assertThat(rows(more)).isLessThanOrEqualTo(20);
      sent += rows(more);
      dropped = more.get(more.size() - 1).dropped();
    }
    assertThat(sent + dropped).isEqualTo(100);
    // A row larger than a batch may be is dropped and counted, never sent.
    tail.accepted(
        "c-bounded",
        new IngestBatch(
            List.of(new StagedRow("events", "big", 0, "{\"x\":\"" + "x".repeat(2000) + "\"}")),
            List.of(),
            Instant.now()));
    TailRelay.Rows big = there.expectMessageClass(TailRelay.Rows.class);
    assertThat(big.rows()).isEmpty();
    assertThat(big.dropped()).isEqualTo(dropped + 1);
    testKit.stop(relay);
    eventually(() -> assertThat(tail.watched("c-bounded")).isFalse());
  }

  @Test
  void aTailSeesWhatAnotherMembersRelayForwardsAndItsClosingStopsTheRelay() {
    EventTail here = new EventTail();
    EventTail there = new EventTail();
    ActorRef<TailRelay.Command> relayHere = testKit.spawn(TailRelay.create(here, FAST));
    ActorRef<TailRelay.Command> relayThere = testKit.spawn(TailRelay.create(there, FAST));
    ClusterTail cluster = new ClusterTail(here, relayHere);
    EventTail.Tail t = cluster.watch("c-both").orElseThrow();
    TestSubscriber.Probe<EventTail.TailedRow> reader =
        t.source().runWith(TestSink.create(testKit.system()), testKit.system());
    reader.request(100);
    eventually(() -> assertThat(there.watched("c-both")).isTrue());
    there.accepted("c-both", batch("there", 3));
    here.accepted("c-both", batch("here", 2));
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < 5; i++) seen.add(reader.expectNext().row().eventId());
    assertThat(seen).containsExactlyInAnyOrder("there0", "there1", "there2", "here0", "here1");
    assertThat(t.watcher().dropped()).isZero();
    reader.cancel();
    eventually(() -> assertThat(there.watched("c-both")).isFalse());
    eventually(() -> assertThat(here.watched("c-both")).isFalse());
    testKit.stop(relayHere);
    testKit.stop(relayThere);
  }

  @Test
  void aTailCountsWhatARelayDroppedAndWhatWasLostOnTheWay() {
    EventTail here = new EventTail();
    ActorRef<TailRelay.Command> relay = testKit.spawn(TailRelay.create(here, FAST));
    EventTail.Tail t = here.watch("c-gap").orElseThrow();
    TestSubscriber.Probe<EventTail.TailedRow> reader =
        t.source().runWith(TestSink.create(testKit.system()), testKit.system());
    reader.request(10);
    relay.tell(new TailRelay.Open("gap", "c-gap", t.watcher()));
    TestProbe<TailRelay.Command> other = testKit.createTestProbe(TailRelay.Command.class);
    TailRelay.Row row =
        new TailRelay.Row(Instant.now(), new StagedRow("events", "e1", 0, "{\"n\":1}"));
    relay.tell(new TailRelay.Rows("gap", other.ref(), List.of(row), 1, 0));
    assertThat(reader.expectNext().row().eventId()).isEqualTo("e1");
    assertThat(other.expectMessageClass(TailRelay.Delivered.class).rows()).isEqualTo(1);
    // Rows 2 and 3 never came (a lost batch), and the relay dropped 2 before sending.
    relay.tell(new TailRelay.Rows("gap", other.ref(), List.of(row), 4, 2));
    reader.expectNext();
    assertThat(other.expectMessageClass(TailRelay.Delivered.class).rows()).isEqualTo(4);
    assertThat(t.watcher().dropped()).isEqualTo(4);
    // Once the tail has closed, a relay still sending is told to stop.
    relay.tell(new TailRelay.Close("gap"));
    relay.tell(new TailRelay.Rows("gap", other.ref(), List.of(row), 5, 2));
    assertThat(other.expectMessageClass(TailRelay.Unwatch.class).tailId()).isEqualTo("gap");
    reader.cancel();
    testKit.stop(relay);
  }

  @Test
  void aWholeWindowLostOnTheWayIsCountedAndRowsFlowAgain() {
    EventTail here = new EventTail();
    EventTail there = new EventTail();
    ActorRef<TailRelay.Command> relayHere = testKit.spawn(TailRelay.create(here, FAST));
    ActorRef<TailRelay.Command> relayThere = testKit.spawn(TailRelay.create(there, FAST));
    // The link between the members: what the relay there sends the tail here passes this probe.
    TestProbe<TailRelay.Command> link = testKit.createTestProbe(TailRelay.Command.class);
    relayThere.tell(new TailRelay.Watch("lost", "c-lost", link.ref(), 10_000));
    eventually(() -> assertThat(there.watched("c-lost")).isTrue());
    // A whole window (20 rows in flight) lost on the way: none of them, nor any answer, arrives.
    there.accepted("c-lost", batch("lost", 20));
    assertThat(rows(receive(link, Duration.ofMillis(200)))).isEqualTo(20);
    there.accepted("c-lost", batch("after", 10)); // they wait: the window is shut
    link.expectNoMessage(Duration.ofMillis(150));

    EventTail.Tail t = here.watch("c-lost").orElseThrow();
    TestSubscriber.Probe<EventTail.TailedRow> reader =
        t.source().runWith(TestSink.create(testKit.system()), testKit.system());
    reader.request(100);
    relayHere.tell(new TailRelay.Open("lost", "c-lost", t.watcher()));
    // The lease is renewed; from now on the link loses nothing.
    relayThere.tell(new TailRelay.Watch("lost", "c-lost", link.ref(), 10_000));
    int forwarded = 0;
    long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
    while (forwarded < 10) {
      assertThat(System.nanoTime())
          .as("the rows after the lost window arrive")
          .isLessThan(deadline);
      TailRelay.Rows r = link.expectMessageClass(TailRelay.Rows.class, Duration.ofSeconds(5));
      relayHere.tell(r);
      forwarded += r.rows().size();
    }
    List<String> seen = new ArrayList<>();
    for (int i = 0; i < 10; i++) seen.add(reader.expectNext().row().eventId());
    assertThat(seen)
        .containsExactly(
            "after0", "after1", "after2", "after3", "after4", "after5", "after6", "after7",
            "after8", "after9");
    assertThat(t.watcher().dropped()).isEqualTo(20); // the lost window, counted
    reader.cancel();
    testKit.stop(relayHere);
    testKit.stop(relayThere);
  }

  @Test
  void theMessagesBetweenMembersSerialize() {
    SerializationTestKit serialization = new SerializationTestKit(testKit.system());
    ActorRef<TailRelay.Command> ref = testKit.createTestProbe(TailRelay.Command.class).ref();
    serialization.verifySerialization(new TailRelay.Watch("t", "c", ref, 15_000), true);
    serialization.verifySerialization(new TailRelay.Unwatch("t"), true);
    serialization.verifySerialization(new TailRelay.Delivered("t", 42), true);
    serialization.verifySerialization(
        new TailRelay.Rows(
            "t",
            ref,
            List.of(
                new TailRelay.Row(
                    Instant.parse("2026-01-02T03:04:05.123Z"),
                    new StagedRow("events", "e1", 7, "{\"a\":1}"))),
            10,
            3),
        true);
  }

  private static List<TailRelay.Rows> receive(TestProbe<TailRelay.Command> probe, Duration quiet) {
    List<TailRelay.Rows> out = new ArrayList<>();
    out.add(probe.expectMessageClass(TailRelay.Rows.class));
    out.addAll(receiveIfAny(probe, quiet));
    return out;
  }

  private static List<TailRelay.Rows> receiveIfAny(
      TestProbe<TailRelay.Command> probe, Duration quiet) {
    List<TailRelay.Rows> out = new ArrayList<>();
    while (true) {
      try {
        out.add(probe.expectMessageClass(TailRelay.Rows.class, quiet));
      } catch (AssertionError quietLongEnough) {
        return out;
      }
    }
  }

  private static int rows(List<TailRelay.Rows> got) {
    return got.stream().mapToInt(r -> r.rows().size()).sum();
  }
}
