package weir.node;

import static org.assertj.core.api.Assertions.assertThat;
import static weir.node.Eventually.eventually;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The durability promise, end to end, with real processes: a node started with no set-up takes
 * 20,000 events over HTTP (single objects, arrays, NDJSON; clients resend some bodies as retries),
 * is killed with SIGKILL mid-stream, restarts, and without any new traffic for the events it
 * already had, every acknowledged event reaches DuckDB exactly once. SIGTERM then exits 0 with
 * nothing left behind.
 */
class NodeKillRestartTest {
  private static final int TOTAL_EVENTS = 20_000;
  private static final int CLIENTS = 4;

  /** One request body and the event numbers (seq) it carries. */
  record Body(String contentType, String text, List<Integer> seqs, String eventIdHeader) {}

  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private final Set<Integer> acknowledged = ConcurrentHashMap.newKeySet();
  private final Set<Integer> attempted = ConcurrentHashMap.newKeySet();
  private final AtomicInteger retriesSent = new AtomicInteger();

  @Test
  void acknowledgedEventsSurviveSigkillAndAreLoadedExactlyOnce(@TempDir Path tmp) throws Exception {
    Path data = tmp.resolve("data");
    Map<String, String> env =
        Map.of("WEIR_DEMO_BATCH_INTERVAL_SECONDS", "1", "WEIR_DEMO_SYNC_INTERVAL_SECONDS", "2");
    List<Body> bodies = bodies();
    ConcurrentLinkedQueue<Body> queue = new ConcurrentLinkedQueue<>(bodies);
    ConcurrentLinkedQueue<Body> failed = new ConcurrentLinkedQueue<>();

    try (NodeProcess first = NodeProcess.start(data, tmp.resolve("node-1.log"), env)) {
      String url = first.demoUrl;
      ExecutorService clients = Executors.newFixedThreadPool(CLIENTS);
      List<Future<?>> running = new ArrayList<>();
      for (int i = 0; i < CLIENTS; i++) running.add(clients.submit(() -> send(url, queue, failed)));
      // Kill mid-stream, while the clients are still sending: pacing, not polling, so it watches
      // closely (a backing-off retry could let the clients finish first).
      while (acknowledged.size() < TOTAL_EVENTS / 2) Thread.sleep(5);
      first.kill();
      for (Future<?> f : running) f.get(60, TimeUnit.SECONDS);
      clients.shutdown();
    }
    int acknowledgedBeforeKill = acknowledged.size();
    assertThat(acknowledgedBeforeKill).isBetween(TOTAL_EVENTS / 2, TOTAL_EVENTS - 1);

    try (NodeProcess second = NodeProcess.start(data, tmp.resolve("node-2.log"), env)) {
      // Without new traffic, everything acknowledged before the kill is loaded.
      Set<Integer> before = Set.copyOf(acknowledged);
      long restartedAt = System.nanoTime();
      awaitLoaded(data, before, Duration.ofSeconds(60));
      System.out.printf(
          "acknowledged before SIGKILL: %d events (%d requests failed around the kill); "
              + "all loaded %d ms after the restarted node was ready%n",
          acknowledgedBeforeKill,
          failed.size(),
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - restartedAt));
      System.out.println("node-2 recovery log:");
      Files.readAllLines(second.log).stream()
          .filter(l -> l.contains("recovered") || l.contains("Loaded"))
          .limit(12)
          .forEach(l -> System.out.println("  " + l));

      // Clients then retry what failed around the kill, and send the rest.
      queue.addAll(failed);
      failed.clear();
      ExecutorService clients = Executors.newFixedThreadPool(CLIENTS);
      List<Future<?>> running = new ArrayList<>();
      for (int i = 0; i < CLIENTS; i++)
        running.add(clients.submit(() -> send(second.demoUrl, queue, failed)));
      for (Future<?> f : running) f.get(120, TimeUnit.SECONDS);
      clients.shutdown();
      assertThat(failed).isEmpty();
      assertThat(acknowledged).hasSize(TOTAL_EVENTS);

      long started = System.nanoTime();
      assertThat(second.terminate(Duration.ofSeconds(30))).as("exit status after SIGTERM").isZero();
      assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(30));
      assertThat(Files.readString(second.log)).contains("Shutdown drain complete");
    }

    Map<Integer, Integer> rowsPerSeq = rowsPerSeq(data);
    assertThat(rowsPerSeq.keySet())
        .as("every acknowledged event is loaded")
        .containsAll(acknowledged);
    assertThat(rowsPerSeq.keySet()).as("nothing that was never sent").isSubsetOf(attempted);
    assertThat(rowsPerSeq.values()).as("each exactly once").allMatch(n -> n == 1);
    assertThat(distinctEventIds(data)).isEqualTo(rowsPerSeq.size());
    assertThat(retriesSent.get()).as("the clients did resend bodies").isPositive();
    System.out.printf(
        "final: %d rows, %d distinct events, %d bodies resent as retries%n",
        rowsPerSeq.values().stream().mapToInt(Integer::intValue).sum(),
        rowsPerSeq.size(),
        retriesSent.get());
  }

  /** 20,000 events in bodies of every kind; each event carries a unique seq. */
  private static List<Body> bodies() {
    List<Body> out = new ArrayList<>();
    int seq = 0;
    int kind = 0;
    while (seq < TOTAL_EVENTS) {
      switch (kind++ % 4) {
        case 0 -> {
          out.add(new Body("application/json", event(seq), List.of(seq), null));
          seq++;
        }
        case 1 -> {
          out.add(new Body("application/json", event(seq), List.of(seq), "evt-" + seq));
          seq++;
        }
        case 2 -> {
          List<Integer> seqs = new ArrayList<>();
          StringBuilder sb = new StringBuilder("[");
          for (int i = 0; i < 40 && seq < TOTAL_EVENTS; i++, seq++) {
            if (i > 0) sb.append(',');
            sb.append(event(seq));
            seqs.add(seq);
          }
          out.add(new Body("application/json", sb.append(']').toString(), seqs, null));
        }
        default -> {
          List<Integer> seqs = new ArrayList<>();
          StringBuilder sb = new StringBuilder();
          for (int i = 0; i < 40 && seq < TOTAL_EVENTS; i++, seq++) {
            sb.append(event(seq)).append('\n');
            seqs.add(seq);
          }
          out.add(new Body("application/x-ndjson", sb.toString(), seqs, null));
        }
      }
    }
    return out;
  }

  private static String event(int seq) {
    return "{\"seq\":"
        + seq
        + ",\"event\":\"order_completed\",\"amount\":"
        + (seq % 97)
        + ".5,"
        + "\"user\":{\"id\":\"u"
        + (seq % 1000)
        + "\"}}";
  }

  /**
   * Sends bodies until the queue is empty; a body the node did not acknowledge goes to {@code
   * failed}.
   */
  private void send(
      String url, ConcurrentLinkedQueue<Body> queue, ConcurrentLinkedQueue<Body> failed) {
    Body body;
    while ((body = queue.poll()) != null) {
      attempted.addAll(body.seqs());
      boolean ok = post(url, body);
      // A client retry: resend the same body (sometimes even after a success, as a lost answer
      // would).
      if (ok && ThreadLocalRandom.current().nextInt(10) == 0) {
        retriesSent.incrementAndGet();
        post(url, body);
      }
      if (ok) acknowledged.addAll(body.seqs());
      else failed.add(body);
    }
  }

  private boolean post(String url, Body body) {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(url))
            .timeout(Duration.ofSeconds(20))
            .header("Content-Type", body.contentType())
            .POST(HttpRequest.BodyPublishers.ofString(body.text()));
    if (body.eventIdHeader() != null) request.header("X-Event-Id", body.eventIdHeader());
    try {
      HttpResponse<String> response =
          http.send(request.build(), HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() == 200) {
        assertThat(response.body()).contains("\"accepted\":" + body.seqs().size());
        return true;
      }
      assertThat(response.statusCode()).as(response.body()).isEqualTo(503);
      return false;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private static void awaitLoaded(Path data, Set<Integer> expected, Duration timeout) {
    AtomicReference<Set<Integer>> loaded = new AtomicReference<>(Set.of());
    eventually(
        timeout,
        () -> {
          try {
            loaded.set(rowsPerSeq(data).keySet());
          } catch (SQLException lockedOrNotYetCreated) {
            // The node holds the file while it loads; read again shortly.
          }
          Set<Integer> missing = new TreeSet<>(expected);
          missing.removeAll(loaded.get());
          if (!missing.isEmpty())
            throw new AssertionError(
                missing.size()
                    + " acknowledged events not loaded after "
                    + timeout
                    + ", e.g. "
                    + missing.stream().limit(10).toList());
        });
  }

  private static Map<Integer, Integer> rowsPerSeq(Path data) throws Exception {
    Map<Integer, Integer> out = new HashMap<>();
    try (Connection c = readOnly(data);
        ResultSet rs =
            c.createStatement()
                .executeQuery(
                    "SELECT CAST(data->>'$.seq' AS INTEGER) AS seq, count(*) FROM demo.events GROUP BY 1")) {
      while (rs.next()) out.put(rs.getInt(1), rs.getInt(2));
    }
    return out;
  }

  private static int distinctEventIds(Path data) throws Exception {
    try (Connection c = readOnly(data);
        ResultSet rs =
            c.createStatement().executeQuery("SELECT count(DISTINCT event_id) FROM demo.events")) {
      rs.next();
      return rs.getInt(1);
    }
  }

  private static Connection readOnly(Path data) throws SQLException {
    Properties p = new Properties();
    p.setProperty("duckdb.read_only", "true");
    return DriverManager.getConnection("jdbc:duckdb:" + data.resolve("warehouse.duckdb"), p);
  }
}
