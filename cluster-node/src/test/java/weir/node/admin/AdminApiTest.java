package weir.node.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static weir.node.Eventually.eventually;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import io.swagger.v3.parser.OpenAPIV3Parser;
import io.swagger.v3.parser.core.models.SwaggerParseResult;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import weir.node.TestNodes;
import weir.node.WeirNode;
import weir.persistence.JournalDatabase;
import weir.protocol.Json;
import weir.protocol.webhook.WebhookSignature;

/**
 * The management API over real HTTP against a real node (in this JVM, free ports, temp data dir):
 * every route and error code, auth on every documented route, the OpenAPI document, and secrets
 * that never show up in responses, logs or the journal.
 */
class AdminApiTest {
  private static final String TOKEN = "test-admin-token-0123456789";
  private static final String SIGNING_SECRET = "sig-SECRET-1234567890";
  private static final String PG_PASSWORD = "pg-PASSWORD-0987654321";

  private static Path dataDir;
  private static WeirNode node;
  private static String admin;
  private static String ingest;
  private static final HttpClient http = HttpClient.newHttpClient();

  /** Every response body this test received, searched for secrets at the end. */
  private static final List<String> bodies = new CopyOnWriteArrayList<>();

  private static final ListAppender<ILoggingEvent> logs = new ListAppender<>();

  @BeforeAll
  static void start() throws Exception {
    Logger root =
        ((LoggerContext) LoggerFactory.getILoggerFactory())
            .getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    logs.start();
    root.addAppender(logs);
    dataDir = Files.createTempDirectory("weir-admin-test");
    node = TestNodes.inProcess(dataDir, Map.of("weir.admin.token", TOKEN));
    admin = "http://127.0.0.1:" + node.adminPort();
    ingest = "http://127.0.0.1:" + node.ingestPort();
  }

  @AfterAll
  static void stop() throws Exception {
    node.stop(Duration.ofSeconds(30));
  }

  record Reply(int status, JsonNode json, String text, HttpResponse<String> raw) {}

