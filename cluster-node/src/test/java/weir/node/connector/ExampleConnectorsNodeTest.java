package weir.node.connector;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
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
import weir.examples.connectors.HttpApiConnector;
import weir.examples.connectors.JdbcTableConnector;
import weir.node.DuckDbRows;
import weir.node.Eventually;
import weir.node.NodeApi;
import weir.node.TestNodes;
import weir.node.WeirNode;
import weir.protocol.Json;

/**
 * The example connectors ({@code connector-examples}) as a user runs them: their jar uploaded to a
 * node, a {@code connector} connection per example into DuckDB, the first sync at creation and the
 * next on {@code POST /sync}. The JDBC table connector reads an embedded PostgreSQL (upserts by
 * cursor, deletes from a tombstone table, a hashed column, its password masked and never stored in
 * the clear); the HTTP API connector reads a paginated API on a local port (every page, a nested
 * object as a JSON column, a deleted item soft-deleted, an incremental second sweep, its token
 * masked and never stored in the clear).
 */
class ExampleConnectorsNodeTest {
  private static final String TOKEN = "example-connectors-token";
  private static final String PG_PASSWORD = "pg-Secret-6620";
  private static final String API_TOKEN = "api-Secret-3097";
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @TempDir static Path dir;
  static WeirNode node;
  static String jarId;
  static String warehouseId;

  @BeforeAll
  static void start() throws Exception {
    node = TestNodes.inProcess(dir.resolve("node"), Map.of("weir.admin.token", TOKEN));
    HttpResponse<String> up =
        HTTP.send(
            HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + node.adminPort() + "/v1/admin/connectors"))
                .header("Authorization", "Bearer " + TOKEN)
                .header("Content-Type", "application/java-archive")
                .POST(HttpRequest.BodyPublishers.ofByteArray(examplesJar()))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(up.statusCode()).as(up.body()).isIn(200, 201);
    JsonNode jar = Json.MAPPER.readTree(up.body());
    jarId = jar.get("id").asText();
    assertThat(jar.get("classes").toString())
        .contains(JdbcTableConnector.class.getName(), HttpApiConnector.class.getName());
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

  @Test
  void theJdbcExampleSyncsUpsertsAndTombstonesWithAHashedColumnAndItsPasswordKeptSecret()
      throws Exception {
    try (EmbeddedPostgres pg = EmbeddedPostgres.builder().start()) {
      String url = "jdbc:postgresql://127.0.0.1:" + pg.getPort() + "/postgres";
      sql(
          url,
          "CREATE TABLE orders (id bigint PRIMARY KEY, customer text NOT NULL,"
              + " amount numeric(10,2), updated_at timestamptz NOT NULL)",
          "CREATE TABLE orders_deleted (id bigint PRIMARY KEY, deleted_at timestamptz NOT NULL)",
          order(1, "ada", "12.50", "10:01"),
          order(2, "bob", "20.00", "10:02"),
          order(3, "cy", "30.00", "10:03"),
          order(4, "dee", "40.00", "10:04"),
          order(5, "eve", "50.00", "10:05"));
      String id =
          connection(
              "Shop DB",
              JdbcTableConnector.class,
              Map.of(
                  "jdbc_url", url,
                  "user", "postgres",
                  "password", PG_PASSWORD,
                  "table", "orders",
                  "tombstone_table", "orders_deleted",
                  "page_size", "2"),
              "{\"orders.customer\":{\"hashed\":true}}");

      JsonNode view = admin("GET", "/v1/admin/connections/" + id, null);
      assertThat(view.at("/connector/class").asText())
          .isEqualTo(JdbcTableConnector.class.getName());
      assertThat(view.at("/connector/configuration/password").asText()).isEqualTo("********");
      assertThat(view.at("/columns/orders.customer/hashed").asBoolean()).isTrue();
      assertThat(view.toString()).doesNotContain(PG_PASSWORD);

      // The first sync runs at once and loads every row, live.
      String orders = "SELECT id, amount, _weir_deleted FROM shop_db.orders ORDER BY id";
      loaded(
          orders,
          List.of("1|12.5|false", "2|20.0|false", "3|30.0|false", "4|40.0|false", "5|50.0|false"));
      JsonNode first = syncsDone(id, 1);
      assertThat(first.at("/connector/tables/orders/upserted").asLong()).isEqualTo(5);
      assertThat(first.at("/connector/last_error").isNull()).as(first.toString()).isTrue();

      sql(
          url,
          order(6, "fay", "60.00", "10:10"),
          "UPDATE orders SET amount = 99.00, updated_at = '2024-05-01 10:11:00+00' WHERE id = 2",
          "DELETE FROM orders WHERE id = 3",
          "INSERT INTO orders_deleted VALUES (3, '2024-05-01 10:12:00+00')");
      admin("POST", "/v1/admin/connections/" + id + "/sync", null);
      loaded(
          orders,
          List.of(
              "1|12.5|false",
              "2|99.0|false",
              "3|30.0|true",
              "4|40.0|false",
              "5|50.0|false",
              "6|60.0|false"));
      JsonNode second = syncsDone(id, 2);
      assertThat(second.at("/connector/tables/orders"))
          .as("the second sync: the new and the updated row, the tombstone")
          .isEqualTo(
              Json.MAPPER.readTree("{\"upserted\":2,\"updated\":0,\"deleted\":1,\"truncated\":0}"));

      // The hashed column: salted SHA-256 in hex, never the name.
      assertThat(
              rows(
                  "SELECT count(*) FROM shop_db.orders"
                      + " WHERE regexp_full_match(customer, '[0-9a-f]{64}')"))
          .containsExactly("6");
      assertThat(rows("SELECT count(*) FROM shop_db.orders WHERE customer IN ('ada', 'fay')"))
          .containsExactly("0");
      assertNowhereInTheDataDirectory(PG_PASSWORD);

      // What the node answered is what its OpenAPI document describes.
      JsonNode schemas = admin("GET", "/v1/admin/openapi.json", null).at("/components/schemas");
      assertDocumented(view, schemas, "Connection");
      assertDocumented(view.get("connector"), schemas, "ConnectorSource");
      assertDocumented(second, schemas, "ConnectionStatus");
      assertDocumented(second.get("connector"), schemas, "ConnectorSyncStatus");
      assertDocumented(
          second.at("/connector/tables/orders"),
          schemas.at("/ConnectorSyncStatus/properties/tables/additionalProperties"));
    }
  }

