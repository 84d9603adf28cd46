package weir.node.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import weir.persistence.registry.Connection;
import weir.persistence.registry.ConnectionKind;
import weir.protocol.StagedRow;
import weir.sdk.ConnectorException;

/**
 * A sync's writes against a gateway that answers as a loaded node does: they wait while the buffers
 * are full, split what one journal event cannot hold, and give up on a journal that stays down;
 * nothing is written twice or out of order.
 */
class JournalWritesTest {
  private static final Connection CONNECTION =
      new Connection(
          "c1",
          "c1",
          ConnectionKind.connector,
          "d1",
          "c1",
          null,
          500,
          1,
          60,
          1,
          null,
          null,
          "wk",
          null,
          0,
          0);

  /** Answers from a script (then Accepted), recording what was accepted. */
  private static final class Scripted implements IngestGateway {
    final Deque<Outcome> script = new ArrayDeque<>();
    final List<String> written = new ArrayList<>();
    final List<String> deadLetters = new ArrayList<>();
    int calls;
    int maxRows = Integer.MAX_VALUE;

    @Override
    public CompletionStage<Outcome> accept(Connection connection, IngestBatch batch) {
      calls++;
      if (batch.rows().size() > maxRows)
        return CompletableFuture.completedFuture(new TooLarge(batch.rows().size() * 100L, 100));
      Outcome next = script.isEmpty() ? new Accepted(batch.rows().size()) : script.poll();
      if (next instanceof Accepted) {
        batch.rows().forEach(r -> written.add(r.eventId()));
        batch.rejections().forEach(r -> deadLetters.add(r.code() + " " + r.message()));
      }
      return CompletableFuture.completedFuture(next);
    }
  }

  private static List<StagedRow> rows(int n) {
    List<StagedRow> out = new ArrayList<>();
    for (int i = 0; i < n; i++) out.add(new StagedRow("t", "r" + i, 0, "{}"));
    return out;
  }

  @Test
  void aFullBufferHoldsTheWriterUntilThereIsRoom() throws Exception {
    Scripted gateway = new Scripted();
    for (int i = 0; i < 4; i++) gateway.script.add(new IngestGateway.Overloaded());
    new JournalWrites(gateway, CONNECTION, () -> false).write(rows(3));
    assertThat(gateway.calls).isEqualTo(5);
    assertThat(gateway.written).containsExactly("r0", "r1", "r2");
  }

  @Test
  void whatOneJournalEventCannotHoldIsSplitInOrder() throws Exception {
    Scripted gateway = new Scripted();
    gateway.maxRows = 2;
    new JournalWrites(gateway, CONNECTION, () -> false).write(rows(7));
    assertThat(gateway.written).containsExactly("r0", "r1", "r2", "r3", "r4", "r5", "r6");
    gateway.maxRows = 0;
    assertThatThrownBy(() -> new JournalWrites(gateway, CONNECTION, () -> false).write(rows(1)))
        .isInstanceOf(ConnectorException.class)
        .hasMessageContaining("a journal event holds at most");
  }

  @Test
  void aStreamRecordTooLargeForAJournalEventIsADeadLetterAndItsNeighboursLand() throws Exception {
    Scripted gateway = new Scripted();
    gateway.maxRows = 0;
    JournalWrites.forStream(gateway, CONNECTION, () -> false).write(rows(1));
    assertThat(gateway.written).isEmpty();
    assertThat(gateway.deadLetters)
        .singleElement(org.assertj.core.api.InstanceOfAssertFactories.STRING)
        .startsWith("record_too_large r0: the record is 100 bytes")
        .contains("holds at most 100");
    gateway.deadLetters.clear();
    gateway.maxRows = 1;
    JournalWrites.forStream(gateway, CONNECTION, () -> false).write(rows(3));
    assertThat(gateway.written).containsExactly("r0", "r1", "r2");
    assertThat(gateway.deadLetters).isEmpty();
  }

  @Test
  void aJournalThatStaysDownFailsTheSyncAndACancelStopsTheWait() {
    Scripted down = new Scripted();
    for (int i = 0; i <= JournalWrites.MAX_UNAVAILABLE; i++)
      down.script.add(new IngestGateway.Unavailable("timeout"));
    assertThatThrownBy(() -> new JournalWrites(down, CONNECTION, () -> false).write(rows(1)))
        .hasMessageContaining("the journal is unavailable: timeout");
    assertThat(down.written).isEmpty();

    Scripted full = new Scripted();
    for (int i = 0; i < 100; i++) full.script.add(new IngestGateway.Overloaded());
    AtomicBoolean cancelled = new AtomicBoolean();
    new Thread(
            () -> {
              try {
                Thread.sleep(300);
              } catch (InterruptedException ignored) {
                // the test ends
              }
              cancelled.set(true);
            })
        .start();
    assertThatThrownBy(() -> new JournalWrites(full, CONNECTION, cancelled::get).write(rows(1)))
        .isInstanceOf(CancellationException.class);
    assertThat(full.written).isEmpty();
  }
}