  static Reply call(String method, String url, String body, String token) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(url))
            .timeout(Duration.ofSeconds(20))
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body))
            .header("Content-Type", "application/json");
    if (token != null) b.header("Authorization", "Bearer " + token);
    HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    bodies.add(r.body());
    JsonNode json = null;
    try {
      json = r.body().isEmpty() ? null : Json.MAPPER.readTree(r.body());
    } catch (Exception notJson) {
      // metrics are text
    }
    return new Reply(r.statusCode(), json, r.body(), r);
  }

  static Reply adminCall(String method, String path, String body) throws Exception {
    return call(method, admin + path, body, TOKEN);
  }

  static void assertError(Reply r, int status, String code) {
    assertThat(r.status()).as(r.text()).isEqualTo(status);
    assertThat(r.json().at("/error/code").asText()).as(r.text()).isEqualTo(code);
    assertThat(r.json().at("/error/message").asText()).isNotBlank();
  }

  static String duckdbDestination(String name) throws Exception {
    Reply r =
        adminCall(
            "POST",
            "/v1/admin/destinations",
            "{\"name\":\""
                + name
                + "\",\"type\":\"duckdb\","
                + "\"config\":{\"path\":\""
                + name
                + ".duckdb\"}}");
    assertThat(r.status()).as(r.text()).isEqualTo(201);
    return r.json().get("id").asText();
  }

  static JsonNode webhookConnection(String destinationId, String extra) throws Exception {
    Reply r =
        adminCall(
            "POST",
            "/v1/admin/connections",
            "{\"name\":\"Shop Events "
                + System.nanoTime()
                + "\",\"kind\":\"webhook\",\"destination_id\":\""
                + destinationId
                + "\""
                + extra
                + "}");
    assertThat(r.status()).as(r.text()).isEqualTo(201);
    return r.json();
  }

  static int post(String url, String body, Map<String, String> headers) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(url))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body));
    headers.forEach(b::header);
    HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    bodies.add(r.body());
    return r.statusCode();
  }

  static JsonNode awaitStatus(String connectionId, Predicate<JsonNode> done) {
    AtomicReference<JsonNode> last = new AtomicReference<>();
    eventually(
        Duration.ofSeconds(30),
        () -> {
          last.set(
              adminCall("GET", "/v1/admin/connections/" + connectionId + "/status", null).json());
          if (!done.test(last.get()))
            throw new AssertionError("status never reached the expected state: " + last.get());
        });
    return last.get();
  }

  // ---- OpenAPI and auth ----

  @Test
  void theOpenApiDocumentIsValidOpenApi3() throws Exception {
    Reply doc = adminCall("GET", "/v1/admin/openapi.json", null);
    assertThat(doc.status()).isEqualTo(200);
    SwaggerParseResult parsed = new OpenAPIV3Parser().readContents(doc.text());
    assertThat(parsed.getMessages()).isEmpty();
    assertThat(parsed.getOpenAPI().getPaths())
        .containsKeys("/v1/admin/connections/{id}/status", "/metrics");
  }

  @Test
  void everyDocumentedAdminRouteRefusesRequestsWithoutTheTokenAndExistsWithIt() throws Exception {
    JsonNode doc = adminCall("GET", "/v1/admin/openapi.json", null).json();
    List<String> checked = new ArrayList<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = doc.get("paths").fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> p = it.next();
      if (p.getValue().has("servers"))
        continue; // the ingestion port's webhook route: per-connection auth
      String path = p.getKey().replaceAll("\\{[^}]+\\}", "nonexistent");
      for (String method : List.of("get", "post", "patch", "delete")) {
        if (!p.getValue().has(method)) continue;
        String body = method.equals("get") || method.equals("delete") ? null : "{}";
        assertError(call(method.toUpperCase(), admin + path, body, null), 401, "unauthorized");
        assertError(
            call(method.toUpperCase(), admin + path, body, "wrong-token"), 401, "unauthorized");
        Reply withToken = call(method.toUpperCase(), admin + path, body, TOKEN);
        if (withToken.status() == 404) {
          assertThat(withToken.json().at("/error/code").asText())
              .as(method + " " + path)
              .isIn("connection_not_found", "destination_not_found", "export_not_found");
        }
        checked.add(method + " " + path);
      }
    }
    assertThat(checked).hasSizeGreaterThanOrEqualTo(17);
  }

  @Test
  void unknownAdminPathsAndWrongMethodsAreJsonErrors() throws Exception {
    assertError(adminCall("GET", "/v1/admin/nothing", null), 404, "not_found");
    assertError(adminCall("PUT", "/v1/admin/connections", "{}"), 405, "method_not_allowed");
    assertError(adminCall("POST", "/v1/admin/connections", "not json"), 400, "invalid_json");
    assertError(adminCall("POST", "/v1/admin/connections", "[1]"), 400, "invalid_json");
  }

  // ---- destinations ----

  @Test
  void destinationsCanBeCreatedListedReadPatchedAndDeleted() throws Exception {
    String id = duckdbDestination("crud_wh");
    assertThat(
            adminCall("GET", "/v1/admin/destinations", null)
                .json()
                .get("destinations")
                .findValuesAsText("id"))
        .contains(id);
    Reply one = adminCall("GET", "/v1/admin/destinations/" + id, null);
    assertThat(one.json().get("type").asText()).isEqualTo("duckdb");
    assertThat(one.json().at("/config/staging/type").asText()).isEqualTo("filesystem");

    Reply patched = adminCall("PATCH", "/v1/admin/destinations/" + id, "{\"name\":\"renamed\"}");
    assertThat(patched.status()).isEqualTo(200);
    assertThat(patched.json().get("name").asText()).isEqualTo("renamed");
    assertError(
        adminCall("PATCH", "/v1/admin/destinations/" + id, "{\"type\":\"postgres\"}"),
        400,
        "immutable_field");

    String connection = webhookConnection(id, "").get("id").asText();
    assertError(
        adminCall("DELETE", "/v1/admin/destinations/" + id, null), 409, "destination_in_use");
    assertThat(adminCall("DELETE", "/v1/admin/connections/" + connection, null).status())
        .isEqualTo(204);
    assertThat(adminCall("DELETE", "/v1/admin/destinations/" + id, null).status()).isEqualTo(204);
    assertError(
        adminCall("GET", "/v1/admin/destinations/" + id, null), 404, "destination_not_found");
  }

  @Test
  void everyDestinationTypeIsValidatedAndUnavailableOnesAreRefusedClearly() throws Exception {
    assertError(
        adminCall(
            "POST", "/v1/admin/destinations", "{\"type\":\"duckdb\",\"config\":{\"path\":\"x\"}}"),
        400,
        "invalid_field");
    Reply unknownType =
        adminCall(
            "POST", "/v1/admin/destinations", "{\"name\":\"n\",\"type\":\"oracle\",\"config\":{}}");
    assertError(unknownType, 400, "invalid_field");
    Reply missing =
        adminCall(
            "POST",
            "/v1/admin/destinations",
            "{\"name\":\"n\",\"type\":\"postgres\",\"config\":{\"url\":\"jdbc:postgresql://db/x\",\"user\":\"u\"}}");
    assertError(missing, 400, "invalid_field");
    assertThat(missing.json().at("/error/message").asText()).contains("config.password");
    assertError(
        adminCall(
            "POST",
            "/v1/admin/destinations",
            "{\"name\":\"n\",\"type\":\"duckdb\","
                + "\"config\":{\"path\":\"x\",\"colour\":\"red\"}}"),
        400,
        "unknown_field");
    assertError(
        adminCall(
            "POST",
            "/v1/admin/destinations",
            "{\"name\":\"n\",\"type\":\"redshift\",\"config\":{"
                + "\"url\":\"jdbc:redshift://h:5439/d\",\"user\":\"u\",\"password\":\"p\",\"iam_role_arn\":\"arn\"}}"),
        400,
        "invalid_field");
    assertError(
        adminCall(
            "POST",
            "/v1/admin/destinations",
            "{\"name\":\"n\",\"type\":\"filesystem\",\"config\":{"
                + "\"path\":\"/tmp/x\",\"format\":\"avro\",\"compression\":\"gzip\"}}"),
        400,
        "invalid_field");
    Reply retention =
        adminCall(
            "POST",
            "/v1/admin/destinations",
            "{\"name\":\"n\",\"type\":\"duckdb\",\"config\":{"
                + "\"path\":\"x\",\"staging\":{\"type\":\"filesystem\",\"path\":\"s\",\"retention_days\":-1}}}");
    assertError(retention, 400, "invalid_field");
    assertThat(retention.json().at("/error/message").asText())
        .contains("config.staging.retention_days");
    Reply badKey =
        adminCall(
            "POST",
            "/v1/admin/destinations",
            "{\"name\":\"n\",\"type\":\"gcs\",\"config\":{"
                + "\"bucket\":\"b\",\"service_account_json\":\"{}\"}}");
    assertError(badKey, 400, "invalid_field");
    assertThat(badKey.json().at("/error/message").asText()).contains("config.service_account_json");

    assertError(
        adminCall(
            "POST",
            "/v1/admin/destinations",
            "{\"name\":\"n\",\"type\":\"bigquery\",\"config\":"
                + "{\"project_id\":\"p\",\"streaming_insert\":\"maybe\",\"service_account_json\":"
                + Json.MAPPER.writeValueAsString(SERVICE_ACCOUNT)
                + "}}"),
        400,
        "invalid_field");
    assertError(
        adminCall(
            "POST",
            "/v1/admin/destinations",
            "{\"name\":\"n\",\"type\":\"snowflake\",\"config\":{"
                + "\"account\":\"a\",\"user\":\"u\",\"private_key\":\"not a key\",\"warehouse\":\"w\",\"database\":\"d\"}}"),
        400,
        "invalid_field");
    Map<String, String> storage =
        Map.of(
            "bigquery",
                "{\"project_id\":\"p\",\"streaming_insert\":\"true\",\"service_account_json\":"
                    + Json.MAPPER.writeValueAsString(SERVICE_ACCOUNT)
                    + "}",
            "redshift",
                "{\"url\":\"jdbc:redshift://h:5439/d\",\"user\":\"u\",\"password\":\"p\",\"iam_role_arn\":\"arn:aws:iam::1:role/r\","
                    + "\"delete_staged_files\":\"true\",\"staging\":{\"type\":\"s3\",\"bucket\":\"b\",\"region\":\"us-east-1\"}}",
            "snowflake",
                "{\"account\":\"a\",\"user\":\"u\",\"private_key\":"
                    + Json.MAPPER.writeValueAsString(rsaKeyPem())
                    + ",\"warehouse\":\"w\",\"database\":\"d\"}",
            "s3", "{\"bucket\":\"b\",\"region\":\"us-east-1\",\"format\":\"parquet\"}",
            "gcs",
                "{\"bucket\":\"b\",\"service_account_json\":"
                    + Json.MAPPER.writeValueAsString(SERVICE_ACCOUNT)
                    + "}",
            "filesystem",
                "{\"path\":\"/tmp/lake\",\"format\":\"ndjson\",\"compression\":\"none\"}");
    for (Map.Entry<String, String> e : storage.entrySet()) {
      Reply r =
          adminCall(
              "POST",
              "/v1/admin/destinations",
              "{\"name\":\"n\",\"type\":\"" + e.getKey() + "\",\"config\":" + e.getValue() + "}");
      assertThat(r.status()).as(e.getKey() + ": " + r.text()).isEqualTo(201);
      assertThat(r.text()).doesNotContain("BEGIN PRIVATE KEY");
    }
  }

  /**
   * A real RSA private key in PKCS#8 PEM form (the shape Snowflake key-pair authentication takes).
   */
  static String rsaKeyPem() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    return "-----BEGIN PRIVATE KEY-----\n"
        + Base64.getMimeEncoder().encodeToString(g.generateKeyPair().getPrivate().getEncoded())
        + "\n-----END PRIVATE KEY-----\n";
  }

  /** The shape of a Google service account key (the key itself is not a real one). */
  static final String SERVICE_ACCOUNT =
      "{\"type\":\"service_account\",\"project_id\":\"p\",\"client_email\":"
          + "\"weir@p.iam.gserviceaccount.com\",\"private_key\":\"-----BEGIN PRIVATE KEY-----\\nAAAA\\n-----END PRIVATE KEY-----\\n\"}";

  // ---- connections ----

  @Test
  void connectionsAreCreatedWithWriteKeyAndUrlsAndIngestionFollowsTheirLifecycle()
      throws Exception {
    String destination = duckdbDestination("conn_wh");
    JsonNode c = webhookConnection(destination, ",\"batch_size\":10");
    String id = c.get("id").asText();
    assertThat(c.get("schema").asText()).startsWith("shop_events_");
    assertThat(c.get("table").asText()).isEqualTo("events");
    assertThat(c.get("sync_interval_minutes").asInt()).isEqualTo(15);
    assertThat(c.get("write_key").asText()).hasSizeGreaterThanOrEqualTo(22);
    String url = c.at("/urls/webhook").asText();
    assertThat(url).isEqualTo(ingest + "/v1/webhooks/" + id);
    assertThat(post(url, "{\"a\":1}", Map.of())).isEqualTo(200);

    assertThat(
            adminCall("GET", "/v1/admin/connections", null)
                .json()
                .get("connections")
                .findValuesAsText("id"))
        .contains(id);
    assertThat(
            adminCall("GET", "/v1/admin/connections/" + id, null).json().get("batch_size").asInt())
        .isEqualTo(10);
    assertThat(
            adminCall("PATCH", "/v1/admin/connections/" + id, "{\"batch_size\":20}")
                .json()
                .get("batch_size")
                .asInt())
        .isEqualTo(20);
    assertError(
        adminCall("PATCH", "/v1/admin/connections/" + id, "{\"kind\":\"segment\"}"),
        400,
        "immutable_field");
    assertError(
        adminCall("PATCH", "/v1/admin/connections/" + id, "{\"batch_size\":0}"),
        400,
        "invalid_field");
    assertError(
        adminCall("PATCH", "/v1/admin/connections/" + id, "{\"colour\":1}"), 400, "unknown_field");

    String oldKey = c.get("write_key").asText();
    Reply rotated = adminCall("POST", "/v1/admin/connections/" + id + "/rotate-write-key", null);
    assertThat(rotated.json().get("write_key").asText())
        .isNotEqualTo(oldKey)
        .hasSizeGreaterThanOrEqualTo(22);

    assertThat(adminCall("DELETE", "/v1/admin/connections/" + id, null).status()).isEqualTo(204);
    assertError(adminCall("GET", "/v1/admin/connections/" + id, null), 404, "connection_not_found");
    assertThat(post(url, "{\"a\":2}", Map.of())).isEqualTo(404);
    // What it had accepted is still loaded after the delete.
    node.system(); // the node keeps the tombstone; the buffer flushes on its interval
  }

  @Test
  void segmentAndSnowplowConnectionsGetTheirExactIngestionUrls() throws Exception {
    String destination = duckdbDestination("tracking_wh");
    Reply segment =
        adminCall(
            "POST",
            "/v1/admin/connections",
            "{\"name\":\"Web App\",\"kind\":\"segment\","
                + "\"destination_id\":\""
                + destination
                + "\"}");
    assertThat(segment.status()).as(segment.text()).isEqualTo(201);
    assertThat(segment.json().get("schema").asText()).isEqualTo("web_app");
    assertThat(segment.json().get("table").isNull()).isTrue();
    assertThat(segment.json().at("/urls/batch").asText()).isEqualTo(ingest + "/v1/batch");
    assertThat(segment.json().at("/urls/endpoint").asText()).isEqualTo(ingest);
    String track = "{\"userId\":\"u\",\"event\":\"E\"}";
    String oldKey = segment.json().get("write_key").asText();
    Function<String, String> basic =
        k ->
            "Basic "
                + Base64.getEncoder().encodeToString((k + ":").getBytes(StandardCharsets.UTF_8));
    assertThat(post(ingest + "/v1/track", track, Map.of("Authorization", basic.apply(oldKey))))
        .isEqualTo(200);
    String newKey =
        adminCall(
                "POST",
                "/v1/admin/connections/" + segment.json().get("id").asText() + "/rotate-write-key",
                null)
            .json()
            .get("write_key")
            .asText();
    assertThat(post(ingest + "/v1/track", track, Map.of("Authorization", basic.apply(oldKey))))
        .as("the old write key stops working at once")
        .isEqualTo(401);
    assertThat(post(ingest + "/v1/track", track, Map.of("Authorization", basic.apply(newKey))))
        .isEqualTo(200);
    Reply snowplow =
        adminCall(
            "POST",
            "/v1/admin/connections",
            "{\"name\":\"Site\",\"kind\":\"snowplow\","
                + "\"destination_id\":\""
                + destination
                + "\",\"app_id\":\"site-web\"}");
    String id = snowplow.json().get("id").asText();
    assertThat(snowplow.json().at("/urls/tp2").asText())
        .isEqualTo(ingest + "/s/" + id + "/com.snowplowanalytics.snowplow/tp2");
    assertThat(snowplow.json().at("/urls/tp2_by_app_id").asText())
        .isEqualTo(ingest + "/com.snowplowanalytics.snowplow/tp2");
    assertError(
        adminCall(
            "POST",
            "/v1/admin/connections",
            "{\"name\":\"Site 2\",\"kind\":\"snowplow\","
                + "\"destination_id\":\""
                + destination
                + "\",\"app_id\":\"site-web\"}"),
        409,
        "app_id_in_use");
  }

  @Test
  void invalidConnectionsAreRefusedNamingTheField() throws Exception {
    String destination = duckdbDestination("bad_conn_wh");
    assertError(
        adminCall(
            "POST",
            "/v1/admin/connections",
            "{\"name\":\"x\",\"kind\":\"connector\",\"destination_id\":\"" + destination + "\"}"),
        400,
        "invalid_field");
    // A connector connection names an uploaded jar and one of its classes.
    assertError(
        adminCall(
            "POST",
            "/v1/admin/connections",
            "{\"name\":\"x\",\"kind\":\"connector\",\"destination_id\":\""
                + destination
                + "\",\"connector\":{\"jar\":\""
                + "0".repeat(64)
                + "\",\"class\":\"a.B\"}}"),
        400,
        "invalid_field");
    assertError(
        adminCall(
            "POST",
            "/v1/admin/connections",
            "{\"name\":\"x\",\"kind\":\"webhook\",\"destination_id\":\""
                + destination
                + "\",\"columns\":{}}"),
        400,
        "invalid_field");
    assertError(
        adminCall(
            "POST",
            "/v1/admin/connections",
            "{\"name\":\"x\",\"kind\":\"pigeon\",\"destination_id\":\"" + destination + "\"}"),
        400,
        "invalid_field");
    assertError(
        adminCall(
            "POST",
            "/v1/admin/connections",
            "{\"name\":\"x\",\"kind\":\"webhook\",\"destination_id\":\"d_missing\"}"),
        400,
        "destination_not_found");
    assertError(
        adminCall(
            "POST",
            "/v1/admin/connections",
            "{\"name\":\"x\",\"kind\":\"webhook\",\"destination_id\":\""
                + destination
                + "\",\"schema\":\"Bad-Schema\"}"),
        400,
        "invalid_field");
    assertError(
        adminCall(
            "POST",
            "/v1/admin/connections",
            "{\"name\":\"x\",\"kind\":\"webhook\",\"destination_id\":\""
                + destination
                + "\",\"surprise\":true}"),
        400,
        "unknown_field");
    assertError(
        adminCall(
            "POST",
            "/v1/admin/connections",
            "{\"kind\":\"webhook\",\"destination_id\":\"" + destination + "\"}"),
        400,
        "invalid_field");
    assertError(
        adminCall("GET", "/v1/admin/connections/c_nope/dead-letters?limit=0", null),
        404,
        "connection_not_found");
  }

  @Test
  void statusSyncDeadLettersAndResyncReflectWhatHappened() throws Exception {
    String destination = duckdbDestination("status_wh");
    JsonNode c = webhookConnection(destination, ",\"batch_interval_seconds\":1,\"partitions\":2");
    String id = c.get("id").asText();
    String url = c.at("/urls/webhook").asText();
    assertThat(post(url, "[{\"n\":1},{\"n\":2},3,{\"n\":4}]", Map.of())).isEqualTo(200);
    assertThat(post(url, "{\"n\":5}", Map.of())).isEqualTo(200);

    JsonNode staged =
        awaitStatus(
            id,
            s ->
                s.get("buffered_events").asInt() == 0
                    && s.get("staged_batches_pending").asInt() > 0);
    assertThat(staged.get("loaded_rows_total").asInt()).isZero();
    assertThat(staged.get("accepted_total").asInt()).isEqualTo(4);
    assertThat(staged.get("last_flush_at").isTextual()).isTrue();
    assertThat(staged.get("dead_letters_total").asInt()).isEqualTo(1);

    Reply sync = adminCall("POST", "/v1/admin/connections/" + id + "/sync", null);
    assertThat(sync.status()).isEqualTo(202);
    // 4 event rows and 1 row in _weir_dead_letters: every rejection is loaded too.
    JsonNode loaded = awaitStatus(id, s -> s.get("loaded_rows_total").asInt() == 5);
    assertThat(loaded.get("staged_batches_pending").asInt()).isZero();
    assertThat(loaded.get("last_sync_at").isTextual()).isTrue();
    assertThat(loaded.get("state").asText()).isEqualTo("active");

    Reply dead = adminCall("GET", "/v1/admin/connections/" + id + "/dead-letters?limit=10", null);
    assertThat(dead.json().get("dead_letters"))
        .singleElement()
        .satisfies(
            d -> {
              assertThat(d.get("code").asText()).isEqualTo("not_an_object");
              assertThat(d.get("payload").asText()).isEqualTo("3");
              assertThat(d.get("received_at").isTextual()).isTrue();
            });
    assertError(
        adminCall("GET", "/v1/admin/connections/" + id + "/dead-letters?limit=abc", null),
        400,
        "invalid_parameter");

    String schema = c.get("schema").asText();
    Path warehouse = dataDir.resolve("status_wh.duckdb");
    assertThat(rows(warehouse, schema)).isEqualTo(4);
    assertThat(deadLetterRows(warehouse, schema)).containsExactly("not_an_object|3");
    assertError(
        adminCall("POST", "/v1/admin/connections/" + id + "/resync", "{\"tables\":[\"nope\"]}"),
        400,
        "invalid_field");
    assertError(
        adminCall("POST", "/v1/admin/connections/" + id + "/resync", "{\"from\":\"yesterday\"}"),
        400,
        "invalid_field");
    String today = LocalDate.now(ZoneOffset.UTC).toString();
    Reply resync =
        adminCall(
            "POST",
            "/v1/admin/connections/" + id + "/resync",
            "{\"tables\":[\"events\"],\"from\":\"" + today + "\",\"to\":\"" + today + "\"}");
    assertThat(resync.status()).as(resync.text()).isEqualTo(202);
    eventually(
        Duration.ofSeconds(20),
        () ->
            assertThat(
                    logs.list.stream()
                        .anyMatch(
                            e -> e.getFormattedMessage().startsWith("Resync of connection " + id)))
                .isTrue());
    assertThat(rows(warehouse, schema)).as("a resync equals the original load").isEqualTo(4);
  }

  @Test
  void patchingTheBatchSizeWhileIngestingAppliesAtOnceAndLosesNothing() throws Exception {
    String destination = duckdbDestination("patch_wh");
    JsonNode c =
        webhookConnection(
            destination,
            ",\"batch_size\":100000,\"batch_interval_seconds\":3600," + "\"partitions\":1");
    String id = c.get("id").asText();
    String url = c.at("/urls/webhook").asText();
    int sent = 0;
    for (int i = 0; i < 30; i++, sent += 10)
      assertThat(post(url, batch(sent, 10), Map.of())).isEqualTo(200);
    assertThat(awaitStatus(id, s -> true).get("buffered_events").asInt()).isEqualTo(300);

    assertThat(adminCall("PATCH", "/v1/admin/connections/" + id, "{\"batch_size\":50}").status())
        .isEqualTo(200);
    for (int i = 0; i < 50; i++, sent += 10)
      assertThat(post(url, batch(sent, 10), Map.of())).isEqualTo(200);
    // The new size flushed the backlog: what is left is below it, waiting for the (one hour)
    // interval.
    JsonNode afterSize = awaitStatus(id, s -> s.get("buffered_events").asInt() < 50);
    assertThat(afterSize.get("accepted_total").asInt()).isEqualTo(sent);
    // A shorter interval applies live too and flushes the rest.
    assertThat(
            adminCall("PATCH", "/v1/admin/connections/" + id, "{\"batch_interval_seconds\":1}")
                .status())
        .isEqualTo(200);
    awaitStatus(id, s -> s.get("buffered_events").asInt() == 0);
    adminCall("POST", "/v1/admin/connections/" + id + "/sync", null);
    int total = sent;
    awaitStatus(id, s -> s.get("loaded_rows_total").asInt() == total);
    assertThat(rows(dataDir.resolve("patch_wh.duckdb"), c.get("schema").asText())).isEqualTo(total);
  }

  private static String batch(int from, int n) {
    StringBuilder sb = new StringBuilder("[");
    for (int i = 0; i < n; i++)
      sb.append(i == 0 ? "" : ",").append("{\"seq\":").append(from + i).append('}');
    return sb.append(']').toString();
  }

  private static List<String> deadLetterRows(Path warehouse, String schema) throws Exception {
    Properties p = new Properties();
    p.setProperty("duckdb.read_only", "true");
    List<String> out = new ArrayList<>();
    try (Connection c = DriverManager.getConnection("jdbc:duckdb:" + warehouse, p);
        ResultSet rs =
            c.createStatement()
                .executeQuery("SELECT code, payload FROM " + schema + "._weir_dead_letters")) {
      while (rs.next()) out.add(rs.getString(1) + "|" + rs.getString(2));
    }
    return out;
  }

  private static long rows(Path warehouse, String schema) {
    Properties p = new Properties();
    p.setProperty("duckdb.read_only", "true");
    long[] distinctAndAll = new long[2];
    // Retried while a load holds the file locked; the counts themselves are asserted once, below.
    eventually(
        Duration.ofSeconds(5),
        () -> {
          try (Connection c = DriverManager.getConnection("jdbc:duckdb:" + warehouse, p);
              ResultSet rs =
                  c.createStatement()
                      .executeQuery(
                          "SELECT count(DISTINCT event_id), count(*) FROM " + schema + ".events")) {
            rs.next();
            distinctAndAll[0] = rs.getLong(1);
            distinctAndAll[1] = rs.getLong(2);
          }
        });
    assertThat(distinctAndAll[0]).isEqualTo(distinctAndAll[1]);
    return distinctAndAll[0];
  }

  // ---- cluster and metrics ----

  @Test
  void clusterShowsThisNodeUpWithItsShards() throws Exception {
    Reply r = adminCall("GET", "/v1/admin/cluster", null);
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.json().get("members"))
        .singleElement()
        .satisfies(m -> assertThat(m.get("status").asText()).isEqualTo("Up"));
    assertThat(r.json().get("self_address").asText()).startsWith("akka://weir@127.0.0.1:");
    assertThat(
            r.json().get("shards").get(r.json().get("self_address").asText()).has("WeirRegistry"))
        .isTrue();
  }

  @Test
  void metricsArePrometheusTextAndNeedTheToken() throws Exception {
    String destination = duckdbDestination("metrics_wh");
    String url = webhookConnection(destination, "").at("/urls/webhook").asText();
    String id = url.substring(url.lastIndexOf('/') + 1);
    assertThat(post(url, "[{\"m\":1},{\"m\":2},{\"m\":3}]", Map.of())).isEqualTo(200);
    assertError(call("GET", admin + "/metrics", null, null), 401, "unauthorized");
    Reply m = adminCall("GET", "/metrics", null);
    assertThat(m.raw().headers().firstValue("Content-Type").orElse("")).startsWith("text/plain");
    assertThat(m.text())
        .contains("# TYPE weir_ingest_events_total counter")
        .contains("weir_ingest_events_total{connection=\"" + id + "\"} 3")
        .contains("# TYPE weir_journal_write_seconds histogram")
        .contains("weir_journal_write_seconds_bucket{le=\"+Inf\"}");
  }

  // ---- secrets ----

  @Test
  void secretsNeverAppearInResponsesLogsOrTheJournal() throws Exception {
    String destination = duckdbDestination("secret_wh");
    JsonNode c = webhookConnection(destination, ",\"signing_secret\":\"" + SIGNING_SECRET + "\"");
    String id = c.get("id").asText();
    assertThat(c.get("signing_secret").asText()).isEqualTo("********");
    String url = c.at("/urls/webhook").asText();
    byte[] body = "{\"signed\":true}".getBytes(StandardCharsets.UTF_8);
    assertThat(
            post(
                url,
                "{\"signed\":true}",
                Map.of(WebhookSignature.HEADER, WebhookSignature.sign(SIGNING_SECRET, body))))
        .isEqualTo(200);
    assertThat(post(url, "{\"signed\":true}", Map.of())).isEqualTo(401);

    // A PATCH that sends the mask keeps the stored secret.
    assertThat(
            adminCall(
                    "PATCH",
                    "/v1/admin/connections/" + id,
                    "{\"signing_secret\":\"********\",\"batch_size\":7}")
                .json()
                .get("signing_secret")
                .asText())
        .isEqualTo("********");
    assertThat(
            post(
                url,
                "{\"signed\":true}",
                Map.of(WebhookSignature.HEADER, WebhookSignature.sign(SIGNING_SECRET, body))))
        .isEqualTo(200);
    // A destination with a password: stored sealed, answered masked, kept by a PATCH that sends the
    // mask.
    Reply pg =
        adminCall(
            "POST",
            "/v1/admin/destinations",
            "{\"name\":\"pg\",\"type\":\"postgres\",\"config\":{"
                + "\"url\":\"jdbc:postgresql://db:5432/x\",\"user\":\"u\",\"password\":\""
                + PG_PASSWORD
                + "\"}}");
    assertThat(pg.status()).as(pg.text()).isEqualTo(201);
    assertThat(pg.json().at("/config/password").asText()).isEqualTo("********");
    String pgId = pg.json().get("id").asText();
    Reply patched =
        adminCall(
            "PATCH",
            "/v1/admin/destinations/" + pgId,
            "{\"config\":{\"password\":\"********\",\"schema_prefix\":\"weir_\"}}");
    assertThat(patched.json().at("/config/password").asText()).isEqualTo("********");
    assertThat(patched.json().at("/config/schema_prefix").asText()).isEqualTo("weir_");
    String sealed = node.directory().destination(pgId).orElseThrow().config().get("password");
    assertThat(sealed).startsWith("enc:v1:").doesNotContain(PG_PASSWORD);

    assertThat(bodies).noneMatch(b -> b.contains(SIGNING_SECRET) || b.contains(PG_PASSWORD));
    assertThat(logs.list)
        .noneMatch(
            e ->
                e.getFormattedMessage().contains(SIGNING_SECRET)
                    || e.getFormattedMessage().contains(PG_PASSWORD));
    JournalDatabase db = JournalDatabase.h2File(dataDir);
    int rows = 0;
    try (Connection h2 = DriverManager.getConnection(db.url(), db.user(), db.password())) {
      for (String sql :
          List.of(
              "SELECT \"event_payload\" FROM \"event_journal\"",
              "SELECT \"snapshot_payload\" FROM \"snapshot\"")) {
        try (ResultSet rs = h2.createStatement().executeQuery(sql)) {
          while (rs.next()) {
            String raw = new String(rs.getBytes(1), StandardCharsets.ISO_8859_1);
            assertThat(raw).doesNotContain(SIGNING_SECRET).doesNotContain(PG_PASSWORD);
            rows++;
          }
        }
      }
    }
    assertThat(rows).as("journal rows searched").isPositive();
  }
}