  /** Every field of {@code value} is a property of schema {@code name}. */
  private static void assertDocumented(JsonNode value, JsonNode schemas, String name) {
    assertDocumented(value, schemas.get(name));
  }

  private static void assertDocumented(JsonNode value, JsonNode schema) {
    List<String> fields = new ArrayList<>();
    value.fieldNames().forEachRemaining(fields::add);
    List<String> properties = new ArrayList<>();
    schema.get("properties").fieldNames().forEachRemaining(properties::add);
    assertThat(properties).as(schema.toString()).containsAll(fields);
  }

  @Test
  void theHttpExampleReadsEveryPageNestedObjectsAndDeletesThenOnlyWhatChanged() throws Exception {
    try (FakeApi api = new FakeApi(API_TOKEN)) {
      for (int i = 1; i <= 7; i++) api.put(item(i, "10:0" + i));
      Map<String, Object> nested = item(4, "10:04");
      nested.put("customer", Map.of("name", "Dee", "address", Map.of("city", "Lyon")));
      nested.put("tags", List.of("gift", "express"));
      api.put(nested);
      String id =
          connection(
              "Shop API",
              HttpApiConnector.class,
              Map.of("base_url", api.baseUrl(), "api_token", API_TOKEN, "resource", "orders"),
              null);
      assertThat(admin("GET", "/v1/admin/connections/" + id, null).toString())
          .contains("\"api_token\":\"********\"")
          .doesNotContain(API_TOKEN);

      // Seven items in pages of two: four requests, every item loaded.
      String orders = "SELECT id, amount, _weir_deleted FROM shop_api.orders ORDER BY id";
      loaded(
          orders,
          List.of(
              "1|10.5|false",
              "2|20.5|false",
              "3|30.5|false",
              "4|40.5|false",
              "5|50.5|false",
              "6|60.5|false",
              "7|70.5|false"));
      assertThat(syncsDone(id, 1).at("/connector/tables/orders/upserted").asLong()).isEqualTo(7);
      assertThat(api.requests())
          .containsExactly(
              "/orders",
              "/orders?page_token=page-2",
              "/orders?page_token=page-3",
              "/orders?page_token=page-4");
      assertThat(
              rows(
                  "SELECT data_type FROM information_schema.columns WHERE table_schema = 'shop_api'"
                      + " AND table_name = 'orders' AND column_name IN ('customer', 'tags')"))
          .containsExactly("JSON", "JSON");
      assertThat(
              rows(
                  "SELECT json_extract_string(customer, '$.address.city'), json_array_length(tags)"
                      + " FROM shop_api.orders WHERE id = 4"))
          .containsExactly("Lyon|2");

      // Item 2 changed, 3 deleted, 8 new: the second sync asks only for what changed since the
      // first (7 again: updated_since is inclusive).
      Map<String, Object> two = item(2, "11:00");
      two.put("amount", 99);
      api.put(two);
      api.put(item(3, "11:01", "deleted", true));
      api.put(item(8, "11:02"));
      int before = api.requests().size();
      admin("POST", "/v1/admin/connections/" + id + "/sync", null);
      loaded(
          orders,
          List.of(
              "1|10.5|false",
              "2|99.0|false",
              "3|30.5|true",
              "4|40.5|false",
              "5|50.5|false",
              "6|60.5|false",
              "7|70.5|false",
              "8|80.5|false"));
      JsonNode second = syncsDone(id, 2);
      assertThat(second.at("/connector/tables/orders"))
          .isEqualTo(
              Json.MAPPER.readTree("{\"upserted\":3,\"updated\":0,\"deleted\":1,\"truncated\":0}"));
      assertThat(api.requests().get(before))
          .isEqualTo("/orders?updated_since=2024-05-01T10:07:00Z");
      assertThat(
              rows(
                  "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'shop_api'"
                      + " AND column_name = 'deleted'"))
          .as("the deleted flag is an operation, not a column")
          .containsExactly("0");
      assertThat(api.authorizations()).containsOnly("Bearer " + API_TOKEN);
      assertNowhereInTheDataDirectory(API_TOKEN);
    }
  }

