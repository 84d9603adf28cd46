package weir.node.load;

import static org.assertj.core.api.Assertions.assertThat;
import static weir.node.Eventually.eventually;

import com.fasterxml.jackson.databind.JsonNode;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import weir.node.NodeApi;
import weir.node.TestNodes;
import weir.node.WeirNode;

/**
 * A {@code postgres} destination created through the management API, on a real PostgreSQL: webhook
 * and Segment connections load into it, exactly once, with the password encrypted in the registry.
 */
class PostgresDestinationTest {
  private static EmbeddedPostgres pg;
  private static WeirNode node;
  private static final String TOKEN = "pg-test-token";

  @BeforeAll
  static void start() throws Exception {
    pg = EmbeddedPostgres.builder().start();
    try (Connection c = pg.getPostgresDatabase().getConnection()) {
      c.createStatement().execute("CREATE ROLE weir LOGIN PASSWORD 'w3ir-secret'");
      c.createStatement().execute("CREATE DATABASE analytics OWNER weir");
    }
    Path dataDir = Files.createTempDirectory("weir-pg-dest");
    node = TestNodes.inProcess(dataDir, Map.of("weir.admin.token", TOKEN));
  }

  @AfterAll
  static void stop() throws Exception {
    node.stop(Duration.ofSeconds(30));
    pg.close();
  }

  private static JsonNode admin(String method, String path, String body) throws Exception {
    return new NodeApi(node, TOKEN).admin(method, path, body);
  }

  private static int post(String url, String body, String basicUser) throws Exception {
    return NodeApi.post(url, body, basicUser);
  }

  @Test
  void webhookAndSegmentConnectionsLoadIntoPostgresExactlyOnce() throws Exception {
    JsonNode dest =
        admin(
            "POST",
            "/v1/admin/destinations",
            "{\"name\":\"pg\",\"type\":\"postgres\",\"config\":{"
                + "\"url\":\"jdbc:postgresql://127.0.0.1:"
                + pg.getPort()
                + "/analytics\",\"user\":\"weir\","
                + "\"password\":\"w3ir-secret\",\"schema_prefix\":\"weir_\"}}");
    String destId = dest.get("id").asText();
    JsonNode hook =
        admin(
            "POST",
            "/v1/admin/connections",
            "{\"name\":\"Orders\",\"kind\":\"webhook\","
                + "\"destination_id\":\""
                + destId
                + "\",\"batch_interval_seconds\":1}");
    JsonNode seg =
        admin(
            "POST",
            "/v1/admin/connections",
            "{\"name\":\"App\",\"kind\":\"segment\","
                + "\"destination_id\":\""
                + destId
                + "\",\"batch_interval_seconds\":1}");
    JsonNode plow =
        admin(
            "POST",
            "/v1/admin/connections",
            "{\"name\":\"Site\",\"kind\":\"snowplow\","
                + "\"destination_id\":\""
                + destId
                + "\",\"app_id\":\"pg-site\",\"batch_interval_seconds\":1}");
    String tp2 =
        "{\"schema\":\"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4\",\"data\":["
            + "{\"e\":\"pv\",\"aid\":\"pg-site\",\"eid\":\"pv-1\",\"url\":\"https://shop.example/\",\"page\":\"Home\","
            + "\"duid\":\"d1\",\"dtm\":\"1795255200000\",\"stm\":\"1795255200100\"},"
            + "{\"e\":\"se\",\"aid\":\"pg-site\",\"eid\":\"se-1\",\"se_ca\":\"cart\",\"se_ac\":\"Add To Cart\","
            + "\"se_va\":\"2\",\"duid\":\"d1\"}]}";
    assertThat(
            post(
                "http://127.0.0.1:" + node.ingestPort() + "/com.snowplowanalytics.snowplow/tp2",
                tp2,
                null))
        .isEqualTo(200);
    assertThat(
            post(
                "http://127.0.0.1:" + node.ingestPort() + "/com.snowplowanalytics.snowplow/tp2",
                tp2,
                null))
        .as("a tracker retry")
        .isEqualTo(200);
    String hookUrl = hook.at("/urls/webhook").asText();
    for (int i = 0; i < 20; i++) {
      String body =
          "[{\"order\":" + i + ",\"total\":" + (i * 1.5) + "},{\"order\":" + (i + 100) + "}]";
      assertThat(post(hookUrl, body, null)).isEqualTo(200);
      assertThat(post(hookUrl, body, null)).as("a client retry").isEqualTo(200);
    }
    String key = seg.get("write_key").asText();
    assertThat(
            post(
                "http://127.0.0.1:" + node.ingestPort() + "/v1/batch",
                "{\"batch\":["
                    + "{\"type\":\"identify\",\"userId\":\"u1\",\"messageId\":\"m1\",\"traits\":{\"plan\":\"pro\"}},"
                    + "{\"type\":\"track\",\"userId\":\"u1\",\"messageId\":\"m2\",\"event\":\"Order Completed\",\"properties\":{\"revenue\":9.5}}]}",
                key))
        .isEqualTo(200);

    // A schema not created yet fails the counts with an SQLException: retried too.
    eventually(
        Duration.ofSeconds(30),
        () -> {
          admin("POST", "/v1/admin/connections/" + hook.get("id").asText() + "/sync", null);
          admin("POST", "/v1/admin/connections/" + seg.get("id").asText() + "/sync", null);
          admin("POST", "/v1/admin/connections/" + plow.get("id").asText() + "/sync", null);
          assertThat(count("SELECT count(*) FROM weir_orders.events")).isEqualTo(40);
          assertThat(count("SELECT count(*) FROM weir_app.users")).isEqualTo(1);
          assertThat(count("SELECT count(*) FROM weir_app.order_completed")).isEqualTo(1);
          assertThat(count("SELECT count(*) FROM weir_site.pages")).isEqualTo(1);
          assertThat(count("SELECT count(*) FROM weir_site.add_to_cart")).isEqualTo(1);
        });
    assertThat(count("SELECT count(DISTINCT data->>'order') FROM weir_orders.events"))
        .isEqualTo(40);
    assertThat(count("SELECT count(*) FROM weir_app.tracks")).isEqualTo(1);
    assertThat(count("SELECT round(revenue * 10) FROM weir_app.order_completed")).isEqualTo(95);
    assertThat(count("SELECT count(*) FROM weir_site.tracks"))
        .as("the snowplow retry is deduplicated")
        .isEqualTo(1);
    assertThat(
            count(
                "SELECT count(*) FROM weir_site.pages WHERE context->'page'->>'url' = 'https://shop.example/'"))
        .isEqualTo(1);
  }

