package weir.node.stream;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
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

/**
 * A Kinesis connection on a node against kinesalite (the Kinesis API, in memory, spoken to by the
 * AWS SDK): a stream whose shard was split loads every record once, the parent shard's records all
 * before its children's; a record that is not an event is a dead letter naming its shard and
 * sequence number; a restarted node resumes from its checkpoints (reading nothing twice); a PATCH
 * of the stream applies without restart; a DELETE stops reading. A {@code latest} start takes only
 * what was put after it; Segment records get the format's ids, and the user records of a
 * KPL-aggregated record ids of their own.
 */
class KinesisConnectionTest {
  private static final String TOKEN = "kinesis-token";

  private static List<String> values(int from, int to) {
    List<String> out = new ArrayList<>();
    for (int i = from; i < to; i++) out.add("{\"n\":" + i + ",\"item\":\"thing " + i + "\"}");
    return out;
  }

  private static String source(Kinesalite k, String stream, String start, String format) {
    return "{\"stream\":\""
        + stream
        + "\",\"region\":\"us-east-1\",\"endpoint\":\""
        + k.endpoint()
        + "\",\"access_key_id\":\""
        + Kinesalite.ACCESS_KEY
        + "\",\"secret_access_key\":\""
        + Kinesalite.SECRET_KEY
        + "\",\"start\":\""
        + start
        + "\",\"format\":\""
        + format
        + "\"}";
  }

  private static long recordsRead(JsonNode status) {
    long n = 0;
    for (JsonNode s : status.at("/source/shards")) n += s.path("records_total").asLong();
    return n;
  }

