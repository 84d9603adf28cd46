package weir.node.stream;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import weir.node.DuckDbRows;
import weir.node.Eventually;
import weir.node.NodeApi;
import weir.node.TestNodes;
import weir.node.WeirNode;

/**
 * A Kafka connection to a broker that wants SASL/PLAIN: wrong credentials show in the status (and
 * nothing is consumed), a PATCH with the right ones applies without a restart, and the password is
 * never shown nor kept in the clear.
 */
class KafkaSaslTest {
  private static final String TOKEN = "kafka-sasl-token";
  private static final String PASSWORD = "s3cret-kafka-pw-99";

  @Test
  void wrongCredentialsShowInTheStatusAndAPatchWithTheRightOnesStartsConsumption(@TempDir Path dir)
      throws Exception {
    try (KafkaBroker broker = KafkaBroker.start(dir.resolve("kafka"), Map.of("weir", PASSWORD))) {
      broker.createTopic("clicks", 1);
      List<String> values = new ArrayList<>();
      for (int i = 0; i < 20; i++) values.add("{\"n\":" + i + "}");
      broker.send("clicks", null, values);
      Path warehouse = dir.resolve("wh.duckdb");
      WeirNode node = TestNodes.inProcess(dir.resolve("node"), Map.of("weir.admin.token", TOKEN));
      try {
        NodeApi api = new NodeApi(node, TOKEN);
        String destination = api.duckdbDestination(warehouse);
        String source =
            "{\"bootstrap_servers\":\""
                + broker.bootstrap()
                + "\",\"topics\":[\"clicks\"],\"security\":{\"protocol\":\"SASL_PLAINTEXT\","
                + "\"sasl_mechanism\":\"PLAIN\",\"username\":\"weir\",\"password\":\"%s\"}}";
        JsonNode created =
            api.admin(
                "POST",
                "/v1/admin/connections",
                "{\"name\":\"Clicks\",\"kind\":\"kafka\",\"destination_id\":\""
                    + destination
                    + "\",\"batch_interval_seconds\":1,\"sync_interval_minutes\":0.05,"
                    + "\"source\":"
                    + String.format(source, "wrong-password")
                    + "}");
        String id = created.get("id").asText();
        assertThat(created.at("/source/security/password").asText()).isEqualTo("********");
        Eventually.eventually(
            Duration.ofSeconds(60),
            () ->
                assertThat(
                        api.admin("GET", "/v1/admin/connections/" + id + "/status", null)
                            .at("/source/last_error")
                            .asText())
                    .containsIgnoringCase("authentication"));

        api.admin(
            "PATCH",
            "/v1/admin/connections/" + id,
            "{\"source\":" + String.format(source, PASSWORD) + "}");
        Eventually.eventually(
            Duration.ofSeconds(60),
            () ->
                assertThat(DuckDbRows.query(warehouse, "SELECT count(*) FROM clicks.events"))
                    .containsExactly("20"));
        JsonNode view = api.admin("GET", "/v1/admin/connections/" + id, null);
        assertThat(view.toString()).doesNotContain(PASSWORD).doesNotContain("wrong-password");
      } finally {
        node.stop(Duration.ofSeconds(30));
      }
      try (Stream<Path> files = Files.walk(dir.resolve("node"))) {
        for (Path f : files.filter(Files::isRegularFile).toList())
          assertThat(Files.readString(f, java.nio.charset.StandardCharsets.ISO_8859_1))
              .as(f.toString())
              .doesNotContain(PASSWORD);
      }
    }
  }
}
