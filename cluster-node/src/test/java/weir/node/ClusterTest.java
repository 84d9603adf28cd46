package weir.node;

import static org.assertj.core.api.Assertions.assertThat;
import static weir.node.Eventually.eventually;

import com.fasterxml.jackson.databind.JsonNode;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.net.ServerSocket;
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
import java.util.Base64;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import weir.protocol.Json;

/**
 * A real cluster: three node JVMs on loopback start together against an empty PostgreSQL journal
 * (embedded binaries), share one staging directory, and take load through all three ingestion
 * ports. One test kills a node with SIGKILL mid-load: without any new traffic, every acknowledged
 * event reaches the warehouse (PostgreSQL) exactly once, and the survivors report the loss. The
 * other restarts every node in turn under load: nothing is lost and the only 5xx answers are 503
 * with Retry-After.
 */
class ClusterTest {
  private static final String TOKEN = "cluster-test-token";
  private static final int BODIES = 600;
  private static final int PER_BODY = 20;

  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private final Set<Integer> acknowledged = ConcurrentHashMap.newKeySet();
  private final Set<Integer> attempted = ConcurrentHashMap.newKeySet();

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  @Test
  void acknowledgedEventsSurviveTheLossOfANodeAndLoadExactlyOnce(@TempDir Path tmp)
      throws Exception {
    try (EmbeddedPostgres pg = EmbeddedPostgres.builder().start()) {
      Cluster cluster = new Cluster(tmp, pg.getPort());
      List<NodeProcess> nodes = cluster.nodes;
      try {
        String id = cluster.start();

        // A change made on one node applies on the others at once (published), not on a periodic
        // refresh.
        JsonNode patched =
            patch(nodes.get(0), "/v1/admin/connections/" + id, "{\"batch_size\":250}");
        assertThat(patched.get("batch_size").asInt()).isEqualTo(250);
        eventually(
            Duration.ofSeconds(5),
            () ->
                assertThat(
                        adminGet(nodes.get(2), "/v1/admin/connections/" + id)
                            .get("batch_size")
                            .asInt())
                    .as("node 3 sees the PATCH made on node 1")
                    .isEqualTo(250));

        // Bodies of ~1.3 MB, round-robin: most land in a buffer slot on another node (remoting's
        // large-message
        // lane; the ordinary lane's 256 KiB frames used to drop them and the client got 503 after
        // 10 s).
        for (int b = 0; b < 12; b++) {
          assertThat(sendLarge(nodes.get(b % 3).ingestUrl + "/v1/webhooks/" + id, b))
              .as("large body " + b)
              .isEqualTo(200);
        }
        // Dead letters with 60 KB payloads; read back through another node: replies of megabytes
        // cross too.
        String bigElement = "\"" + "x".repeat(60_000) + "\"";
        String deadBody = "[" + String.join(",", Collections.nCopies(40, bigElement)) + "]";
        for (int b = 0; b < 3; b++) {
          HttpResponse<String> r =
              http.send(
                  HttpRequest.newBuilder(URI.create(nodes.get(1).ingestUrl + "/v1/webhooks/" + id))
                      .header("Content-Type", "application/json")
                      .POST(HttpRequest.BodyPublishers.ofString(deadBody))
                      .build(),
                  HttpResponse.BodyHandlers.ofString());
          assertThat(r.statusCode())
              .as(r.body().length() > 300 ? r.body().substring(0, 300) : r.body())
              .isEqualTo(200);
        }
        JsonNode deadLetters =
            adminGet(nodes.get(0), "/v1/admin/connections/" + id + "/dead-letters?limit=100");
        assertThat(deadLetters.get("dead_letters_total").asLong()).isEqualTo(120);
        assertThat(deadLetters.get("dead_letters"))
            .hasSize(100)
            .allSatisfy(d -> assertThat(d.get("payload").asText()).hasSize(60_002));

        // Load through all three nodes; node 3 is killed half way.
        List<String> unexpected = new CopyOnWriteArrayList<>();
        AtomicInteger next = new AtomicInteger();
        ExecutorService clients = Executors.newFixedThreadPool(3);
        List<Future<?>> running = new ArrayList<>();
        for (int t = 0; t < 3; t++) {
          running.add(
              clients.submit(
                  () -> {
                    int b;
                    while ((b = next.getAndIncrement()) < BODIES) {
                      NodeProcess target = nodes.get(b % 3);
                      Integer status =
                          sendOnce(target.ingestUrl + "/v1/webhooks/" + id, b, unexpected);
                      assertThat(status)
                          .as(
                              "no answer means the killed node; else 200, or 404/503 while shards move")
                          .isIn(null, 200, 404, 503);
                    }
                    return null;
                  }));
        }
        // Pacing, not polling: the kill must land while the clients are mid-load, so this watches
        // their progress closely (a backing-off retry could let them finish first).
        while (next.get() < BODIES / 2) Thread.sleep(5);
        long sigkillAt = System.nanoTime();
        nodes.get(2).kill();
        for (Future<?> f : running) f.get(3, TimeUnit.MINUTES);
        clients.shutdown();
        assertThat(unexpected).as("5xx answers other than 503 with Retry-After").isEmpty();
        int acked = acknowledged.size();
        assertThat(acked).as("events acknowledged").isGreaterThan(BODIES * PER_BODY / 2 + 24_000);

        // No new traffic: every acknowledged event must arrive, once.
        long killedAt = System.nanoTime();
        Map<Integer, Integer> rows = awaitLoaded(pg.getPort(), Duration.ofSeconds(120));
        System.out.printf(
            "cluster: %d events acknowledged (%d attempted); all in the warehouse %.1f s after the last "
                + "request, %.1f s after the SIGKILL%n",
            acked,
            attempted.size(),
            (System.nanoTime() - killedAt) / 1e9,
            (System.nanoTime() - sigkillAt) / 1e9);
        assertThat(rows.keySet())
            .as("every acknowledged event is loaded")
            .containsAll(acknowledged);
        assertThat(rows.keySet()).as("nothing never sent").isSubsetOf(attempted);
        assertThat(rows.values()).as("each exactly once").allMatch(n -> n == 1);

        // The survivors report the loss.
        JsonNode members =
            Json.MAPPER.readTree(get(nodes.get(0).managementUrl + "/cluster/members"));
        assertThat(members.get("members"))
            .hasSize(2)
            .allSatisfy(m -> assertThat(m.get("status").asText()).isEqualTo("Up"));
        assertThat(Files.readString(nodes.get(0).log))
            .contains("127.0.0.1:" + cluster.remote[2] + " removed");
        String metrics =
            http.send(
                    HttpRequest.newBuilder(URI.create(nodes.get(1).adminUrl + "/metrics"))
                        .header("Authorization", "Bearer " + TOKEN)
                        .build(),
                    HttpResponse.BodyHandlers.ofString())
                .body();
        assertThat(metrics).contains("weir_cluster_members{status=\"Up\"} 2");
        // The cluster-wide shard view (refreshed every 10 s) names the other survivor too.
        eventually(
            Duration.ofSeconds(30),
            () ->
                assertThat(
                        http.send(
                                HttpRequest.newBuilder(
                                        URI.create(nodes.get(1).adminUrl + "/metrics"))
                                    .header("Authorization", "Bearer " + TOKEN)
                                    .build(),
                                HttpResponse.BodyHandlers.ofString())
                            .body())
                    .as("weir_cluster_shards shows node 1 on node 2")
                    .contains(
                        "weir_cluster_shards{member=\"akka://weir@127.0.0.1:" + cluster.remote[0]));

        for (NodeProcess n : nodes.subList(0, 2)) {
          assertThat(n.terminate(Duration.ofSeconds(45))).as("exit status after SIGTERM").isZero();
        }
      } finally {
        nodes.forEach(NodeProcess::close);
      }
    }
  }

