package weir.node.datasync;

import static org.assertj.core.api.Assertions.assertThat;
import static weir.node.Eventually.eventually;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import weir.loaders.testing.S3TestServer;
import weir.node.DuckDbRows;
import weir.node.NodeApi;
import weir.node.TestNodes;
import weir.node.WeirNode;

/**
 * Data Sync through S3 (S3Mock, an S3-compatible server in this JVM): a connection's events
 * exported into an s3 data lake, then loaded back from that bucket by a datasync connection whose
 * source is the S3 folder — each day once, the source's secret never shown.
 */
class DataSyncS3Test {
  private static final String TOKEN = "datasync-s3-token";
  private static final String SECRET = "s3-s3cret-datasync";

  @TempDir static Path dir;
  static S3TestServer s3;
  static WeirNode node;

  @BeforeAll
  static void start() throws Exception {
    s3 = S3TestServer.start(dir.resolve("s3"), "exports");
    node =
        TestNodes.inProcess(
            dir.resolve("node"),
            Map.of("weir.admin.token", TOKEN, "weir.datasync.check-interval", "200ms"));
  }

  @AfterAll
  static void stop() throws Exception {
    node.stop(Duration.ofSeconds(30));
    s3.close();
  }

  private static JsonNode admin(String method, String path, String body) throws Exception {
    return new NodeApi(node, TOKEN).admin(method, path, body);
  }

  private static String s3(String prefix) {
    return "\"bucket\":\"exports\",\"prefix\":\""
        + prefix
        + "\",\"region\":\"us-east-1\",\"endpoint\":\""
        + s3.endpoint()
        + "\",\"access_key_id\":\"weir-test\",\"secret_access_key\":\""
        + SECRET
        + "\"";
  }

  @Test
  void anExportToS3LoadsBackFromTheBucketEachDayOnce() throws Exception {
    String lake =
        admin(
                "POST",
                "/v1/admin/destinations",
                "{\"name\":\"s3 lake\",\"type\":\"s3\",\"config\":{" + s3("sync") + "}}")
            .get("id")
            .asText();
    String warehouse =
        admin(
                "POST",
                "/v1/admin/destinations",
                "{\"name\":\"wh\",\"type\":\"duckdb\",\"config\":{\"path\":\""
                    + dir.resolve("wh.duckdb")
                    + "\"}}")
            .get("id")
            .asText();
    JsonNode conn =
        admin(
            "POST",
            "/v1/admin/connections",
            "{\"name\":\"Hooks\",\"kind\":\"segment\",\"destination_id\":\""
                + warehouse
                + "\",\"batch_interval_seconds\":1}");
    String connectionId = conn.get("id").asText();
    StringBuilder batch = new StringBuilder("{\"batch\":[");
    for (int i = 0; i < 30; i++) {
      if (i > 0) batch.append(',');
      batch
          .append("{\"type\":\"track\",\"userId\":\"u\",\"messageId\":\"m")
          .append(i)
          .append("\",\"event\":\"Bought\",\"timestamp\":\"2026-11-1")
          .append(i % 3)
          .append("T08:00:00Z\"}");
    }
    assertThat(
            NodeApi.post(
                "http://127.0.0.1:" + node.ingestPort() + "/v1/batch",
                batch.append("]}").toString(),
                conn.get("write_key").asText()))
        .isEqualTo(200);
    eventually(
        Duration.ofSeconds(60),
        () -> {
          admin("POST", "/v1/admin/connections/" + connectionId + "/sync", null);
          assertThat(
                  DuckDbRows.query(dir.resolve("wh.duckdb"), "SELECT count(*) FROM hooks.tracks"))
              .containsExactly("30");
        });
    String exportId =
        admin(
                "POST",
                "/v1/admin/exports",
                "{\"connection_id\":\""
                    + connectionId
                    + "\",\"destination_id\":\""
                    + lake
                    + "\",\"type\":\"one_time\",\"from\":\"2026-11-10\",\"to\":\"2026-11-12\"}")
            .get("id")
            .asText();
    eventually(
        Duration.ofSeconds(60),
        () ->
            assertThat(admin("GET", "/v1/admin/exports/" + exportId, null).get("status").asText())
                .isEqualTo("complete"));
    JsonNode done = admin("GET", "/v1/admin/exports/" + exportId, null);
    assertThat(done.get("root_url").asText())
        .startsWith("s3://exports/sync/datasync/weir/" + connectionId + "/");

    JsonNode sync =
        admin(
            "POST",
            "/v1/admin/connections",
            "{\"name\":\"Hooks back\",\"kind\":\"datasync\",\"destination_id\":\""
                + warehouse
                + "\",\"source\":{\"type\":\"s3\","
                + s3("sync/datasync/weir/" + connectionId)
                + "}}");
    assertThat(sync.toString()).doesNotContain(SECRET).contains("********");
    String syncId = sync.get("id").asText();
    eventually(
        Duration.ofSeconds(60),
        () ->
            assertThat(
                    admin("GET", "/v1/admin/connections/" + syncId + "/status", null)
                        .at("/datasync/watermark")
                        .asLong())
                .isEqualTo(1));
    assertThat(
            DuckDbRows.query(
                dir.resolve("wh.duckdb"),
                "SELECT strftime(timezone('UTC', period_id), '%Y-%m-%d'), count(*),"
                    + " count(DISTINCT event_id) FROM hooks_back.allevents GROUP BY 1 ORDER BY 1"))
        .containsExactly("2026-11-10|10|10", "2026-11-11|10|10", "2026-11-12|10|10");
    assertThat(
            DuckDbRows.query(
                dir.resolve("wh.duckdb"), "SELECT name, event_count FROM hooks_back.alltracktypes"))
        .containsExactly("Bought|30");
    assertThat(admin("GET", "/v1/admin/connections/" + syncId, null).toString())
        .doesNotContain(SECRET);
  }
}
