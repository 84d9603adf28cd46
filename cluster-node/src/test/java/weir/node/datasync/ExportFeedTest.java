package weir.node.datasync;

import static org.assertj.core.api.Assertions.assertThat;
import static weir.node.Eventually.eventually;

import akka.Done;
import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.pattern.StatusReply;
import akka.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalTime;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import weir.node.Backoff;
import weir.persistence.JournalRetention;
import weir.persistence.registry.Connection;
import weir.persistence.registry.ConnectionKind;
import weir.persistence.registry.Export;
import weir.protocol.datasync.PageRule;

/**
 * The export feed entity with a fake runner: runs one at a time with increasing counters, retries
 * and gives up, resumes the interrupted run under the same id after a restart, follows a page rule
 * change with a retroactive run of the exported days, and stops. The testkit round-trips every
 * command, event and state through serialization.
 */
class ExportFeedTest {
  private static final ActorTestKit testKit =
      ActorTestKit.create(EventSourcedBehaviorTestKit.config());
  private static final AtomicInteger ids = new AtomicInteger();

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  /** Records the runs it is given; fails {@code failuresLeft} of them; {@code hold}s them open. */
  static final class FakeRunner implements ExportFeed.Runner {
    final List<ExportFeed.Run> runs = new CopyOnWriteArrayList<>();
    final AtomicInteger failuresLeft = new AtomicInteger();
    volatile CompletableFuture<ExportFeed.Published> hold;
    final AtomicInteger counter = new AtomicInteger();

    @Override
    public CompletionStage<ExportFeed.Published> run(
        Connection connection,
        String destinationId,
        ExportFeed.Run run,
        long lastCounter,
        Consumer<String> progress,
        java.util.function.BooleanSupplier cancelled) {
      runs.add(run);
      if (failuresLeft.getAndUpdate(n -> Math.max(0, n - 1)) > 0)
        return CompletableFuture.failedFuture(new RuntimeException("bucket unreachable"));
      if (hold != null) return hold;
      progress.accept(run.days().get(0) + ": 3 events");
      long c = Math.max(lastCounter, counter.get()) + 1;
      counter.set((int) c);
      return CompletableFuture.completedFuture(
          new ExportFeed.Published(
              c, System.currentTimeMillis(), 100, "file:///x/" + run.runId(), 3));
    }
  }

  private final FakeRunner runner = new FakeRunner();
  private final AtomicReference<List<PageRule>> rules =
      new AtomicReference<>(List.of(new PageRule("pricing", "Pricing", "/pricing")));
  private final String connectionId = "c" + ids.incrementAndGet();

  private Connection connection() {
    return new Connection(
        connectionId,
        "Shop",
        ConnectionKind.segment,
        "wh",
        "shop",
        null,
        500,
        60,
        900,
        1,
        null,
        null,
        "key",
        null,
        0,
        0,
        rules.get(),
        Map.of());
  }

  private final List<Export> registry = new CopyOnWriteArrayList<>();
  private final AtomicInteger retentionDays = new AtomicInteger(-1);

  private EventSourcedBehaviorTestKit<ExportFeed.Command, ExportFeed.Event, ExportFeed.State> feed(
      int maxAttempts) {
    return feed(maxAttempts, LocalTime.of(23, 59, 59));
  }

  private EventSourcedBehaviorTestKit<ExportFeed.Command, ExportFeed.Event, ExportFeed.State> feed(
      int maxAttempts, LocalTime dailyAt) {
    DataSyncSettings settings =
        new DataSyncSettings(
            "ws",
            dailyAt,
            Duration.ofMillis(50),
            new Backoff(Duration.ofMillis(20), Duration.ofMillis(50)),
            maxAttempts,
            Path.of("scratch"));
    return EventSourcedBehaviorTestKit.create(
        testKit.system(),
        ExportFeed.create(
            "lake~" + connectionId,
            settings,
            id -> Optional.of(connection()),
            () -> registry,
            c -> retentionDays.get(),
            runner,
            JournalRetention.keepAll()));
  }

  private Export oneTime(String id, String from, String to) {
    return new Export(
        id,
        id,
        connectionId,
        "lake",
        Export.Type.one_time,
        from,
        to,
        9,
        System.currentTimeMillis(),
        0);
  }

  private static ExportFeed.ExportView view(
      EventSourcedBehaviorTestKit<ExportFeed.Command, ExportFeed.Event, ExportFeed.State> kit,
      String exportId) {
    TestProbe<ExportFeed.ExportView> probe = testKit.createTestProbe();
    kit.runCommand(new ExportFeed.Get(exportId, probe.getRef()));
    return probe.receiveMessage();
  }