  @Test
  void aRollingRestartUnderLoadLosesNothingAndAnswersNo5xxBut503(@TempDir Path tmp)
      throws Exception {
    try (EmbeddedPostgres pg = EmbeddedPostgres.builder().start()) {
      Cluster cluster = new Cluster(tmp, pg.getPort());
      try {
        String id = cluster.start();
        AtomicReferenceArray<String> urls = new AtomicReferenceArray<>(3);
        for (int i = 0; i < 3; i++)
          urls.set(i, cluster.nodes.get(i).ingestUrl + "/v1/webhooks/" + id);
        List<String> unexpected = new CopyOnWriteArrayList<>();
        int bodies = 900;
        AtomicInteger next = new AtomicInteger();
        ExecutorService clients = Executors.newFixedThreadPool(3);
        List<Future<?>> running = new ArrayList<>();
        for (int t = 0; t < 3; t++) {
          running.add(
              clients.submit(
                  () -> {
                    int b;
                    while ((b = next.getAndIncrement()) < bodies) {
                      // Like a client behind a load balancer: retry the same body on the next node
                      // until acknowledged.
                      for (int attempt = 0; !acknowledged.contains(b * PER_BODY); attempt++) {
                        assertThat(attempt)
                            .as("body " + b + " acknowledged in time")
                            .isLessThan(600);
                        Integer status = sendOnce(urls.get((b + attempt) % 3), b, unexpected);
                        // Throttles the retries of this load generator; nothing is polled.
                        if (status == null || status != 200) Thread.sleep(50);
                      }
                    }
                    return null;
                  }));
        }
        for (int i = 0; i < 3; i++) {
          // Pacing: restart the next node once the clients are a quarter further, mid-load.
          while (next.get() < bodies * (i + 1) / 4) Thread.sleep(20);
          NodeProcess old = cluster.nodes.get(i);
          assertThat(old.terminate(Duration.ofSeconds(45)))
              .as("node " + i + " exit status after SIGTERM")
              .isZero();
          NodeProcess fresh = cluster.launch(i);
          fresh.awaitReady(Duration.ofSeconds(120));
          cluster.nodes.set(i, fresh);
          urls.set(i, fresh.ingestUrl + "/v1/webhooks/" + id);
        }
        for (Future<?> f : running) f.get(5, TimeUnit.MINUTES);
        clients.shutdown();
        assertThat(unexpected).as("5xx answers other than 503 with Retry-After").isEmpty();
        assertThat(acknowledged).hasSize(bodies * PER_BODY);
        Map<Integer, Integer> rows = awaitLoaded(pg.getPort(), Duration.ofSeconds(120));
        assertThat(rows.keySet())
            .as("every acknowledged event is loaded")
            .containsAll(acknowledged);
        assertThat(rows.values()).as("each exactly once").allMatch(n -> n == 1);
        for (NodeProcess n : cluster.nodes)
          assertThat(n.terminate(Duration.ofSeconds(45))).isZero();
      } finally {
        cluster.nodes.forEach(NodeProcess::close);
      }
    }
  }

