package weir.node.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.cluster.sharding.typed.testkit.javadsl.TestEntityRef;
import akka.pattern.StatusReply;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Test;

/**
 * Group commit's bounds: what waits is bounded, and a request whose caller gave up is never
 * written.
 */
class SlotBatcherTest {
  private static final ActorTestKit testKit = ActorTestKit.create();

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  private static ConnectionBuffer.Request request(int bytes) {
    return new ConnectionBuffer.Request(1, new byte[bytes], List.of());
  }

  private static SlotBatcher.Submit submit(
      ConnectionBuffer.Request r, CompletableFuture<Boolean> f, Duration wait) {
    return new SlotBatcher.Submit(r, f, System.nanoTime() + wait.toNanos());
  }

  @Test
  void requestsWaitingBeyondTheirDeadlineFailAndAreNeverWrittenAndTheQueueIsBounded()
      throws Exception {
    TestProbe<ConnectionBuffer.Command> slot = testKit.createTestProbe();
    ActorRef<SlotBatcher.Message> batcher =
        testKit.spawn(
            SlotBatcher.create(
                TestEntityRef.of(ConnectionBuffer.ENTITY_KEY, "c#0", slot.getRef()),
                new SlotBatcher.Limits(Duration.ofMillis(400), 1 << 20, 5000, 1000)));

    CompletableFuture<Boolean> first = new CompletableFuture<>();
    batcher.tell(submit(request(10), first, Duration.ofMillis(400)));
    ConnectionBuffer.AcceptMany written =
        slot.expectMessageClass(ConnectionBuffer.AcceptMany.class);
    assertThat(written.requests()).hasSize(1);

    // The slot does not answer: later requests wait, up to 1,000 bytes; beyond that they are
    // refused at once.
    CompletableFuture<Boolean> waiting = new CompletableFuture<>();
    CompletableFuture<Boolean> refused = new CompletableFuture<>();
    batcher.tell(submit(request(600), waiting, Duration.ofMillis(300)));
    batcher.tell(submit(request(600), refused, Duration.ofSeconds(5)));
    assertThat(refused.get(2, TimeUnit.SECONDS)).as("refused: the queue is full").isFalse();

    // Its caller's deadline passes: it fails (503 for the client) and is never sent to the slot.
    ExecutionException expired =
        Assertions.assertThrows(ExecutionException.class, () -> waiting.get(3, TimeUnit.SECONDS));
    assertThat(expired.getCause()).isInstanceOf(TimeoutException.class);
    ExecutionException timedOut =
        Assertions.assertThrows(ExecutionException.class, () -> first.get(3, TimeUnit.SECONDS));
    assertThat(timedOut.getCause()).isNotNull();
    slot.expectNoMessage(Duration.ofMillis(300));

    // The slot answers again: the next request is written at once.
    CompletableFuture<Boolean> next = new CompletableFuture<>();
    batcher.tell(submit(request(10), next, Duration.ofSeconds(5)));
    ConnectionBuffer.AcceptMany again = slot.expectMessageClass(ConnectionBuffer.AcceptMany.class);
    again.replyTo().tell(StatusReply.success(new ConnectionBuffer.Accepted(List.of(true))));
    assertThat(next.get(2, TimeUnit.SECONDS)).isTrue();
  }

  @Test
  void aGroupHoldsAtMostMaxGroupBytesAndALargerRequestGoesAlone() throws Exception {
    TestProbe<ConnectionBuffer.Command> slot = testKit.createTestProbe();
    ActorRef<SlotBatcher.Message> batcher =
        testKit.spawn(
            SlotBatcher.create(
                TestEntityRef.of(ConnectionBuffer.ENTITY_KEY, "c#1", slot.getRef()),
                new SlotBatcher.Limits(Duration.ofSeconds(5), 1000, 5000, 1 << 20)));
    batcher.tell(submit(request(10), new CompletableFuture<>(), Duration.ofSeconds(5)));
    ConnectionBuffer.AcceptMany first = slot.expectMessageClass(ConnectionBuffer.AcceptMany.class);
    for (int bytes : new int[] {400, 400, 400, 3000, 10}) {
      batcher.tell(submit(request(bytes), new CompletableFuture<>(), Duration.ofSeconds(5)));
    }
    first.replyTo().tell(StatusReply.success(new ConnectionBuffer.Accepted(List.of(true))));
    List<Integer> sizes = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      ConnectionBuffer.AcceptMany group =
          slot.expectMessageClass(ConnectionBuffer.AcceptMany.class);
      sizes.add(group.requests().stream().mapToInt(r -> r.rows().length).sum());
      group
          .replyTo()
          .tell(
              StatusReply.success(
                  new ConnectionBuffer.Accepted(
                      group.requests().stream().map(r -> true).toList())));
    }
    assertThat(sizes).containsExactly(800, 400, 3000);
    ConnectionBuffer.AcceptMany last = slot.expectMessageClass(ConnectionBuffer.AcceptMany.class);
    assertThat(last.requests()).hasSize(1);
  }
}
