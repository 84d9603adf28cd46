package weir.node.connector;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import weir.node.DuckDbRows;
import weir.node.Eventually;
import weir.node.NodeApi;
import weir.node.TestNodes;
import weir.node.WeirNode;
import weir.node.connector.fixture.FileSourceConnector;
import weir.protocol.Json;

/**
 * A connector connection on a running node, end to end: the jar uploaded, the connection created
 * (configuration masked), syncs on demand through the buffers, staging and the DuckDB loader
 * (upserts, deletes, snapshot and append tables), a failing sync retried from its last checkpoint
 * with nothing lost or doubled, a full re-sync that ends equal to a fresh sync, and blocked, hashed
 * and secret values never in the clear in the journal, staging or warehouse.
 */
class ConnectorSyncTest {
  private static final String TOKEN = "connector-sync-token";
  private static final String API_KEY = "sekrit-api-key-4711";
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @TempDir static Path dir;
  static WeirNode node;
  static String jarId;
  static String warehouseId;

  @BeforeAll
  static void start() throws Exception {
    node =
        TestNodes.inProcess(
            dir.resolve("node"),
            Map.of("weir.admin.token", TOKEN, "weir.connectors.max-sync-duration", "8s"));
    HttpResponse<String> up =
        HTTP.send(
            HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + node.adminPort() + "/v1/admin/connectors"))
                .header("Authorization", "Bearer " + TOKEN)
                .header("Content-Type", "application/java-archive")
                .POST(HttpRequest.BodyPublishers.ofByteArray(jar(FileSourceConnector.class)))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(up.statusCode()).as(up.body()).isIn(200, 201);
    jarId = Json.MAPPER.readTree(up.body()).get("id").asText();
    warehouseId =
        admin(
                "POST",
                "/v1/admin/destinations",
                "{\"name\":\"wh\",\"type\":\"duckdb\",\"config\":{\"path\":\""
                    + dir.resolve("wh.duckdb")
                    + "\"}}")
            .get("id")
            .asText();
  }

  @AfterAll
  static void stop() throws Exception {
    node.stop(Duration.ofSeconds(30));
  }

  private static JsonNode admin(String method, String path, String body) throws Exception {
    return new NodeApi(node, TOKEN).admin(method, path, body);
  }

  private static byte[] jar(Class<?>... classes) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (JarOutputStream jar = new JarOutputStream(out)) {
      for (Class<?> c : classes) {
        String name = c.getName().replace('.', '/') + ".class";
        jar.putNextEntry(new JarEntry(name));
        try (InputStream in = c.getClassLoader().getResourceAsStream(name)) {
          in.transferTo(jar);
        }
      }
    }
    return out.toByteArray();
  }

  /** A dataset of {@code items} items (ids 1..n), some deleted, two plans, clicks. */
  private static String dataset(int items, List<Integer> deleted, int failAt, String... plans) {
    StringBuilder s = new StringBuilder("{\"fail_at\":" + failAt + ",\"items\":[");
    for (int i = 1; i <= items; i++) {
      if (i > 1) s.append(',');
      s.append("{\"id\":")
          .append(i)
          .append(",\"name\":\"item ")
          .append(i)
          .append("\",\"email\":\"user")
          .append(i)
          .append("@example.com\",\"password\":\"hunter2-")
          .append(i)
          .append("\",\"updated\":")
          .append(i)
          .append('}');
    }
    s.append("],\"deleted\":").append(deleted).append(",\"plans\":[");
    for (int i = 0; i < plans.length; i++)
      s.append(i > 0 ? "," : "")
          .append("{\"code\":\"")
          .append(plans[i])
          .append("\",\"seats\":")
          .append(i + 1)
          .append('}');
    s.append("],\"clicks\":[\"/a\",\"/b\"]}");
    return s.toString();
  }

  private static String connection(String name, Path source) throws Exception {
    return admin(
            "POST",
            "/v1/admin/connections",
            "{\"name\":\""
                + name
                + "\",\"kind\":\"connector\",\"destination_id\":\""
                + warehouseId
                + "\",\"batch_interval_seconds\":1,\"sync_interval_minutes\":60,"
                + "\"connector\":{\"jar\":\""
                + jarId
                + "\",\"class\":\""
                + FileSourceConnector.class.getName()
                + "\",\"configuration\":{\"api_key\":\""
                + API_KEY
                + "\",\"source_file\":\""
                + source
                + "\"}},\"columns\":{\"items.password\":{\"enabled\":false},"
                + "\"items.email\":{\"hashed\":true}}}")
        .get("id")
        .asText();
  }

  private static List<String> rows(String schema, String sql) throws Exception {
    return DuckDbRows.query(dir.resolve("wh.duckdb"), String.format(sql, schema));
  }

  /** Starts a sync of the connection of {@code schema}. */
  private static void sync(String schema) throws Exception {
    admin("POST", "/v1/admin/connections/" + connectionOf(schema) + "/sync", null);
  }

  private static void loaded(String schema, String sql, List<String> expected) throws Exception {
    Eventually.eventually(
        Duration.ofSeconds(60),
        () -> assertThat(rows(schema, sql)).containsExactlyElementsOf(expected));
  }

  private static final Map<String, String> ids = new java.util.concurrent.ConcurrentHashMap<>();

  private static String connectionOf(String schema) {
    return ids.get(schema);
  }

  @Test
  void syncsLoadRetryFromCheckpointsResyncAndKeepSecretsOut() throws Exception {
    Path source = dir.resolve("shop.json");
    Files.writeString(source, dataset(25, List.of(), 0, "basic", "pro"));
    String id = connection("Shop", source);
    ids.put("shop", id);
    JsonNode view = admin("GET", "/v1/admin/connections/" + id, null);
    assertThat(view.at("/connector/configuration/api_key").asText()).isEqualTo("********");
    assertThat(view.at("/columns/items.email/hashed").asBoolean()).isTrue();

    // The first sync runs at once.
    loaded("shop", "SELECT count(*) FROM %s.items WHERE NOT _weir_deleted", List.of("25"));
    loaded("shop", "SELECT code, seats FROM %s.plans ORDER BY code", List.of("basic|1", "pro|2"));
    assertThat(rows("shop", "SELECT count(*) FROM %s.clicks")).containsExactly("2");
    JsonNode status = admin("GET", "/v1/admin/connections/" + id + "/status", null);
    assertThat(status.at("/connector/tables/items/upserted").asLong()).isEqualTo(25);
    assertThat(status.at("/connector/state_bytes").asInt()).isPositive();

    // Ten more items, item 3 deleted, plan "basic" gone, and the sync fails after 7 items once:
    // the retry resumes from the last checkpoint; nothing is lost or doubled.
    Files.writeString(source, dataset(35, List.of(3), 7, "pro"));
    sync("shop");
    loaded(
        "shop",
        "SELECT count(*), count(DISTINCT _weir_id), sum(CASE WHEN _weir_deleted THEN 1 ELSE 0 END)"
            + " FROM %s.items",
        List.of("35|35|1"));
    loaded(
        "shop",
        "SELECT code, _weir_deleted FROM %s.plans ORDER BY code",
        List.of("basic|true", "pro|false"));
    assertThat(rows("shop", "SELECT count(*) FROM %s.clicks")).containsExactly("2");
    Eventually.eventually(
        Duration.ofSeconds(10),
        () ->
            assertThat(
                    admin("GET", "/v1/admin/connections/" + id + "/status", null)
                        .at("/connector/syncs_total")
                        .asLong())
                .isGreaterThanOrEqualTo(2));

    // Blocked and hashed columns: never in the clear.
    assertThat(
            rows(
                "shop",
                "SELECT count(*) FROM information_schema.columns WHERE table_schema = '%s' AND column_name = 'password'"))
        .containsExactly("0");
    assertThat(rows("shop", "SELECT count(*) FROM %s.items WHERE email LIKE '%%@example.com'"))
        .containsExactly("0");
    assertThat(rows("shop", "SELECT length(email) FROM %s.items LIMIT 1")).containsExactly("64");

    // A full re-sync ends equal to a fresh sync of the same source.
    admin("POST", "/v1/admin/connections/" + id + "/resync", "{}");
    Path fresh = dir.resolve("fresh.json");
    Files.writeString(fresh, dataset(35, List.of(3), 0, "pro"));
    ids.put("fresh", connection("Fresh", fresh));
    String live =
        "SELECT _weir_id, name, email FROM %s.items WHERE NOT _weir_deleted ORDER BY _weir_id";
    loaded("fresh", "SELECT count(*) FROM %s.items WHERE NOT _weir_deleted", List.of("34"));
    Eventually.eventually(
        Duration.ofSeconds(60),
        () -> {
          assertThat(
                  admin("GET", "/v1/admin/connections/" + id + "/status", null)
                      .at("/connector/resync_pending")
                      .asBoolean())
              .isFalse();
          assertThat(rows("shop", live)).hasSize(34);
        });
    // The hash salt is per connection: compare the clear columns.
    String clear = "SELECT _weir_id, name FROM %s.items WHERE NOT _weir_deleted ORDER BY _weir_id";
    assertThat(rows("shop", clear)).isEqualTo(rows("fresh", clear));
    assertThat(rows("shop", "SELECT page FROM %s.clicks WHERE NOT _weir_deleted ORDER BY page"))
        .isEqualTo(
            rows("fresh", "SELECT page FROM %s.clicks WHERE NOT _weir_deleted ORDER BY page"));

    // A re-sync of one table: its state key removed, it alone truncated and synced again.
    admin("POST", "/v1/admin/connections/" + id + "/resync", "{\"tables\":[\"items\"]}");
    Eventually.eventually(
        Duration.ofSeconds(60),
        () -> {
          JsonNode s = admin("GET", "/v1/admin/connections/" + id + "/status", null);
          assertThat(s.at("/connector/resync_pending").asBoolean()).isFalse();
          assertThat(s.at("/connector/tables/items/truncated").asLong()).isEqualTo(1);
          assertThat(s.at("/connector/tables/items/upserted").asLong()).isEqualTo(35);
          assertThat(s.at("/connector/tables/clicks/upserted").asLong()).isZero();
        });
    loaded("shop", clear, rows("fresh", clear));
    assertThat(rows("shop", "SELECT count(*) FROM %s.clicks WHERE NOT _weir_deleted"))
        .containsExactly("2");

    // Secrets, blocked and hashed values: not in the journal database, the staged files or the
    // warehouse.
    for (Path f : files(dir.resolve("node"))) {
      String text = new String(read(f), StandardCharsets.ISO_8859_1);
      assertThat(text)
          .as(f.toString())
          .doesNotContain(API_KEY)
          .doesNotContain("hunter2")
          .doesNotContain("@example.com");
    }
  }

  @Test
  void aStuckSyncIsCancelledAfterMaxSyncDurationAndTheStatusSaysWhy() throws Exception {
    Path source = dir.resolve("stuck.json");
    Files.writeString(
        source, dataset(1, List.of(), 0, "basic").replaceFirst("\\{", "{\"stall_ms\":600000,"));
    String id = connection("Stuck", source);
    Eventually.eventually(
        Duration.ofSeconds(40),
        () ->
            assertThat(
                    admin("GET", "/v1/admin/connections/" + id + "/status", null)
                        .at("/connector/last_error")
                        .asText())
                .contains("max-sync-duration"));
    admin("DELETE", "/v1/admin/connections/" + id, null);
  }

  private static List<Path> files(Path root) throws Exception {
    try (Stream<Path> s = Files.walk(root)) {
      return s.filter(Files::isRegularFile).toList();
    }
  }

  private static byte[] read(Path f) throws Exception {
    if (f.toString().endsWith(".gz")) {
      try (InputStream in = new GZIPInputStream(Files.newInputStream(f))) {
        return in.readAllBytes();
      }
    }
    return Files.readAllBytes(f);
  }
}