  @Test
  void oneOddEventNeverPausesTheDestinationAndTheGoodOnesLoad() throws Exception {
    JsonNode dest =
        admin(
            "POST",
            "/v1/admin/destinations",
            "{\"name\":\"pg-odd\",\"type\":\"postgres\",\"config\":{"
                + "\"url\":\"jdbc:postgresql://127.0.0.1:"
                + pg.getPort()
                + "/analytics\",\"user\":\"weir\","
                + "\"password\":\"w3ir-secret\"}}");
    JsonNode hook =
        admin(
            "POST",
            "/v1/admin/connections",
            "{\"name\":\"Odd\",\"kind\":\"webhook\","
                + "\"destination_id\":\""
                + dest.get("id").asText()
                + "\",\"batch_interval_seconds\":1}");
    String id = hook.get("id").asText();
    StringBuilder body = new StringBuilder("[");
    for (int i = 0; i < 120; i++) body.append("{\"good\":").append(i).append("},");
    // NUL: PostgreSQL cannot store it in jsonb (kept as the text \u0000); 1E+999999: beyond numeric
    // (a dead letter).
    body.append("{\"note\":\"nul \\u0000 inside\"},{\"huge\":1E+999999}]");
    assertThat(post(hook.at("/urls/webhook").asText(), body.toString(), null)).isEqualTo(200);
    AtomicReference<JsonNode> last = new AtomicReference<>();
    eventually(
        Duration.ofSeconds(30),
        () -> {
          admin("POST", "/v1/admin/connections/" + id + "/sync", null);
          JsonNode s = admin("GET", "/v1/admin/connections/" + id + "/status", null);
          last.set(s);
          // Paused ends the wait at once: asserted below, never retried away.
          if (s.get("state").asText().equals("paused")) return;
          assertThat(s.get("staged_batches_pending").asInt()).as(s.toString()).isZero();
          assertThat(s.get("buffered_events").asInt()).as(s.toString()).isZero();
          assertThat(s.get("loaded_rows_total").asInt()).as(s.toString()).isPositive();
        });
    JsonNode status = last.get();
    assertThat(status.get("state").asText()).as(status.toString()).isNotEqualTo("paused");
    assertThat(status.get("state").asText()).isEqualTo("active");
    assertThat(status.get("accepted_total").asInt()).isEqualTo(122);
    assertThat(status.get("dead_letters_total").asInt())
        .as("the number PostgreSQL refused")
        .isEqualTo(1);
    assertThat(count("SELECT count(*) FROM odd.events WHERE data ? 'good'")).isEqualTo(120);
    assertThat(count("SELECT count(*) FROM odd.events WHERE data->>'note' = 'nul \\u0000 inside'"))
        .isEqualTo(1);
    assertThat(
            count(
                "SELECT count(*) FROM odd._weir_dead_letters WHERE code = 'rejected_by_warehouse' "
                    + "AND payload LIKE '%1E+999999%'"))
        .isEqualTo(1);
  }