  @Test
  void aSplitStreamLoadsOnceParentsFirstAndRestartsResumeFromTheCheckpoints(@TempDir Path dir)
      throws Exception {
    try (Kinesalite kinesis = Kinesalite.start(dir.resolve("kinesalite.log"))) {
      kinesis.createStream("clicks", 2);
      List<String> first = new ArrayList<>(values(0, 200));
      first.add("not json {");
      kinesis.put("clicks", null, first);
      kinesis.split("clicks", "shardId-000000000000");
      assertThat(kinesis.shards("clicks")).hasSize(4);
      kinesis.put("clicks", null, values(200, 400));

      Path warehouse = dir.resolve("wh.duckdb");
      String id;
      WeirNode node = TestNodes.inProcess(dir.resolve("node"), Map.of("weir.admin.token", TOKEN));
      try {
        NodeApi api = new NodeApi(node, TOKEN);
        JsonNode created =
            api.admin(
                "POST",
                "/v1/admin/connections",
                "{\"name\":\"Clicks\",\"kind\":\"kinesis\",\"destination_id\":\""
                    + api.duckdbDestination(warehouse)
                    + "\",\"table\":\"clicks\",\"batch_interval_seconds\":1,"
                    + "\"sync_interval_minutes\":0.05,\"source\":"
                    + source(kinesis, "clicks", "trim_horizon", "json")
                    + "}");
        id = created.get("id").asText();
        assertThat(created.at("/source/secret_access_key").asText()).isEqualTo("********");
        assertThat(created.toString()).doesNotContain(Kinesalite.SECRET_KEY);
        Eventually.eventually(
            Duration.ofSeconds(90),
            () ->
                assertThat(
                        DuckDbRows.query(
                            warehouse,
                            "SELECT count(*), count(DISTINCT data->>'n'),"
                                + " min(CAST(data->>'n' AS INT)), max(CAST(data->>'n' AS INT))"
                                + " FROM clicks.clicks"))
                    .containsExactly("400|400|0|399"));
        // The split parent was read to its end before either child was read at all.
        assertThat(
                DuckDbRows.query(
                    warehouse,
                    "SELECT (SELECT max(received_at) FROM clicks.clicks WHERE event_id LIKE"
                        + " 'shardId-000000000000-%') <= (SELECT min(received_at) FROM"
                        + " clicks.clicks WHERE event_id LIKE 'shardId-000000000002-%' OR"
                        + " event_id LIKE 'shardId-000000000003-%'),"
                        + " (SELECT count(*) FROM clicks.clicks WHERE event_id LIKE"
                        + " 'shardId-000000000002-%' OR event_id LIKE 'shardId-000000000003-%')"
                        + " > 0"))
            .containsExactly("true|true");
        Eventually.eventually(
            Duration.ofSeconds(30),
            () -> {
              JsonNode dead =
                  api.admin("GET", "/v1/admin/connections/" + id + "/dead-letters?limit=10", null);
              assertThat(dead.get("dead_letters")).hasSize(1);
              assertThat(dead.toString())
                  .containsPattern("shardId-00000000000[01]-\\d+: ")
                  .contains("not json");
            });
        Eventually.eventually(
            Duration.ofSeconds(30),
            () -> {
              JsonNode status = api.admin("GET", "/v1/admin/connections/" + id + "/status", null);
              JsonNode shards = status.at("/source/shards");
              assertThat(shards).hasSize(4);
              for (JsonNode s : shards) {
                boolean parent = s.get("shard").asText().equals("shardId-000000000000");
                assertThat(s.get("ended").asBoolean()).as(s.toString()).isEqualTo(parent);
                assertThat(s.get("closed").asBoolean()).as(s.toString()).isEqualTo(parent);
                assertThat(s.get("checkpoint").isNull()).as(s.toString()).isFalse();
                assertThat(s.get("last_error").isNull()).as(s.toString()).isTrue();
              }
              assertThat(status.at("/source/millis_behind_latest").asLong()).isZero();
              assertThat(recordsRead(status)).isEqualTo(401);
            });
        String connectionId = id;
        Eventually.eventually(
            Duration.ofSeconds(30),
            () ->
                assertThat(api.metrics())
                    .containsPattern(
                        "weir_source_lag_seconds\\{[^}]*connection=\""
                            + connectionId
                            + "\"[^}]*\\} 0"));
      } finally {
        node.stop(Duration.ofSeconds(30));
      }

      kinesis.put("clicks", null, values(400, 410));
      kinesis.createStream("views", 1);
      kinesis.put("views", null, values(1000, 1005));
      WeirNode again = TestNodes.inProcess(dir.resolve("node"), Map.of("weir.admin.token", TOKEN));
      try {
        NodeApi api = new NodeApi(again, TOKEN);
        Eventually.eventually(
            Duration.ofSeconds(60),
            () -> {
              assertThat(
                      DuckDbRows.query(
                          warehouse,
                          "SELECT count(*), count(DISTINCT data->>'n') FROM clicks.clicks"))
                  .containsExactly("410|410");
              // Resumed after the checkpoints: every record was read once in all.
              assertThat(
                      recordsRead(
                          api.admin("GET", "/v1/admin/connections/" + id + "/status", null)))
                  .isEqualTo(411);
            });
        // A PATCH of the stream applies without a restart.
        JsonNode patched =
            api.admin(
                "PATCH",
                "/v1/admin/connections/" + id,
                "{\"source\":{\"stream\":\"views\",\"secret_access_key\":\"********\"}}");
        assertThat(patched.at("/source/stream").asText()).isEqualTo("views");
        Eventually.eventually(
            Duration.ofSeconds(60),
            () ->
                assertThat(DuckDbRows.query(warehouse, "SELECT count(*) FROM clicks.clicks"))
                    .containsExactly("415"));
        // A DELETE stops reading; what was taken stays loaded.
        api.admin("DELETE", "/v1/admin/connections/" + id, null);
        kinesis.put("views", null, values(2000, 2010));
        Thread.sleep(5_000);
        assertThat(DuckDbRows.query(warehouse, "SELECT count(*) FROM clicks.clicks"))
            .containsExactly("415");
        assertThat(Files.readString(dir.resolve("kinesalite.log"))).isNotNull();
      } finally {
        again.stop(Duration.ofSeconds(30));
      }
    }
  }