  @Test
  void runsOneAtATimeWithIncreasingCountersAndFollowsAPageRuleChangeRetroactively() {
    var kit = feed(3);
    kit.<StatusReply<Done>>runCommand(
        r -> new ExportFeed.Add(oneTime("x1", "2026-11-01", "2026-11-03"), r));
    kit.<StatusReply<Done>>runCommand(
        r -> new ExportFeed.Add(oneTime("x2", "2026-11-05", "2026-11-05"), r));
    eventually(() -> assertThat(view(kit, "x2").status()).isEqualTo("complete"));
    assertThat(view(kit, "x1").counter()).isEqualTo(1);
    assertThat(view(kit, "x2").counter()).isEqualTo(2);
    assertThat(runner.runs.get(0).days()).containsExactly("2026-11-01", "2026-11-02", "2026-11-03");
    assertThat(kit.getState().exportedDays())
        .containsExactly("2026-11-01", "2026-11-02", "2026-11-03", "2026-11-05");

    rules.set(
        List.of(
            new PageRule("pricing", "Pricing", "/pricing*"),
            new PageRule("docs", "Docs", "/docs")));
    eventually(() -> assertThat(runner.runs).hasSize(3));
    ExportFeed.Run retro = runner.runs.get(2);
    assertThat(retro.retroactive()).isTrue();
    assertThat(retro.pages()).containsExactlyInAnyOrder("pricing", "docs");
    assertThat(retro.days())
        .containsExactly("2026-11-01", "2026-11-02", "2026-11-03", "2026-11-05");
    eventually(() -> assertThat(kit.getState().queue()).isEmpty());
    assertThat(kit.getState().lastCounter()).isEqualTo(3);
    // No change since: no second retroactive run.
    assertThat(ExportFeed.changedPages(kit.getState().exportedRules(), rules.get())).isEmpty();
  }

  @Test
  void aFailedRunIsRetriedThenGivenUpWithItsReason() {
    runner.failuresLeft.set(10);
    var kit = feed(3);
    kit.<StatusReply<Done>>runCommand(
        r -> new ExportFeed.Add(oneTime("x1", "2026-11-01", "2026-11-01"), r));
    eventually(() -> assertThat(view(kit, "x1").status()).isEqualTo("failed"));
    assertThat(runner.runs).hasSize(3);
    assertThat(runner.runs)
        .extracting(ExportFeed.Run::runId)
        .containsOnly(runner.runs.get(0).runId());
    assertThat(view(kit, "x1").message())
        .contains("gave up after 3 attempts")
        .contains("bucket unreachable");
    assertThat(kit.getState().queue()).isEmpty();
  }

  @Test
  void anInterruptedRunStartsAgainUnderTheSameIdAfterARestartAndAStoppedExportRunsNoMore() {
    runner.hold = new CompletableFuture<>();
    var kit = feed(3);
    kit.<StatusReply<Done>>runCommand(
        r -> new ExportFeed.Add(oneTime("x1", "2026-11-01", "2026-11-02"), r));
    kit.<StatusReply<Done>>runCommand(
        r -> new ExportFeed.Add(oneTime("x2", "2026-11-04", "2026-11-04"), r));
    eventually(() -> assertThat(runner.runs).hasSize(1));
    assertThat(view(kit, "x1").status()).isEqualTo("in_progress");
    String first = runner.runs.get(0).runId();
    // x2 is queued behind the running x1: stopping it drops it.
    kit.<StatusReply<Done>>runCommand(r -> new ExportFeed.Stop("x2", r));

    runner.hold = null;
    kit.restart();
    eventually(() -> assertThat(view(kit, "x1").status()).isEqualTo("complete"));
    assertThat(runner.runs.get(1).runId()).as("the same export uuid").isEqualTo(first);
    assertThat(kit.getState().queue()).isEmpty();
    assertThat(runner.runs).extracting(ExportFeed.Run::exportId).containsOnly("x1");
    assertThat(view(kit, "x2").status()).isEqualTo("stopped");
  }

