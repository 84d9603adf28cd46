package weir.node;

import static org.assertj.core.api.Assertions.assertThat;
import static weir.node.Eventually.eventually;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGTERM with a backlog (README §6): the node stages every buffered event and loads every staged
 * batch before it exits, so nothing acknowledged waits for a next start; when the drain deadline
 * cuts that short, its log says exactly what is left and the next start loads it.
 */
class NodeShutdownTest {
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  /**
   * {@code requests} webhook bodies of 100 events to the demo connection; every one answered 200.
   */
  private static void send(NodeProcess node, int requests) throws Exception {
    for (int r = 0; r < requests; r++) {
      StringBuilder body = new StringBuilder("[");
      for (int i = 0; i < 100; i++)
        body.append(i == 0 ? "" : ",").append("{\"seq\":").append(r * 100 + i).append('}');
      HttpResponse<String> answer =
          HTTP.send(
              HttpRequest.newBuilder(URI.create(node.demoUrl))
                  .header("Content-Type", "application/json")
                  .POST(HttpRequest.BodyPublishers.ofString(body.append(']').toString()))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
    }
  }

  private static long count(Path data, String sql) throws Exception {
    return Long.parseLong(DuckDbRows.query(data.resolve("warehouse.duckdb"), sql).get(0));
  }

  @Test
  void sigtermStagesAndLoadsEveryAcknowledgedEventBeforeTheNodeExits(@TempDir Path tmp)
      throws Exception {
    Path data = tmp.resolve("data");
    // Nothing flushes or loads on its own for an hour: everything is left to the drain.
    try (NodeProcess node =
        NodeProcess.start(
            data,
            tmp.resolve("node.log"),
            Map.of(
                "WEIR_DEMO_BATCH_INTERVAL_SECONDS",
                "3600",
                "WEIR_DEMO_SYNC_INTERVAL_SECONDS",
                "3600"))) {
      send(node, 300);
      assertThat(node.terminate(Duration.ofSeconds(90))).as("exit status after SIGTERM").isZero();
      assertThat(Files.readString(node.log)).contains("Shutdown drain complete");
    }
    assertThat(count(data, "SELECT count(DISTINCT data->>'seq') FROM demo.events"))
        .isEqualTo(30_000);
    assertThat(count(data, "SELECT count(*) FROM demo.events")).isEqualTo(30_000);
  }

  @Test
  void aDrainCutShortByItsDeadlineLogsWhatIsLeftAndTheNextStartLoadsIt(@TempDir Path tmp)
      throws Exception {
    Path data = tmp.resolve("data");
    Map<String, String> env =
        Map.of(
            "WEIR_DEMO_BATCH_INTERVAL_SECONDS", "3600", "WEIR_DEMO_SYNC_INTERVAL_SECONDS", "3600");
    String connectionId;
    Files.createDirectories(data);
    // The warehouse is locked by another process (this test) while the node drains: its loads
    // cannot succeed.
    try (Connection lock =
        DriverManager.getConnection("jdbc:duckdb:" + data.resolve("warehouse.duckdb"))) {
      try (NodeProcess node =
          NodeProcess.launch(
              data, tmp.resolve("node-1.log"), env, List.of("-Dweir.shutdown.drain-timeout=4s"))) {
        node.awaitReady(Duration.ofSeconds(60));
        connectionId = node.demoConnectionId;
        send(node, 50);
        assertThat(node.terminate(Duration.ofSeconds(60))).as("exit status after SIGTERM").isZero();
        String log = Files.readString(node.log);
        assertThat(log)
            .contains("Shutdown drain cut short by its 4 s deadline")
            .contains("staged batches not loaded: connection " + connectionId);
      }
    }
    try (NodeProcess again = NodeProcess.start(data, tmp.resolve("node-2.log"), env)) {
      // Not loaded yet fails the count with an SQLException: retried too.
      eventually(
          Duration.ofSeconds(60),
          () -> {
            HTTP.send(
                HttpRequest.newBuilder(
                        URI.create(
                            again.adminUrl + "/v1/admin/connections/" + connectionId + "/sync"))
                    .header(
                        "Authorization",
                        "Bearer " + Files.readString(data.resolve("admin-token")).strip())
                    .POST(HttpRequest.BodyPublishers.noBody())
                    .build(),
                HttpResponse.BodyHandlers.ofString());
            assertThat(count(data, "SELECT count(*) FROM demo.events"))
                .as("loaded after the restart")
                .isGreaterThanOrEqualTo(5_000);
          });
      assertThat(count(data, "SELECT count(DISTINCT data->>'seq') FROM demo.events"))
          .isEqualTo(5_000);
      assertThat(count(data, "SELECT count(*) FROM demo.events")).isEqualTo(5_000);
    }
  }
}