  /** A body of 2,000 events of ~650 bytes (seq from 10,000,000 on); its status. */
  private int sendLarge(String url, int body) throws Exception {
    StringBuilder json = new StringBuilder("[");
    List<Integer> seqs = new ArrayList<>();
    String pad = "p".repeat(630);
    for (int i = 0; i < 2000; i++) {
      int seq = 10_000_000 + body * 2000 + i;
      seqs.add(seq);
      json.append(i == 0 ? "" : ",")
          .append("{\"seq\":")
          .append(seq)
          .append(",\"pad\":\"")
          .append(pad)
          .append("\"}");
    }
    attempted.addAll(seqs);
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create(url))
                .timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json.append(']').toString()))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() == 200) acknowledged.addAll(seqs);
    return r.statusCode();
  }

  /**
   * One attempt; the status, or null when the node did not answer. Records 5xx other than 503 +
   * Retry-After.
   */
  private Integer sendOnce(String url, int body, List<String> unexpected) {
    List<Integer> seqs = new ArrayList<>();
    StringBuilder json = new StringBuilder("[");
    for (int i = 0; i < PER_BODY; i++) {
      int seq = body * PER_BODY + i;
      seqs.add(seq);
      json.append(i == 0 ? "" : ",").append("{\"seq\":").append(seq).append('}');
    }
    attempted.addAll(seqs);
    try {
      HttpResponse<String> r =
          http.send(
              HttpRequest.newBuilder(URI.create(url))
                  .timeout(Duration.ofSeconds(15))
                  .header("Content-Type", "application/json")
                  .POST(HttpRequest.BodyPublishers.ofString(json.append(']').toString()))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() == 200) acknowledged.addAll(seqs);
      boolean retryable503 =
          r.statusCode() == 503 && r.headers().firstValue("Retry-After").isPresent();
      if (r.statusCode() >= 500 && !retryable503) unexpected.add(r.statusCode() + " " + r.body());
      return r.statusCode();
    } catch (IOException e) {
      return null; // the node is stopping or starting: not acknowledged
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  /**
   * Three cluster nodes on loopback with fixed remoting ports (the seeds), a shared staging
   * directory.
   */
  private final class Cluster {
    final Path tmp;
    final int pgPort;
    final String masterKey = Base64.getEncoder().encodeToString(new byte[32]);
    final int[] remote;
    final Path staging;
    final List<NodeProcess> nodes = new ArrayList<>();
    int launches;

    Cluster(Path tmp, int pgPort) throws Exception {
      this.tmp = tmp;
      this.pgPort = pgPort;
      this.remote = new int[] {freePort(), freePort(), freePort()};
      this.staging = Files.createDirectories(tmp.resolve("shared-staging"));
      try (Connection c =
          DriverManager.getConnection(
              "jdbc:postgresql://127.0.0.1:" + pgPort + "/postgres", "postgres", "")) {
        c.createStatement().execute("CREATE DATABASE wh");
      }
    }

    /**
     * Starts the three nodes together, creates a destination and connection; returns the connection
     * id.
     */
    String start() throws Exception {
      for (int i = 0; i < 3; i++) nodes.add(launch(i));
      for (NodeProcess n : nodes) n.awaitReady(Duration.ofSeconds(120));
      JsonNode destination =
          admin(
              nodes.get(0),
              "POST",
              "/v1/admin/destinations",
              "{\"name\":\"wh\",\"type\":"
                  + "\"postgres\",\"config\":{\"url\":\"jdbc:postgresql://127.0.0.1:"
                  + pgPort
                  + "/wh\",\"user\":"
                  + "\"postgres\",\"password\":\"unused\"}}");
      JsonNode connection =
          admin(
              nodes.get(0),
              "POST",
              "/v1/admin/connections",
              "{\"name\":\"clustered\","
                  + "\"kind\":\"webhook\",\"destination_id\":\""
                  + destination.get("id").asText()
                  + "\","
                  + "\"batch_size\":200,\"batch_interval_seconds\":2,\"sync_interval_minutes\":0.05,\"partitions\":6}");
      return connection.get("id").asText();
    }

    NodeProcess launch(int i) throws Exception {
      Map<String, String> env =
          new HashMap<>(
              Map.of(
                  "WEIR_MODE",
                  "cluster",
                  "WEIR_PG_URL",
                  "jdbc:postgresql://127.0.0.1:" + pgPort + "/postgres",
                  "WEIR_PG_USER",
                  "postgres",
                  "WEIR_ADMIN_TOKEN",
                  TOKEN,
                  "WEIR_MASTER_KEY",
                  masterKey,
                  "WEIR_STAGING_DIR",
                  staging.toString(),
                  "WEIR_STAGING_SHARED",
                  "true",
                  "WEIR_SEED_NODES",
                  "127.0.0.1:" + remote[0] + ",127.0.0.1:" + remote[1]));
      env.put("WEIR_REMOTE_PORT", String.valueOf(remote[i]));
      int n = launches++;
      return NodeProcess.launch(
          tmp.resolve("node-" + i),
          tmp.resolve("node-" + i + "-" + n + ".log"),
          env,
          List.of(
              "-Dakka.cluster.split-brain-resolver.stable-after=3s",
              "-Dweir.registry.refresh-interval=10m"));
    }
  }

  /**
   * Waits until every acknowledged event is in the warehouse (failing at the deadline), then
   * returns rows per seq.
   */
  private Map<Integer, Integer> awaitLoaded(int pgPort, Duration timeout) {
    AtomicReference<Map<Integer, Integer>> rows = new AtomicReference<>(Map.of());
    eventually(
        timeout,
        () -> {
          try {
            rows.set(rowsPerSeq(pgPort));
          } catch (SQLException notYet) {
            // table not created yet
          }
          assertThat(rows.get().keySet())
              .as("every acknowledged event is loaded")
              .containsAll(acknowledged);
        });
    return rows.get();
  }

  private JsonNode admin(NodeProcess node, String method, String path, String body)
      throws Exception {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create(node.adminUrl + path))
                .header("Authorization", "Bearer " + TOKEN)
                .method(method, HttpRequest.BodyPublishers.ofString(body))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
    return Json.MAPPER.readTree(r.body());
  }

  private JsonNode patch(NodeProcess node, String path, String body) throws Exception {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create(node.adminUrl + path))
                .header("Authorization", "Bearer " + TOKEN)
                .method("PATCH", HttpRequest.BodyPublishers.ofString(body))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return Json.MAPPER.readTree(r.body());
  }

  private JsonNode adminGet(NodeProcess node, String path) throws Exception {
    return Json.MAPPER.readTree(
        http.send(
                HttpRequest.newBuilder(URI.create(node.adminUrl + path))
                    .header("Authorization", "Bearer " + TOKEN)
                    .build(),
                HttpResponse.BodyHandlers.ofString())
            .body());
  }

  private String get(String url) throws Exception {
    return http.send(
            HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString())
        .body();
  }

  private static Map<Integer, Integer> rowsPerSeq(int port) throws Exception {
    Map<Integer, Integer> out = new HashMap<>();
    try (Connection c =
            DriverManager.getConnection(
                "jdbc:postgresql://127.0.0.1:" + port + "/wh", "postgres", "");
        ResultSet rs =
            c.createStatement()
                .executeQuery(
                    "SELECT (data->>'seq')::int AS seq, count(*) FROM clustered.events GROUP BY 1")) {
      while (rs.next()) out.put(rs.getInt(1), rs.getInt(2));
    }
    return out;
  }
}
