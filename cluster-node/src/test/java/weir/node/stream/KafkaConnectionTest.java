package weir.node.stream;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import weir.node.DuckDbRows;
import weir.node.Eventually;
import weir.node.NodeApi;
import weir.node.TestNodes;
import weir.node.WeirNode;

/**
 * A Kafka connection on a node against a real broker: the records of a 3-partition topic reach the
 * warehouse once each; records that are not events are dead letters naming their position, and
 * their partitions go on; the status shows the group's position and lag; records delivered again
 * (the group's offsets moved back, as after a crash before a commit) load nothing twice.
 */
class KafkaConnectionTest {
  private static final String TOKEN = "kafka-token";

  @Test
  void recordsLoadOnceDeadLettersDoNotBlockAndRedeliveryLoadsNothingTwice(@TempDir Path dir)
      throws Exception {
    try (KafkaBroker broker = KafkaBroker.start(dir.resolve("kafka"))) {
      broker.createTopic("orders", 3);
      List<String> keys = new ArrayList<>();
      List<String> values = new ArrayList<>();
      for (int i = 0; i < 300; i++) {
        keys.add("k" + (i % 7));
        values.add("{\"n\":" + i + ",\"item\":\"thing " + i + "\"}");
      }
      keys.add("k1");
      values.add("not json {");
      keys.add("k2");
      values.add("[1,2]");
      broker.send("orders", keys, values);

      Path warehouse = dir.resolve("wh.duckdb");
      String id;
      WeirNode node = TestNodes.inProcess(dir.resolve("node"), Map.of("weir.admin.token", TOKEN));
      try {
        NodeApi api = new NodeApi(node, TOKEN);
        String destination = api.duckdbDestination(warehouse);
        JsonNode created =
            api.admin(
                "POST",
                "/v1/admin/connections",
                "{\"name\":\"Orders stream\",\"kind\":\"kafka\",\"destination_id\":\""
                    + destination
                    + "\",\"table\":\"orders\",\"batch_interval_seconds\":1,"
                    + "\"sync_interval_minutes\":0.05,\"source\":{\"bootstrap_servers\":\""
                    + broker.bootstrap()
                    + "\",\"topics\":[\"orders\"],\"start\":\"earliest\",\"format\":\"json\"}}");
        id = created.get("id").asText();
        assertThat(created.at("/source/group_id").asText()).isEqualTo("weir-" + id);
        Eventually.eventually(
            Duration.ofSeconds(60),
            () ->
                assertThat(
                        DuckDbRows.query(
                            warehouse,
                            "SELECT count(*), count(DISTINCT data->>'n'), min(CAST(data->>'n' AS INT)),"
                                + " max(CAST(data->>'n' AS INT)) FROM orders_stream.orders"))
                    .containsExactly("300|300|0|299"));
        Eventually.eventually(
            Duration.ofSeconds(30),
            () -> {
              JsonNode dead =
                  api.admin("GET", "/v1/admin/connections/" + id + "/dead-letters?limit=10", null);
              assertThat(dead.get("dead_letters")).hasSize(2);
              assertThat(dead.toString()).contains("orders-").contains("not json");
            });
        Eventually.eventually(
            Duration.ofSeconds(30),
            () -> {
              JsonNode status = api.admin("GET", "/v1/admin/connections/" + id + "/status", null);
              assertThat(status.at("/source/partitions")).hasSize(3);
              assertThat(status.at("/source/lag").asLong()).isZero();
              assertThat(status.at("/source/consuming_here").asBoolean()).isTrue();
            });
        String connectionId = id;
        Eventually.eventually(
            Duration.ofSeconds(30),
            () -> {
              String metrics =
                  java.net.http.HttpClient.newHttpClient()
                      .send(
                          java.net.http.HttpRequest.newBuilder(
                                  java.net.URI.create(
                                      "http://127.0.0.1:" + node.adminPort() + "/metrics"))
                              .header("Authorization", "Bearer " + TOKEN)
                              .build(),
                          java.net.http.HttpResponse.BodyHandlers.ofString())
                      .body();
              assertThat(metrics)
                  .containsPattern(
                      "weir_source_lag\\{[^}]*connection=\"" + connectionId + "\"[^}]*\\} 0");
            });
      } finally {
        node.stop(Duration.ofSeconds(30));
      }

      // As after a crash before the commit: the group's offsets move back to the start.
      try (Admin admin =
          Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrap()))) {
        Map<TopicPartition, OffsetAndMetadata> start = new java.util.HashMap<>();
        for (int p = 0; p < 3; p++)
          start.put(new TopicPartition("orders", p), new OffsetAndMetadata(0));
        admin.alterConsumerGroupOffsets("weir-" + id, start).all().get(30, TimeUnit.SECONDS);
      }
      broker.send("orders", List.of("k3"), List.of("{\"n\":300,\"item\":\"late\"}"));
      WeirNode again = TestNodes.inProcess(dir.resolve("node"), Map.of("weir.admin.token", TOKEN));
      try {
        NodeApi api = new NodeApi(again, TOKEN);
        Eventually.eventually(
            Duration.ofSeconds(120),
            () -> {
              assertThat(
                      DuckDbRows.query(
                          warehouse,
                          "SELECT count(*), count(DISTINCT data->>'n') FROM orders_stream.orders"))
                  .containsExactly("301|301");
              assertThat(
                      api.admin("GET", "/v1/admin/connections/" + id + "/status", null)
                          .at("/source/lag")
                          .asLong())
                  .isZero();
            });
      } finally {
        again.stop(Duration.ofSeconds(30));
      }
    }
  }

  @Test
  void segmentAndSnowplowRecordsLoadIntoTheNormalizedTables(@TempDir Path dir) throws Exception {
    try (KafkaBroker broker = KafkaBroker.start(dir.resolve("kafka"))) {
      broker.createTopic("segment", 1);
      broker.createTopic("tracker", 1);
      broker.send(
          "segment",
          null,
          List.of(
              "{\"type\":\"track\",\"event\":\"Order Completed\",\"userId\":\"u1\","
                  + "\"messageId\":\"m-1\",\"properties\":{\"total\":12.5}}",
              "{\"type\":\"identify\",\"userId\":\"u1\",\"messageId\":\"m-2\","
                  + "\"traits\":{\"plan\":\"pro\"}}",
              "{\"type\":\"nonsense\"}",
              // No messageId: its id is its position, the same when it is delivered again.
              "{\"type\":\"track\",\"event\":\"No Id\",\"userId\":\"u2\"}"));
      broker.send(
          "tracker",
          null,
          List.of(
              "{\"schema\":\"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4\","
                  + "\"data\":[{\"e\":\"pv\",\"aid\":\"site\",\"eid\":\"pv-1\",\"page\":\"Home\"},"
                  + "{\"e\":\"se\",\"aid\":\"site\",\"eid\":\"se-1\",\"se_ca\":\"shop\","
                  + "\"se_ac\":\"add\"}]}",
              "{\"e\":\"pv\",\"aid\":\"site\",\"eid\":\"pv-2\",\"page\":\"Cart\"}",
              "{\"e\":\"se\",\"eid\":\"se-bad\"}",
              "{\"e\":\"pv\",\"aid\":\"site\",\"page\":\"No id\"}"));
      Path warehouse = dir.resolve("wh.duckdb");
      WeirNode node = TestNodes.inProcess(dir.resolve("node"), Map.of("weir.admin.token", TOKEN));
      try {
        NodeApi api = new NodeApi(node, TOKEN);
        String destination = api.duckdbDestination(warehouse);
        List<String> ids = new ArrayList<>();
        for (String[] c : new String[][] {{"Seg", "segment"}, {"Plow", "tracker"}}) {
          ids.add(
              api.admin(
                      "POST",
                      "/v1/admin/connections",
                      "{\"name\":\""
                          + c[0]
                          + "\",\"kind\":\"kafka\",\"destination_id\":\""
                          + destination
                          + "\",\"batch_interval_seconds\":1,\"sync_interval_minutes\":0.05,"
                          + "\"source\":{\"bootstrap_servers\":\""
                          + broker.bootstrap()
                          + "\",\"topics\":[\""
                          + c[1]
                          + "\"],\"format\":\""
                          + (c[1].equals("tracker") ? "snowplow" : "segment")
                          + "\"}}")
                  .get("id")
                  .asText());
        }
        Eventually.eventually(
            Duration.ofSeconds(60),
            () -> {
              assertThat(DuckDbRows.query(warehouse, "SELECT event_id FROM seg.tracks ORDER BY 1"))
                  .containsExactly("m-1", "segment-0-3-0");
              assertThat(DuckDbRows.query(warehouse, "SELECT user_id FROM seg.users"))
                  .containsExactly("u1");
              assertThat(DuckDbRows.query(warehouse, "SELECT event_id FROM plow.pages ORDER BY 1"))
                  .containsExactly("pv-1", "pv-2", "tracker-0-3-0");
              assertThat(DuckDbRows.query(warehouse, "SELECT event_id FROM plow.tracks"))
                  .containsExactly("se-1");
            });
        for (String id : ids)
          Eventually.eventually(
              Duration.ofSeconds(30),
              () ->
                  assertThat(
                          api.admin("GET", "/v1/admin/connections/" + id + "/dead-letters", null)
                              .get("dead_letters"))
                      .hasSize(1));
      } finally {
        node.stop(Duration.ofSeconds(30));
      }
    }
  }

  /**
   * A {@code latest} connection takes what was put after it started, and nothing before; a node
   * down before any record came (so before any commit) takes, when it is back, what was put
   * meanwhile: the start is fixed once, as committed offsets.
   */
  @Test
  void aLatestStartIsFixedOnceSoARestartBeforeTheFirstCommitSkipsNothing(@TempDir Path dir)
      throws Exception {
    try (KafkaBroker broker = KafkaBroker.start(dir.resolve("kafka"))) {
      broker.createTopic("late", 3);
      broker.send(
          "late", List.of("a", "b", "c"), List.of("{\"n\":-1}", "{\"n\":-2}", "{\"n\":-3}"));
      Path warehouse = dir.resolve("wh.duckdb");
      String id;
      WeirNode node = TestNodes.inProcess(dir.resolve("node"), Map.of("weir.admin.token", TOKEN));
      try {
        NodeApi api = new NodeApi(node, TOKEN);
        String destination = api.duckdbDestination(warehouse);
        id =
            api.admin(
                    "POST",
                    "/v1/admin/connections",
                    "{\"name\":\"Late\",\"kind\":\"kafka\",\"destination_id\":\""
                        + destination
                        + "\",\"batch_interval_seconds\":1,\"sync_interval_minutes\":0.05,"
                        + "\"source\":{\"bootstrap_servers\":\""
                        + broker.bootstrap()
                        + "\",\"topics\":[\"late\"],\"start\":\"latest\"}}")
                .get("id")
                .asText();
        String connectionId = id;
        Eventually.eventually(
            Duration.ofSeconds(30),
            () -> {
              JsonNode partitions =
                  api.admin("GET", "/v1/admin/connections/" + connectionId + "/status", null)
                      .at("/source/partitions");
              assertThat(partitions).hasSize(3);
              for (JsonNode p : partitions)
                assertThat(p.get("committed_offset").isNull()).as(p.toString()).isFalse();
            });
      } finally {
        node.stop(Duration.ofSeconds(30));
      }
      List<String> values = new ArrayList<>();
      List<String> keys = new ArrayList<>();
      for (int i = 0; i < 30; i++) {
        keys.add("k" + i);
        values.add("{\"n\":" + i + "}");
      }
      broker.send("late", keys, values);
      WeirNode again = TestNodes.inProcess(dir.resolve("node"), Map.of("weir.admin.token", TOKEN));
      try {
        Eventually.eventually(
            Duration.ofSeconds(60),
            () ->
                assertThat(
                        DuckDbRows.query(
                            warehouse,
                            "SELECT count(*), min(CAST(data->>'n' AS INT)) FROM late.events"))
                    .containsExactly("30|0"));
      } finally {
        again.stop(Duration.ofSeconds(30));
      }
    }
  }

  /**
   * A node stopped (SIGTERM-like, gracefully) in the middle of a topic drains its consumer: the
   * groups being written finish and their offsets are committed, so after the restart nothing is
   * taken twice (the journal accepted each record once).
   */
  @Test
  void aGracefulStopMidTopicCommitsWhatItWroteSoTheRestartTakesNothingAgain(@TempDir Path dir)
      throws Exception {
    int records = 30_000;
    try (KafkaBroker broker = KafkaBroker.start(dir.resolve("kafka"))) {
      broker.createTopic("drain", 3);
      List<String> keys = new ArrayList<>();
      List<String> values = new ArrayList<>();
      for (int i = 0; i < records; i++) {
        keys.add("k" + (i % 11));
        values.add("{\"n\":" + i + ",\"pad\":\"" + "x".repeat(100) + "\"}");
      }
      broker.send("drain", keys, values);
      Path warehouse = dir.resolve("wh.duckdb");
      String id;
      WeirNode node = TestNodes.inProcess(dir.resolve("node"), Map.of("weir.admin.token", TOKEN));
      try {
        NodeApi api = new NodeApi(node, TOKEN);
        String destination = api.duckdbDestination(warehouse);
        id =
            api.admin(
                    "POST",
                    "/v1/admin/connections",
                    "{\"name\":\"Drain\",\"kind\":\"kafka\",\"destination_id\":\""
                        + destination
                        + "\",\"batch_interval_seconds\":1,\"sync_interval_minutes\":0.05,"
                        + "\"source\":{\"bootstrap_servers\":\""
                        + broker.bootstrap()
                        + "\",\"topics\":[\"drain\"]}}")
                .get("id")
                .asText();
        String connectionId = id;
        long[] accepted = new long[1];
        Eventually.eventually(
            Duration.ofSeconds(60),
            () -> {
              accepted[0] =
                  api.admin("GET", "/v1/admin/connections/" + connectionId + "/status", null)
                      .get("accepted_total")
                      .asLong();
              assertThat(accepted[0]).isGreaterThan(2_000);
            });
        assertThat(accepted[0]).as("stopped mid-topic").isLessThan(records);
      } finally {
        node.stop(Duration.ofSeconds(60));
      }
      WeirNode again = TestNodes.inProcess(dir.resolve("node"), Map.of("weir.admin.token", TOKEN));
      try {
        NodeApi api = new NodeApi(again, TOKEN);
        Eventually.eventually(
            Duration.ofSeconds(120),
            () ->
                assertThat(
                        DuckDbRows.query(
                            warehouse,
                            "SELECT count(*), count(DISTINCT data->>'n') FROM drain.events"))
                    .containsExactly(records + "|" + records));
        assertThat(
                api.admin("GET", "/v1/admin/connections/" + id + "/status", null)
                    .get("accepted_total")
                    .asLong())
            .as("records the journal accepted, in all")
            .isEqualTo(records);
      } finally {
        again.stop(Duration.ofSeconds(30));
      }
    }
  }
}