  @Test
  void anExportOfTheRegistryThatTheFeedNeverHeardOfRunsAndOneStoppedThereStops() {
    var kit = feed(3);
    registry.add(oneTime("x7", "2026-11-10", "2026-11-10"));
    eventually(() -> assertThat(view(kit, "x7").status()).isEqualTo("complete"));
    assertThat(runner.runs).extracting(ExportFeed.Run::exportId).containsExactly("x7");
    registry.set(0, registry.get(0).stoppedAt(1));
    eventually(() -> assertThat(view(kit, "x7").status()).isEqualTo("stopped"));
  }

  @Test
  void aRetroactiveRunGivenUpIsShownAndNotQueuedAgainUntilTheRulesChangeAgain() {
    var kit = feed(2);
    kit.<StatusReply<Done>>runCommand(
        r -> new ExportFeed.Add(oneTime("x1", "2026-11-01", "2026-11-01"), r));
    eventually(() -> assertThat(view(kit, "x1").status()).isEqualTo("complete"));
    runner.failuresLeft.set(100);
    rules.set(List.of(new PageRule("docs", "Docs", "/docs")));
    eventually(
        () ->
            assertThat(view(kit, "x1").message())
                .contains("retroactive export after the last page rule change failed")
                .contains("bucket unreachable"));
    assertThat(kit.getState().queue()).isEmpty();
    assertThat(kit.getState().retroactiveFailedRules()).isEqualTo(rules.get());
    int runs = runner.runs.size();
    assertThat(runs).isEqualTo(3);

    runner.failuresLeft.set(0);
    rules.set(List.of(new PageRule("docs", "Docs", "/docs*")));
    eventually(() -> assertThat(view(kit, "x1").message()).isNull());
    assertThat(runner.runs.get(runner.runs.size() - 1).pages())
        .containsExactlyInAnyOrder("docs", "pricing");
  }

  @Test
  void daysOlderThanTheArchiveKeepsAreLeftOutAndARunWithNoneLeftIsGivenUp() {
    retentionDays.set(5);
    java.time.LocalDate today = java.time.LocalDate.now(java.time.ZoneOffset.UTC);
    var kit = feed(3);
    kit.<StatusReply<Done>>runCommand(
        r ->
            new ExportFeed.Add(
                oneTime("x1", today.minusDays(10).toString(), today.minusDays(1).toString()), r));
    eventually(() -> assertThat(view(kit, "x1").status()).isEqualTo("complete"));
    assertThat(runner.runs.get(0).days())
        .as("days before today - (5 - 2) may be gone")
        .containsExactly(
            today.minusDays(3).toString(),
            today.minusDays(2).toString(),
            today.minusDays(1).toString());
    kit.<StatusReply<Done>>runCommand(
        r ->
            new ExportFeed.Add(
                oneTime("x2", today.minusDays(20).toString(), today.minusDays(15).toString()), r));
    eventually(() -> assertThat(view(kit, "x2").status()).isEqualTo("failed"));
    assertThat(view(kit, "x2").message()).contains("older than").contains("5 days");
    assertThat(runner.runs).hasSize(1);
  }

  @Test
  void aDailyRunGivenUpHandsItsDaysToTheNextOne() {
    runner.failuresLeft.set(100);
    var kit = feed(1, LocalTime.MIDNIGHT);
    Export daily =
        new Export("x3", "daily", connectionId, "lake", Export.Type.recurring, null, null, 3, 0, 0);
    kit.<StatusReply<Done>>runCommand(r -> new ExportFeed.Add(daily, r));
    eventually(() -> assertThat(view(kit, "x3").message()).contains("a daily run gave up"));
    java.time.LocalDate today = java.time.LocalDate.now(java.time.ZoneOffset.UTC);
    assertThat(kit.getState().exports().get("x3").missedDays())
        .containsExactly(today.minusDays(3).toString(), today.minusDays(1).toString());
    assertThat(kit.getState().exports().get("x3").lastRecurringDay()).isEqualTo(today.toString());
    assertThat(kit.getState().queue()).isEmpty();
  }

  @Test
  void aStoppedExportsRetryingRunIsDropped() {
    runner.failuresLeft.set(1000);
    var kit = feed(1000);
    kit.<StatusReply<Done>>runCommand(
        r -> new ExportFeed.Add(oneTime("x1", "2026-11-01", "2026-11-01"), r));
    eventually(() -> assertThat(runner.runs).hasSizeGreaterThan(1));
    kit.<StatusReply<Done>>runCommand(r -> new ExportFeed.Stop("x1", r));
    eventually(() -> assertThat(kit.getState().queue()).isEmpty());
    assertThat(view(kit, "x1").status()).isEqualTo("stopped");
  }
}
