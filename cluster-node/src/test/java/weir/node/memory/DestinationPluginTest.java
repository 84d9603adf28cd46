package weir.node.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static weir.node.Eventually.eventually;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import weir.node.NodeApi;
import weir.node.TestNodes;
import weir.node.WeirNode;
import weir.protocol.Json;

/**
 * Adding a destination type is one package and one service line: {@link MemoryDestination}, a type
 * only the tests have, is validated, sealed and masked by the management API, listed in its OpenAPI
 * document, loaded into by a running node, and its runtime is closed when a PATCH replaces it and
 * when the node stops.
 */
class DestinationPluginTest {
  private static final String TOKEN = "plugin-test-token";
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @Test
  void aTypeFromTheClasspathIsServedValidatedLoadedAndItsReplacedRuntimeClosed(@TempDir Path dir)
      throws Exception {
    WeirNode node = TestNodes.inProcess(dir, Map.of("weir.admin.token", TOKEN));
    MemoryDestination.Warehouse warehouse = MemoryDestination.warehouse("plugin-a");
    try {
      NodeApi api = new NodeApi(node, TOKEN);
      JsonNode openapi = api.admin("GET", "/v1/admin/openapi.json", null);
      assertThat(openapi.toString()).contains("\"memory\"");
      JsonNode memorySchema = openapi.at("/components/schemas/DestinationConfig_memory");
      assertThat(memorySchema.at("/properties/name").isMissingNode()).isFalse();
      assertThat(memorySchema.at("/properties/token").isMissingNode()).isFalse();
      assertThat(memorySchema.at("/required").toString()).contains("name");

      HttpResponse<String> invalid =
          call(
              node,
              "POST",
              "/v1/admin/destinations",
              "{\"name\":\"bad\",\"type\":\"memory\",\"config\":{\"name\":\"Not Valid\"}}");
      assertThat(invalid.statusCode()).isEqualTo(400);
      assertThat(Json.MAPPER.readTree(invalid.body()).at("/error/message").asText())
          .contains("config.name");
      HttpResponse<String> unknown =
          call(
              node,
              "POST",
              "/v1/admin/destinations",
              "{\"name\":\"bad\",\"type\":\"memory\",\"config\":{\"name\":\"a\",\"colour\":\"red\"}}");
      assertThat(unknown.statusCode()).isEqualTo(400);
      assertThat(unknown.body()).contains("unknown_field").contains("config.colour");

      JsonNode dest =
          api.admin(
              "POST",
              "/v1/admin/destinations",
              "{\"name\":\"memory\",\"type\":\"memory\",\"config\":{\"name\":\"plugin-a\",\"token\":\"t0p-s3cret\"}}");
      assertThat(dest.toString()).doesNotContain("t0p-s3cret").contains("********");
      String destinationId = dest.get("id").asText();
      JsonNode conn =
          api.admin(
              "POST",
              "/v1/admin/connections",
              "{\"name\":\"Plugin Events\",\"kind\":\"webhook\","
                  + "\"destination_id\":\""
                  + destinationId
                  + "\",\"batch_interval_seconds\":1,\"sync_interval_minutes\":1}");
      String webhook = conn.at("/urls/webhook").asText();
      String connectionId = conn.get("id").asText();

      for (int i = 0; i < 10; i++) {
        assertThat(NodeApi.post(webhook, "{\"id\":\"a" + i + "\",\"n\":" + i + "}", null))
            .isEqualTo(200);
      }
      eventually(
          Duration.ofSeconds(60),
          () -> {
            api.admin("POST", "/v1/admin/connections/" + connectionId + "/sync", null);
            assertThat(warehouse.rowCount("plugin_events.events")).isEqualTo(10);
          });
      assertThat(warehouse.opened.get()).isEqualTo(1);
      assertThat(warehouse.tokens).containsExactly("t0p-s3cret");
      assertThat(warehouse.rows.get("plugin_events.events").get(0).get("data").toString())
          .contains("\"n\"");

      // A PATCH replaces the runtime (the token is opened again in clear); the previous one is
      // closed.
      api.admin(
          "PATCH",
          "/v1/admin/destinations/" + destinationId,
          "{\"config\":{\"name\":\"plugin-a\",\"token\":\"n3w-s3cret\"}}");
      for (int i = 10; i < 15; i++) {
        assertThat(NodeApi.post(webhook, "{\"id\":\"a" + i + "\",\"n\":" + i + "}", null))
            .isEqualTo(200);
      }
      eventually(
          Duration.ofSeconds(60),
          () -> {
            api.admin("POST", "/v1/admin/connections/" + connectionId + "/sync", null);
            assertThat(warehouse.rowCount("plugin_events.events")).isEqualTo(15);
          });
      assertThat(warehouse.tokens).containsExactly("t0p-s3cret", "n3w-s3cret");
      eventually(Duration.ofSeconds(10), () -> assertThat(warehouse.closed.get()).isEqualTo(1));
    } finally {
      node.stop(Duration.ofSeconds(30));
    }
    assertThat(warehouse.closed.get())
        .as("the node closes the runtimes it holds when it stops")
        .isEqualTo(warehouse.opened.get());
  }

  private static HttpResponse<String> call(WeirNode node, String method, String path, String body)
      throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.adminPort() + path))
            .header("Authorization", "Bearer " + TOKEN)
            .header("Content-Type", "application/json")
            .method(method, HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