  /**
   * The example connectors' classes as a jar: the examples module's jar when the build packaged it,
   * else its class files ({@code target/classes} during {@code mvn test}).
   */
  private static byte[] examplesJar() throws Exception {
    Path source =
        Path.of(
            JdbcTableConnector.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    if (Files.isRegularFile(source)) return Files.readAllBytes(source);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (JarOutputStream jar = new JarOutputStream(out);
        Stream<Path> files = Files.walk(source.resolve("weir/examples/connectors"))) {
      for (Path f : files.filter(p -> p.toString().endsWith(".class")).sorted().toList()) {
        jar.putNextEntry(new JarEntry(source.relativize(f).toString().replace('\\', '/')));
        Files.copy(f, jar);
        jar.closeEntry();
      }
    }
    return out.toByteArray();
  }

  private static JsonNode admin(String method, String path, String body) throws Exception {
    return new NodeApi(node, TOKEN).admin(method, path, body);
  }

  /**
   * Creates a connector connection named {@code name} (its schema the name in snake case) running
   * {@code connector} of the uploaded jar; its first sync starts at once.
   */
  private static String connection(
      String name, Class<?> connector, Map<String, String> configuration, String columns)
      throws Exception {
    return admin(
            "POST",
            "/v1/admin/connections",
            "{\"name\":\""
                + name
                + "\",\"kind\":\"connector\",\"destination_id\":\""
                + warehouseId
                + "\",\"batch_interval_seconds\":1,\"sync_interval_minutes\":600,"
                + "\"connector\":{\"jar\":\""
                + jarId
                + "\",\"class\":\""
                + connector.getName()
                + "\",\"configuration\":"
                + Json.MAPPER.writeValueAsString(configuration)
                + "}"
                + (columns == null ? "" : ",\"columns\":" + columns)
                + "}")
        .get("id")
        .asText();
  }

  /** The connection's status once {@code n} syncs have succeeded and none is running. */
  private static JsonNode syncsDone(String id, long n) {
    JsonNode[] status = new JsonNode[1];
    Eventually.eventually(
        Duration.ofSeconds(20),
        () -> {
          status[0] = admin("GET", "/v1/admin/connections/" + id + "/status", null);
          assertThat(status[0].at("/connector/syncs_total").asLong())
              .as(status[0].toString())
              .isGreaterThanOrEqualTo(n);
          assertThat(status[0].at("/connector/running").asBoolean()).isFalse();
        });
    return status[0];
  }

  private static List<String> rows(String sql) throws Exception {
    return DuckDbRows.query(dir.resolve("wh.duckdb"), sql);
  }

  private static void loaded(String sql, List<String> expected) {
    Eventually.eventually(
        Duration.ofSeconds(20), () -> assertThat(rows(sql)).containsExactlyElementsOf(expected));
  }

  /** {@code secret} is in no file of the node's data directory (journal, staging, jar cache). */
  private static void assertNowhereInTheDataDirectory(String secret) throws Exception {
    List<Path> files;
    try (Stream<Path> s = Files.walk(dir.resolve("node"))) {
      files = s.filter(Files::isRegularFile).toList();
    }
    assertThat(files).isNotEmpty();
    for (Path f : files) {
      byte[] bytes;
      if (f.toString().endsWith(".gz")) {
        try (InputStream in = new GZIPInputStream(Files.newInputStream(f))) {
          bytes = in.readAllBytes();
        }
      } else {
        bytes = Files.readAllBytes(f);
      }
      assertThat(new String(bytes, StandardCharsets.ISO_8859_1))
          .as(f.toString())
          .doesNotContain(secret);
    }
  }

  private static String order(long id, String customer, String amount, String time) {
    return "INSERT INTO orders VALUES ("
        + id
        + ", '"
        + customer
        + "', "
        + amount
        + ", '2024-05-01 "
        + time
        + ":00+00')";
  }

  private static void sql(String url, String... statements) throws Exception {
    try (Connection c = DriverManager.getConnection(url, "postgres", "");
        Statement st = c.createStatement()) {
      for (String s : statements) st.execute(s);
    }
  }

  private static Map<String, Object> item(int id, String time, Object... more) {
    Map<String, Object> item = new LinkedHashMap<>();
    item.put("id", id);
    item.put("amount", id * 10 + 0.5);
    item.put("updated_at", "2024-05-01T" + time + ":00Z");
    for (int i = 0; i < more.length; i += 2) item.put((String) more[i], more[i + 1]);
    return item;
  }

  /**
   * {@code GET /orders}: the items with {@code updated_at} at or after {@code updated_since}, by
   * (updated_at, id), in pages of 2 ({@code page_token} "page-N"); 401 without the expected token.
   */
  private static final class FakeApi implements AutoCloseable {
    private static final int PAGE = 2;

    private final HttpServer server;
    private final String token;
    private final Map<Object, Map<String, Object>> items = new LinkedHashMap<>();
    private final List<String> requests = new ArrayList<>();
    private final List<String> authorizations = new ArrayList<>();

    FakeApi(String token) throws IOException {
      this.token = token;
      server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
      server.createContext("/orders", this::handle);
      server.start();
    }

    String baseUrl() {
      return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    synchronized void put(Map<String, Object> item) {
      items.put(item.get("id"), item);
    }

    /** The requests so far, path and decoded query. */
    synchronized List<String> requests() {
      return List.copyOf(requests);
    }

    synchronized List<String> authorizations() {
      return List.copyOf(authorizations);
    }

    private synchronized void handle(HttpExchange ex) throws IOException {
      URI uri = ex.getRequestURI();
      requests.add(uri.getPath() + (uri.getQuery() == null ? "" : "?" + uri.getQuery()));
      String auth = ex.getRequestHeaders().getFirst("Authorization");
      authorizations.add(auth);
      if (!("Bearer " + token).equals(auth)) {
        reply(ex, 401, "{\"error\":\"invalid credentials\"}");
        return;
      }
      Map<String, String> query = new HashMap<>();
      if (uri.getRawQuery() != null)
        for (String p : uri.getRawQuery().split("&")) {
          String[] kv = p.split("=", 2);
          query.put(kv[0], URLDecoder.decode(kv[1], StandardCharsets.UTF_8));
        }
      int page =
          query.containsKey("page_token")
              ? Integer.parseInt(query.get("page_token").substring("page-".length()))
              : 1;
      Instant since =
          query.containsKey("updated_since") ? Instant.parse(query.get("updated_since")) : null;
      List<Map<String, Object>> matching =
          items.values().stream()
              .filter(i -> since == null || !updatedAt(i).isBefore(since))
              .sorted(
                  Comparator.comparing(FakeApi::updatedAt)
                      .thenComparing(i -> ((Number) i.get("id")).longValue()))
              .toList();
      int from = (page - 1) * PAGE;
      int to = Math.min(matching.size(), from + PAGE);
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("items", from < to ? matching.subList(from, to) : List.of());
      body.put("next_page_token", to < matching.size() ? "page-" + (page + 1) : null);
      reply(ex, 200, Json.MAPPER.writeValueAsString(body));
    }

    private static Instant updatedAt(Map<String, Object> item) {
      return Instant.parse((String) item.get("updated_at"));
    }

    private static void reply(HttpExchange ex, int status, String body) throws IOException {
      byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().set("Content-Type", "application/json");
      ex.sendResponseHeaders(status, bytes.length);
      try (OutputStream out = ex.getResponseBody()) {
        out.write(bytes);
      }
    }

    @Override
    public void close() {
      server.stop(0);
    }
  }
}