  @Test
  void aLatestStartTakesWhatCameAfterItAndSegmentRecordsKeepTheirIds(@TempDir Path dir)
      throws Exception {
    try (Kinesalite kinesis = Kinesalite.start(dir.resolve("kinesalite.log"))) {
      kinesis.createStream("segment", 1);
      kinesis.put(
          "segment",
          null,
          List.of(
              "{\"type\":\"track\",\"event\":\"Before\",\"userId\":\"u0\",\"messageId\":\"m-0\"}"));
      Path warehouse = dir.resolve("wh.duckdb");
      WeirNode node = TestNodes.inProcess(dir.resolve("node"), Map.of("weir.admin.token", TOKEN));
      try {
        NodeApi api = new NodeApi(node, TOKEN);
        String id =
            api.admin(
                    "POST",
                    "/v1/admin/connections",
                    "{\"name\":\"Seg\",\"kind\":\"kinesis\",\"destination_id\":\""
                        + api.duckdbDestination(warehouse)
                        + "\",\"batch_interval_seconds\":1,\"sync_interval_minutes\":0.05,"
                        + "\"source\":"
                        + source(kinesis, "segment", "latest", "segment")
                        + "}")
                .get("id")
                .asText();
        Eventually.eventually(
            Duration.ofSeconds(30),
            () ->
                assertThat(
                        api.admin("GET", "/v1/admin/connections/" + id + "/status", null)
                            .at("/source/shards/0/reading")
                            .asBoolean())
                    .isTrue());
        kinesis.put(
            "segment",
            null,
            List.of(
                "{\"type\":\"track\",\"event\":\"Order Completed\",\"userId\":\"u1\","
                    + "\"messageId\":\"m-1\",\"properties\":{\"total\":12.5}}",
                "{\"type\":\"track\",\"event\":\"No Id\",\"userId\":\"u2\"}",
                "{\"type\":\"nonsense\"}"));
        // A KPL-aggregated record: each of its user records is a record, at <shard>-<seq>-<n>.
        kinesis.putBytes(
            "segment",
            null,
            List.of(
                KinesisAggregationTest.aggregated(
                    List.of(
                        ("{\"type\":\"track\",\"event\":\"Aggregated A\",\"userId\":\"u3\","
                                + "\"messageId\":\"m-agg\"}")
                            .getBytes(StandardCharsets.UTF_8),
                        "{\"type\":\"track\",\"event\":\"Aggregated B\",\"userId\":\"u4\"}"
                            .getBytes(StandardCharsets.UTF_8)))));
        Eventually.eventually(
            Duration.ofSeconds(60),
            () -> {
              List<String> ids =
                  DuckDbRows.query(warehouse, "SELECT event_id FROM seg.tracks ORDER BY event");
              assertThat(ids).hasSize(4);
              assertThat(ids.get(0)).isEqualTo("m-agg");
              assertThat(ids.get(1)).matches("shardId-000000000000-\\d+-1-0");
              assertThat(ids.get(2)).matches("shardId-000000000000-\\d+-0");
              assertThat(ids.get(3)).isEqualTo("m-1");
            });
        Eventually.eventually(
            Duration.ofSeconds(30),
            () ->
                assertThat(
                        api.admin("GET", "/v1/admin/connections/" + id + "/dead-letters", null)
                            .get("dead_letters"))
                    .hasSize(1));
        // Invalid settings are refused with the field named.
        java.net.http.HttpResponse<String> refused =
            api.call(
                "PATCH", "/v1/admin/connections/" + id, "{\"source\":{\"start\":\"sometime\"}}");
        assertThat(refused.statusCode()).isEqualTo(400);
        assertThat(refused.body()).contains("invalid_field").contains("source.start");
        refused =
            api.call("PATCH", "/v1/admin/connections/" + id, "{\"source\":{\"format\":\"json\"}}");
        assertThat(refused.statusCode()).isEqualTo(400);
        assertThat(refused.body()).contains("immutable_field");
      } finally {
        node.stop(Duration.ofSeconds(30));
      }
    }
  }
}
