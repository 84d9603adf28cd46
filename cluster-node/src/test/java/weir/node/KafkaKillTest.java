package weir.node;

import static org.assertj.core.api.Assertions.assertThat;
import static weir.node.Eventually.eventually;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import weir.node.stream.KafkaBroker;

/**
 * A node process killed (SIGKILL) in the middle of consuming a Kafka topic: after the restart it
 * continues from the group's last commit, without new records, and the warehouse holds every record
 * once (what was journaled but not committed is delivered again and loads nothing twice).
 */
class KafkaKillTest {
  private static final String TOKEN = "kill-kafka-token";
  private static final int RECORDS = 20_000;

  @Test
  void aNodeKilledMidTopicContinuesFromTheLastCommitAndLoadsEachRecordOnce(@TempDir Path tmp)
      throws Exception {
    Path warehouse = tmp.resolve("wh.duckdb");
    Map<String, String> env = Map.of("WEIR_ADMIN_TOKEN", TOKEN);
    try (KafkaBroker broker = KafkaBroker.start(tmp.resolve("kafka"))) {
      broker.createTopic("events", 4);
      List<String> keys = new ArrayList<>();
      List<String> values = new ArrayList<>();
      for (int i = 0; i < RECORDS; i++) {
        keys.add("k" + (i % 13));
        values.add("{\"n\":" + i + ",\"pad\":\"" + "x".repeat(200) + "\"}");
      }
      broker.send("events", keys, values);
      String id;
      try (NodeProcess node =
          NodeProcess.start(tmp.resolve("data"), tmp.resolve("node-1.log"), env)) {
        String destination =
            node.admin(
                    TOKEN,
                    "POST",
                    "/v1/admin/destinations",
                    "{\"name\":\"wh\",\"type\":\"duckdb\",\"config\":{\"path\":\""
                        + warehouse
                        + "\"}}")
                .get("id")
                .asText();
        id =
            node.admin(
                    TOKEN,
                    "POST",
                    "/v1/admin/connections",
                    "{\"name\":\"Stream\",\"kind\":\"kafka\",\"destination_id\":\""
                        + destination
                        + "\",\"batch_interval_seconds\":1,\"sync_interval_minutes\":0.05,"
                        + "\"source\":{\"bootstrap_servers\":\""
                        + broker.bootstrap()
                        + "\",\"topics\":[\"events\"]}}")
                .get("id")
                .asText();
        // Killed once part of the topic is in the journal, well before all of it.
        long[] accepted = new long[1];
        eventually(
            Duration.ofSeconds(60),
            () -> {
              accepted[0] =
                  node.admin(TOKEN, "GET", "/v1/admin/connections/" + id + "/status", null)
                      .get("accepted_total")
                      .asLong();
              assertThat(accepted[0]).isGreaterThan(1000);
            });
        node.kill();
        assertThat(accepted[0]).as("killed mid-topic").isLessThan(RECORDS);
      }
      try (NodeProcess node =
          NodeProcess.start(tmp.resolve("data"), tmp.resolve("node-2.log"), env)) {
        eventually(
            Duration.ofSeconds(120),
            () -> {
              assertThat(
                      DuckDbRows.query(
                          warehouse,
                          "SELECT count(*), count(DISTINCT data->>'n') FROM stream.events"))
                  .containsExactly(RECORDS + "|" + RECORDS);
              assertThat(
                      node.admin(TOKEN, "GET", "/v1/admin/connections/" + id + "/status", null)
                          .at("/source/lag")
                          .asLong())
                  .isZero();
            });
      }
    }
  }
}
