package weir.node.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static weir.node.Eventually.eventually;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.stream.testkit.TestSubscriber;
import akka.stream.testkit.javadsl.TestSink;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import weir.protocol.StagedRow;

/**
 * The live tail's bounds: a slow reader loses rows, ingestion never waits, nobody costs nothing.
 */
class EventTailTest {
  private static final ActorTestKit testKit = ActorTestKit.create();

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  private static IngestBatch batch(int rows) {
    List<StagedRow> list = new ArrayList<>();
    for (int i = 0; i < rows; i++)
      list.add(new StagedRow("events", "e" + i, 0, "{\"event_id\":\"e" + i + "\"}"));
    return new IngestBatch(list, List.of(), Instant.now());
  }

  @Test
  void aReaderThatDoesNotKeepUpLosesTheNewestRowsAndIngestionNeverWaits() {
    EventTail tail = new EventTail();
    EventTail.Tail t = tail.watch("c1").orElseThrow();
    TestSubscriber.Probe<EventTail.TailedRow> reader =
        t.source().runWith(TestSink.create(testKit.system()), testKit.system());
    reader.ensureSubscription();
    // 10 requests of 100 rows: 50 of each are offered; the reader asks for none of them yet.
    for (int i = 0; i < 10; i++) tail.accepted("c1", batch(100));
    tail.accepted("other", batch(10)); // another connection's rows are not this tail's
    assertThat(t.watcher().dropped())
        .isEqualTo(10 * EventTail.MAX_ROWS_PER_REQUEST - EventTail.QUEUE);
    reader.request(1000);
    for (int i = 0; i < EventTail.QUEUE; i++)
      assertThat(reader.expectNext().connectionId()).isEqualTo("c1");
    reader.expectNoMessage(java.time.Duration.ofMillis(100));
    reader.cancel();
    eventually(() -> assertThat(tail.watchers()).isZero());
  }

  @Test
  void aRowLongerThanTheBoundIsCutWhenOfferedSoATailHoldsBytesNotWholeRows() {
    EventTail tail = new EventTail();
    EventTail.Tail t = tail.watch("c-big").orElseThrow();
    TestSubscriber.Probe<EventTail.TailedRow> reader =
        t.source().runWith(TestSink.create(testKit.system()), testKit.system());
    reader.ensureSubscription();
    EventTail.Relayed relayed = tail.relay("c-big", 10);
    // 4 MiB of JSON (the journal takes up to 12 MiB); a surrogate pair across the bound is not
    // split; a small row is untouched.
    String big =
        "{\"x\":\""
            + "a".repeat(EventTail.MAX_ROW_CHARS - 7)
            + "\uD83D\uDE00"
            + "b".repeat(4 << 20)
            + "\"}";
    String small = "{\"event_id\":\"small\"}";
    tail.accepted(
        "c-big",
        new IngestBatch(
            List.of(
                new StagedRow("events", "big", 0, big), new StagedRow("events", "small", 0, small)),
            List.of(),
            Instant.now()));
    reader.request(2);
    String shown = reader.expectNext().row().json();
    assertThat(shown)
        .hasSize(EventTail.MAX_ROW_CHARS - 1)
        .isEqualTo(big.substring(0, shown.length()));
    assertThat(Character.isHighSurrogate(shown.charAt(shown.length() - 1))).isFalse();
    assertThat(reader.expectNext().row().json()).isEqualTo(small);
    // The relayed watcher (for a tail on another member) holds the cut row too, the same one.
    String held = relayed.poll().row().json();
    assertThat(held).isSameAs(shown);
    assertThat(relayed.poll().row().json()).isEqualTo(small);
    assertThat(t.watcher().dropped()).isZero();
    tail.close(relayed);
    reader.cancel();
  }

  @Test
  void noTailMeansNothingIsOfferedAndTheWatcherLimitIsAnswered() {
    EventTail tail = new EventTail();
    tail.accepted("c1", batch(5)); // nobody watches: a no-op
    List<EventTail.Tail> open = new ArrayList<>();
    for (int i = 0; i < EventTail.MAX_WATCHERS; i++) open.add(tail.watch("c1").orElseThrow());
    assertThat(tail.watch("c1")).isEqualTo(Optional.empty());
    assertThat(tail.watchers()).isEqualTo(EventTail.MAX_WATCHERS);
  }
}
