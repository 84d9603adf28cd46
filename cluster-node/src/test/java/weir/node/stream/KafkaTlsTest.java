package weir.node.stream;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import weir.node.DuckDbRows;
import weir.node.Eventually;
import weir.node.NodeApi;
import weir.node.TestNodes;
import weir.node.WeirNode;
import weir.protocol.Json;

/**
 * A Kafka connection to a broker with a self-signed certificate: without a truststore the handshake
 * fails and the status says so, a PATCH with the certificate as {@code truststore} starts
 * consumption without a restart, and a truststore that is not PEM certificates is refused.
 */
class KafkaTlsTest {
  private static final String TOKEN = "kafka-tls-token";

  @Test
  void untrustedCertificateShowsInTheStatusAndAPatchWithTheTruststoreStartsConsumption(
      @TempDir Path dir) throws Exception {
    try (KafkaBroker broker = KafkaBroker.startSsl(dir.resolve("kafka"))) {
      broker.createTopic("clicks", 1);
      List<String> values = new ArrayList<>();
      for (int i = 0; i < 20; i++) values.add("{\"n\":" + i + "}");
      broker.send("clicks", null, values);
      String pem = broker.certificatePem();
      Path warehouse = dir.resolve("wh.duckdb");
      WeirNode node = TestNodes.inProcess(dir.resolve("node"), Map.of("weir.admin.token", TOKEN));
      try {
        NodeApi api = new NodeApi(node, TOKEN);
        String destination = api.duckdbDestination(warehouse);
        String connection =
            "{\"name\":\"Clicks\",\"kind\":\"kafka\",\"destination_id\":\""
                + destination
                + "\",\"batch_interval_seconds\":1,\"sync_interval_minutes\":0.05,"
                + "\"source\":{\"bootstrap_servers\":\""
                + broker.bootstrap()
                + "\",\"topics\":[\"clicks\"],\"security\":%s}}";

        HttpResponse<String> notPem =
            api.call(
                "POST",
                "/v1/admin/connections",
                String.format(connection, "{\"protocol\":\"SSL\",\"truststore\":\"not a cert\"}"));
        assertThat(notPem.statusCode()).as(notPem.body()).isEqualTo(400);
        JsonNode error = Json.MAPPER.readTree(notPem.body());
        assertThat(error.at("/error/code").asText()).isEqualTo("invalid_field");
        assertThat(error.at("/error/message").asText()).contains("source.security.truststore");

        JsonNode created =
            api.admin(
                "POST",
                "/v1/admin/connections",
                String.format(connection, "{\"protocol\":\"SSL\"}"));
        String id = created.get("id").asText();
        assertThat(created.at("/source/security/truststore").isNull()).isTrue();
        Eventually.eventually(
            Duration.ofSeconds(30),
            () ->
                assertThat(
                        api.admin("GET", "/v1/admin/connections/" + id + "/status", null)
                            .at("/source/last_error")
                            .asText())
                    .containsIgnoringCase("SSL handshake")
                    .containsIgnoringCase("certification path"));

        String withTruststore =
            "{\"source\":{\"security\":{\"protocol\":\"SSL\",\"truststore\":"
                + Json.MAPPER.writeValueAsString(pem)
                + "}}}";
        api.admin("PATCH", "/v1/admin/connections/" + id, withTruststore);
        Eventually.eventually(
            Duration.ofSeconds(30),
            () ->
                assertThat(
                        DuckDbRows.query(
                            warehouse,
                            "SELECT count(*), count(DISTINCT data->>'n') FROM clicks.events"))
                    .containsExactly("20|20"));

        // Left out it stays; a plaintext protocol must remove it explicitly.
        JsonNode kept =
            api.admin(
                "PATCH",
                "/v1/admin/connections/" + id,
                "{\"source\":{\"security\":{\"protocol\":\"SSL\"}}}");
        assertThat(kept.at("/source/security/truststore").asText()).isEqualTo(pem);
        assertThat(
                api.call(
                        "PATCH",
                        "/v1/admin/connections/" + id,
                        "{\"source\":{\"security\":{\"protocol\":\"PLAINTEXT\"}}}")
                    .statusCode())
            .isEqualTo(400);
        JsonNode removed =
            api.admin(
                "PATCH",
                "/v1/admin/connections/" + id,
                "{\"source\":{\"security\":{\"protocol\":\"SSL\",\"truststore\":null}}}");
        assertThat(removed.at("/source/security/truststore").isNull()).isTrue();
        assertThat(DuckDbRows.query(warehouse, "SELECT count(*) FROM clicks.events"))
            .containsExactly("20");
      } finally {
        node.stop(Duration.ofSeconds(30));
      }
    }
  }
}