  @Test
  void aMillionEventsGoThroughTheFullPathIntoPostgresExactlyOnce() throws Exception {
    JsonNode dest =
        admin(
            "POST",
            "/v1/admin/destinations",
            "{\"name\":\"pg-million\",\"type\":\"postgres\",\"config\":{"
                + "\"url\":\"jdbc:postgresql://127.0.0.1:"
                + pg.getPort()
                + "/analytics\",\"user\":\"weir\","
                + "\"password\":\"w3ir-secret\"}}");
    JsonNode hook =
        admin(
            "POST",
            "/v1/admin/connections",
            "{\"name\":\"Million\",\"kind\":\"webhook\","
                + "\"destination_id\":\""
                + dest.get("id").asText()
                + "\",\"batch_size\":5000,\"batch_interval_seconds\":1}");
    String url = hook.at("/urls/webhook").asText();
    int requests = 2_000;
    int perRequest = 500;
    ExecutorService clients = Executors.newFixedThreadPool(4);
    AtomicInteger next = new AtomicInteger();
    List<Future<?>> running = new ArrayList<>();
    long started = System.nanoTime();
    for (int t = 0; t < 4; t++) {
      running.add(
          clients.submit(
              () -> {
                int r;
                while ((r = next.getAndIncrement()) < requests) {
                  StringBuilder body = new StringBuilder("[");
                  for (int i = 0; i < perRequest; i++) {
                    body.append(i == 0 ? "" : ",")
                        .append("{\"n\":")
                        .append(r * perRequest + i)
                        .append(",\"kind\":\"load-test\"}");
                  }
                  int status;
                  do {
                    status = post(url, body.append(']').toString(), null);
                    body.setLength(body.length() - 1);
                  } while (status == 503);
                  assertThat(status).isEqualTo(200);
                }
                return null;
              }));
    }
    for (var f : running) f.get(5, TimeUnit.MINUTES);
    clients.shutdown();
    double ingestSeconds = (System.nanoTime() - started) / 1e9;
    // A schema not created yet fails the count with an SQLException: retried too.
    eventually(
        Duration.ofSeconds(180),
        () -> {
          admin("POST", "/v1/admin/connections/" + hook.get("id").asText() + "/sync", null);
          assertThat(count("SELECT count(*) FROM million.events"))
              .as("all million rows loaded")
              .isEqualTo(1_000_000);
        });
    double totalSeconds = (System.nanoTime() - started) / 1e9;
    assertThat(count("SELECT count(DISTINCT (data->>'n')::int) FROM million.events"))
        .isEqualTo(1_000_000);
    System.out.printf(
        "1,000,000 events: ingested over HTTP in %.1f s, all in PostgreSQL after %.1f s%n",
        ingestSeconds, totalSeconds);
  }

  private static long count(String sql) throws Exception {
    try (Connection c =
            DriverManager.getConnection(
                "jdbc:postgresql://127.0.0.1:" + pg.getPort() + "/analytics",
                "weir",
                "w3ir-secret");
        ResultSet rs = c.createStatement().executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
