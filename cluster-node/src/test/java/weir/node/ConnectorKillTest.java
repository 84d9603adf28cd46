package weir.node;

import static org.assertj.core.api.Assertions.assertThat;
import static weir.node.Eventually.eventually;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import weir.node.connector.fixture.CountingConnector;
import weir.protocol.Json;

/**
 * A node process killed (SIGKILL) in the middle of a connector sync: after the restart the sync
 * resumes from its last checkpoint, without new requests, and the warehouse ends as if the sync had
 * run once: every item once, every appended row once.
 */
class ConnectorKillTest {
  private static final String TOKEN = "kill-connector-token";
  private static final int ROWS = 3000;
  private final HttpClient http = HttpClient.newHttpClient();

  private HttpResponse<String> call(
      NodeProcess node, String method, String path, String type, byte[] body) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(node.adminUrl + path))
            .header("Authorization", "Bearer " + TOKEN)
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofByteArray(body));
    if (type != null) b.header("Content-Type", type);
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private JsonNode admin(NodeProcess node, String method, String path, String body)
      throws Exception {
    HttpResponse<String> r =
        call(node, method, path, "application/json", body == null ? null : body.getBytes());
    assertThat(r.statusCode()).as(r.body()).isLessThan(300);
    return Json.MAPPER.readTree(r.body());
  }

  private static byte[] jar(Class<?> c) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (JarOutputStream jar = new JarOutputStream(out)) {
      String name = c.getName().replace('.', '/') + ".class";
      jar.putNextEntry(new JarEntry(name));
      try (InputStream in = c.getClassLoader().getResourceAsStream(name)) {
        in.transferTo(jar);
      }
    }
    return out.toByteArray();
  }

  @Test
  void aNodeKilledMidSyncResumesFromItsLastCheckpointWithNothingLostOrDoubled(@TempDir Path tmp)
      throws Exception {
    Path data = tmp.resolve("data");
    Path warehouse = tmp.resolve("wh.duckdb");
    Path progress = tmp.resolve("progress");
    Map<String, String> env = Map.of("WEIR_ADMIN_TOKEN", TOKEN);
    String connectionId;
    try (NodeProcess node = NodeProcess.start(data, tmp.resolve("node-1.log"), env)) {
      HttpResponse<String> up =
          call(
              node,
              "POST",
              "/v1/admin/connectors",
              "application/java-archive",
              jar(CountingConnector.class));
      assertThat(up.statusCode()).as(up.body()).isIn(200, 201);
      String jarId = Json.MAPPER.readTree(up.body()).get("id").asText();
      String destination =
          admin(
                  node,
                  "POST",
                  "/v1/admin/destinations",
                  "{\"name\":\"wh\",\"type\":\"duckdb\",\"config\":{\"path\":\""
                      + warehouse
                      + "\"}}")
              .get("id")
              .asText();
      connectionId =
          admin(
                  node,
                  "POST",
                  "/v1/admin/connections",
                  "{\"name\":\"Counting\",\"kind\":\"connector\",\"destination_id\":\""
                      + destination
                      + "\",\"batch_interval_seconds\":1,\"sync_interval_minutes\":600,"
                      + "\"connector\":{\"jar\":\""
                      + jarId
                      + "\",\"class\":\""
                      + CountingConnector.class.getName()
                      + "\",\"configuration\":{\"rows\":\""
                      + ROWS
                      + "\",\"every\":\"1000\",\"pause_ms\":\"3000\",\"progress_file\":\""
                      + progress
                      + "\"}}}")
              .get("id")
              .asText();
      // Killed in the second stretch: checkpoint 1000 saved, rows 1001..1700 emitted since (most
      // of them journaled), so the resumed sync repeats rows the warehouse gets too.
      eventually(
          Duration.ofSeconds(60),
          () -> {
            assertThat(Files.exists(progress)).isTrue();
            assertThat(Integer.parseInt(Files.readString(progress).strip())).isEqualTo(1700);
          });
      node.kill();
    }
    int killedAt = Integer.parseInt(Files.readString(progress).strip());
    assertThat(killedAt).as("killed mid-sync").isLessThan(ROWS);
    try (NodeProcess node = NodeProcess.start(data, tmp.resolve("node-2.log"), env)) {
      eventually(
          Duration.ofSeconds(120),
          () -> {
            JsonNode status =
                admin(node, "GET", "/v1/admin/connections/" + connectionId + "/status", null);
            assertThat(status.at("/connector/syncs_total").asLong())
                .as(status.toString())
                .isEqualTo(1);
            assertThat(
                    DuckDbRows.query(
                        warehouse, "SELECT count(*), count(DISTINCT _weir_id) FROM counting.items"))
                .containsExactly(ROWS + "|" + ROWS);
            assertThat(
                    DuckDbRows.query(
                        warehouse,
                        "SELECT count(*), count(DISTINCT n), min(n), max(n) FROM counting.events"))
                .containsExactly(ROWS + "|" + ROWS + "|1|" + ROWS);
          });
      assertThat(Files.readString(node.log)).contains("resuming the sync");
    }
  }
}
