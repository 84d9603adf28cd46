package weir.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import weir.protocol.Json;

/**
 * The live tail is cluster-wide: two node processes in cluster mode; a tail opened on node 0 (the
 * NDJSON stream, read line by line) shows the events node 1 accepted as well as node 0's own.
 */
class ClusterTailTest {
  private static final String TOKEN = "cluster-tail-token";
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  private int post(NodeProcess node, String connectionId, String marker) throws Exception {
    return http.send(
            HttpRequest.newBuilder(URI.create(node.ingestUrl + "/v1/webhooks/" + connectionId))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"marker\":\"" + marker + "\"}"))
                .build(),
            HttpResponse.BodyHandlers.discarding())
        .statusCode();
  }

  /** The next tail line containing {@code text}, or null when none came before the deadline. */
  private static String awaitLine(BlockingQueue<String> lines, String text, long deadlineNanos)
      throws InterruptedException {
    while (true) {
      long left = deadlineNanos - System.nanoTime();
      if (left <= 0) return null;
      String line = lines.poll(left, TimeUnit.NANOSECONDS);
      if (line != null && line.contains(text)) return line;
    }
  }

  @Test
  void aTailOpenedOnOneMemberShowsWhatTheOtherMemberAccepted(@TempDir Path tmp) throws Exception {
    try (EmbeddedPostgres pg = EmbeddedPostgres.builder().start()) {
      try (Connection c =
          DriverManager.getConnection(
              "jdbc:postgresql://127.0.0.1:" + pg.getPort() + "/postgres", "postgres", "")) {
        c.createStatement().execute("CREATE DATABASE wh");
      }
      int[] remote = NodeProcess.freePorts(2);
      Path staging = Files.createDirectories(tmp.resolve("shared-staging"));
      String masterKey = Base64.getEncoder().encodeToString(new byte[32]);
      List<NodeProcess> nodes = new ArrayList<>();
      try {
        for (int i = 0; i < 2; i++) {
          Map<String, String> env =
              NodeProcess.clusterEnv(
                  pg.getPort(), TOKEN, masterKey, staging, "127.0.0.1:" + remote[0], remote[i]);
          nodes.add(
              NodeProcess.launch(
                  tmp.resolve("node-" + i),
                  tmp.resolve("node-" + i + ".log"),
                  env,
                  List.of("-Dakka.cluster.split-brain-resolver.stable-after=3s")));
        }
        for (NodeProcess n : nodes) n.awaitReady(Duration.ofSeconds(120));
        String destination =
            nodes
                .get(0)
                .admin(
                    TOKEN,
                    "POST",
                    "/v1/admin/destinations",
                    "{\"name\":\"wh\",\"type\":\"postgres\",\"config\":{\"url\":"
                        + "\"jdbc:postgresql://127.0.0.1:"
                        + pg.getPort()
                        + "/wh\",\"user\":\"postgres\",\"password\":\"unused\"}}")
                .get("id")
                .asText();
        String id =
            nodes
                .get(0)
                .admin(
                    TOKEN,
                    "POST",
                    "/v1/admin/connections",
                    "{\"name\":\"tailed\",\"kind\":\"webhook\",\"destination_id\":\""
                        + destination
                        + "\"}")
                .get("id")
                .asText();

        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        CompletableFuture<HttpResponse<Stream<String>>> tail =
            http.sendAsync(
                HttpRequest.newBuilder(
                        URI.create(nodes.get(0).adminUrl + "/v1/admin/connections/" + id + "/tail"))
                    .header("Authorization", "Bearer " + TOKEN)
                    .build(),
                HttpResponse.BodyHandlers.ofLines());
        HttpResponse<Stream<String>> response = tail.get(10, TimeUnit.SECONDS);
        assertThat(response.statusCode()).isEqualTo(200);
        Thread reader =
            new Thread(
                () -> {
                  try {
                    response.body().forEach(lines::add);
                  } catch (RuntimeException closed) {
                    // the test ended and closed the stream
                  }
                },
                "tail-reader");
        reader.setDaemon(true);
        reader.start();
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        assertThat(awaitLine(lines, "\"type\":\"open\"", deadline)).isNotNull();

        // Node 1 may not know the connection or node 0's tail yet: each try is a new marker.
        String seen = null;
        for (int k = 0; seen == null && System.nanoTime() < deadline; k++) {
          String marker = "from-node-1-" + k;
          int status = post(nodes.get(1), id, marker);
          assertThat(status).isIn(200, 404, 503);
          if (status == 200) seen = awaitLine(lines, marker, System.nanoTime() + 1_000_000_000L);
          else Thread.sleep(100); // poll interval until node 1 knows the connection
        }
        assertThat(seen).as("node 1's event in node 0's tail").isNotNull();
        JsonNode event = Json.MAPPER.readTree(seen);
        assertThat(event.get("type").asText()).isEqualTo("event");
        assertThat(event.has("received_at") && event.has("table") && event.has("event_id"))
            .isTrue();

        // A burst through both members: all of it arrives (well within every bound).
        for (int k = 0; k < 20; k++) {
          assertThat(post(nodes.get(k % 2), id, "burst-" + k + "-end")).isEqualTo(200);
        }
        long burstDeadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        java.util.Set<String> burst = new java.util.HashSet<>();
        while (burst.size() < 20) {
          String line = awaitLine(lines, "burst-", burstDeadline);
          assertThat(line).as("burst rows seen: " + burst).isNotNull();
          burst.add(line.replaceAll(".*(burst-\\d+-end).*", "$1"));
        }
        response.body().close();
      } finally {
        for (NodeProcess n : nodes) n.close();
      }
    }
  }
}
