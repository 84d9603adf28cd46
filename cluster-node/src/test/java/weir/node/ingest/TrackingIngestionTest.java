package weir.node.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static weir.node.Eventually.eventually;

import com.rudderstack.sdk.java.analytics.RudderAnalytics;
import com.segment.analytics.Analytics;
import com.segment.analytics.Callback;
import com.segment.analytics.messages.AliasMessage;
import com.segment.analytics.messages.GroupMessage;
import com.segment.analytics.messages.IdentifyMessage;
import com.segment.analytics.messages.Message;
import com.segment.analytics.messages.PageMessage;
import com.segment.analytics.messages.ScreenMessage;
import com.segment.analytics.messages.TrackMessage;
import com.snowplowanalytics.snowplow.tracker.Snowplow;
import com.snowplowanalytics.snowplow.tracker.Tracker;
import com.snowplowanalytics.snowplow.tracker.configuration.EmitterConfiguration;
import com.snowplowanalytics.snowplow.tracker.configuration.NetworkConfiguration;
import com.snowplowanalytics.snowplow.tracker.configuration.SubjectConfiguration;
import com.snowplowanalytics.snowplow.tracker.configuration.TrackerConfiguration;
import com.snowplowanalytics.snowplow.tracker.emitter.EmitterCallback;
import com.snowplowanalytics.snowplow.tracker.emitter.FailureType;
import com.snowplowanalytics.snowplow.tracker.events.PageView;
import com.snowplowanalytics.snowplow.tracker.events.SelfDescribing;
import com.snowplowanalytics.snowplow.tracker.events.Structured;
import com.snowplowanalytics.snowplow.tracker.payload.SelfDescribingJson;
import com.snowplowanalytics.snowplow.tracker.payload.TrackerPayload;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import weir.node.DuckDbRows;
import weir.node.TestNodes;
import weir.node.WeirNode;
import weir.node.admin.ConnectionStatusQuery;
import weir.persistence.registry.Connection;
import weir.persistence.registry.ConnectionKind;

/**
 * Segment and Snowplow ingestion against a running node (the demo connections it creates on first
 * start): the unmodified Segment Java library and Snowplow Java tracker land their events in the
 * right DuckDB tables and columns, and every error case of the two APIs answers as API.md says.
 */
class TrackingIngestionTest {
  private static WeirNode node;
  private static Path dataDir;
  private static String base;

  @BeforeAll
  static void start() throws Exception {
    dataDir = Files.createTempDirectory("weir-clients-test");
    node =
        TestNodes.inProcess(
            dataDir,
            Map.of("weir.demo.batch-interval-seconds", 1, "weir.demo.sync-interval-seconds", 1));
    base = "http://127.0.0.1:" + node.ingestPort();
  }

  @AfterAll
  static void stop() throws Exception {
    node.stop(Duration.ofSeconds(30));
  }

  private static String demoWriteKey() {
    return node.directory().connections().values().stream()
        .filter(c -> c.kind() == ConnectionKind.segment)
        .findFirst()
        .orElseThrow()
        .writeKey();
  }

  @Test
  void theSegmentJavaLibraryLandsEveryCallTypeInItsTables() throws Exception {
    CountDownLatch delivered = new CountDownLatch(6);
    List<Throwable> failures = new ArrayList<>();
    Analytics analytics =
        Analytics.builder(demoWriteKey())
            .endpoint(base)
            .flushQueueSize(6)
            .callback(
                new Callback() {
                  @Override
                  public void success(Message message) {
                    delivered.countDown();
                  }

                  @Override
                  public void failure(Message message, Throwable throwable) {
                    failures.add(throwable);
                    delivered.countDown();
                  }
                })
            .build();
    analytics.enqueue(
        IdentifyMessage.builder()
            .userId("seg-u1")
            .traits(Map.of("email", "ada@example.com", "plan", "pro")));
    analytics.enqueue(
        TrackMessage.builder("Order Completed")
            .userId("seg-u1")
            .properties(Map.of("revenue", 39.95, "sku", "SKU-1", "items", 2)));
    analytics.enqueue(
        PageMessage.builder("Pricing")
            .anonymousId("seg-a1")
            .properties(Map.of("path", "/pricing")));
    analytics.enqueue(ScreenMessage.builder("Home").userId("seg-u1"));
    analytics.enqueue(
        GroupMessage.builder("grp-9").userId("seg-u1").traits(Map.of("name", "Initech")));
    analytics.enqueue(AliasMessage.builder("seg-a1").userId("seg-u1"));
    analytics.flush();
    assertThat(delivered.await(30, TimeUnit.SECONDS)).isTrue();
    analytics.shutdown();
    assertThat(failures).isEmpty();

    // One invalid message in a raw batch: a dead letter with its reason, the rest accepted.
    HttpResponse<String> partial =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create(base + "/v1/batch"))
                    .header("Content-Type", "application/json")
                    .POST(
                        HttpRequest.BodyPublishers.ofString(
                            "{\"writeKey\":\""
                                + demoWriteKey()
                                + "\",\"batch\":[{\"type\":\"track\",\"userId\":\"seg-u2\"},"
                                + "{\"type\":\"track\",\"userId\":\"seg-u2\",\"event\":\"Signed Up\"}]}"))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(partial.statusCode()).isEqualTo(200);
    assertThat(partial.body()).contains("\"accepted\":1").contains("missing_event");

    awaitRows("SELECT count(*) FROM demo_segment.tracks", 2);
    awaitRows("SELECT count(*) FROM demo_segment.aliases", 1);
    assertThat(query("SELECT user_id, revenue, sku, items FROM demo_segment.order_completed"))
        .containsExactly("seg-u1|39.95|SKU-1|2");
    assertThat(
            query(
                "SELECT data_type FROM information_schema.columns WHERE table_schema = 'demo_segment' AND "
                    + "table_name = 'order_completed' AND column_name IN ('revenue', 'items') ORDER BY column_name"))
        .containsExactly("BIGINT", "DOUBLE");
    assertThat(
            query(
                "SELECT event, user_id, context->>'$.library.name', original_timestamp IS NOT NULL, "
                    + "sent_at IS NOT NULL FROM demo_segment.tracks WHERE event = 'Order Completed'"))
        .containsExactly("Order Completed|seg-u1|analytics-java|true|true");
    assertThat(
            query(
                "SELECT traits->>'$.plan', traits->>'$.email' FROM demo_segment.users WHERE user_id = 'seg-u1'"))
        .containsExactly("pro|ada@example.com");
    assertThat(query("SELECT event, anonymous_id, properties->>'$.path' FROM demo_segment.pages"))
        .containsExactly("Pricing|seg-a1|/pricing");
    assertThat(query("SELECT event FROM demo_segment.screens")).containsExactly("Home");
    assertThat(
            query("SELECT properties->>'$.group_id', traits->>'$.name' FROM demo_segment.groups"))
        .containsExactly("grp-9|Initech");
    assertThat(query("SELECT properties->>'$.previous_id', user_id FROM demo_segment.aliases"))
        .containsExactly("seg-a1|seg-u1");
    assertThat(query("SELECT count(*) FROM demo_segment.signed_up")).containsExactly("1");
    awaitRows(
        "SELECT count(*) FROM demo_segment._weir_dead_letters WHERE code = 'missing_event'", 1);
    assertThat(
            query(
                "SELECT message, payload FROM demo_segment._weir_dead_letters WHERE code = 'missing_event' "
                    + "AND payload LIKE '%seg-u2%'"))
        .containsExactly(
            "A track message needs an 'event' name.|{\"type\":\"track\",\"userId\":\"seg-u2\"}");
  }

  @Test
  void rudderStacksJavaSdkWhichGzipsItsBodiesLandsItsEventsAndATrackCountsAsOneEvent()
      throws Exception {
    String id = "c_rudder";
    node.directory()
        .create(
            new Connection(
                id,
                "rudder",
                ConnectionKind.segment,
                node.directory().connections().values().stream()
                    .filter(c -> c.kind() == ConnectionKind.segment)
                    .findFirst()
                    .orElseThrow()
                    .destinationId(),
                "rudder_app",
                null,
                500,
                1,
                1,
                2,
                null,
                null,
                "rudder-write-key",
                null,
                System.currentTimeMillis(),
                0))
        .toCompletableFuture()
        .get(10, TimeUnit.SECONDS);
    CountDownLatch delivered = new CountDownLatch(3);
    List<Throwable> failures = new CopyOnWriteArrayList<>();
    RudderAnalytics rudder =
        RudderAnalytics.builder("rudder-write-key")
            .setDataPlaneUrl(base)
            .setGZIP(true)
            .flushQueueSize(3)
            .callback(
                new com.rudderstack.sdk.java.analytics.Callback() {
                  @Override
                  public void success(com.rudderstack.sdk.java.analytics.messages.Message message) {
                    delivered.countDown();
                  }

                  @Override
                  public void failure(
                      com.rudderstack.sdk.java.analytics.messages.Message message,
                      Throwable throwable) {
                    failures.add(throwable);
                    delivered.countDown();
                  }
                })
            .build();
    rudder.enqueue(
        com.rudderstack.sdk.java.analytics.messages.TrackMessage.builder("Checkout Started")
            .userId("rs-u1")
            .properties(Map.of("cart", 3)));
    rudder.enqueue(
        com.rudderstack.sdk.java.analytics.messages.TrackMessage.builder("Checkout Started")
            .userId("rs-u2")
            .properties(Map.of("cart", 1)));
    rudder.enqueue(
        com.rudderstack.sdk.java.analytics.messages.IdentifyMessage.builder()
            .userId("rs-u1")
            .traits(Map.of("plan", "team")));
    rudder.flush();
    assertThat(delivered.await(30, TimeUnit.SECONDS)).isTrue();
    rudder.shutdown();
    assertThat(failures).as("the SDK's gzip bodies are accepted").isEmpty();
    awaitRows("SELECT count(*) FROM rudder_app.checkout_started", 2);
    assertThat(query("SELECT user_id, cart FROM rudder_app.checkout_started ORDER BY 1"))
        .containsExactly("rs-u1|3", "rs-u2|1");
    awaitRows("SELECT count(*) FROM rudder_app.users", 1);
    var status =
        new ConnectionStatusQuery(node.system(), Duration.ofSeconds(5))
            .status(node.directory().cached(id).orElseThrow())
            .toCompletableFuture()
            .get(10, TimeUnit.SECONDS);
    // Two tracks (two rows each) and an identify (two rows): three events, six rows.
    assertThat(status.acceptedTotal()).as("events accepted").isEqualTo(3);
    assertThat(status.loadedEventsTotal()).as("events loaded").isEqualTo(3);
    assertThat(status.loadedRowsTotal()).as("rows loaded").isEqualTo(6);
  }

  @Test
  void theSnowplowJavaTrackerLandsPageViewsStructuredAndSelfDescribingEvents() throws Exception {
    AtomicInteger sent = new AtomicInteger();
    AtomicInteger failed = new AtomicInteger();
    EmitterCallback callback =
        new EmitterCallback() {
          @Override
          public void onSuccess(List<TrackerPayload> payloads) {
            sent.addAndGet(payloads.size());
          }

          @Override
          public void onFailure(
              FailureType type, boolean willRetry, List<TrackerPayload> payloads) {
            failed.addAndGet(payloads.size());
          }
        };
    Tracker tracker =
        Snowplow.createTracker(
            new TrackerConfiguration("weir-test", "weir-demo").base64Encoded(true),
            new NetworkConfiguration(base),
            new EmitterConfiguration().batchSize(3).callback(callback),
            new SubjectConfiguration().userId("sp-alice").domainUserId("duid-7"));
    SelfDescribingJson userContext =
        new SelfDescribingJson("iglu:com.acme/user/jsonschema/1-0-0", Map.of("tier", "gold"));
    tracker.track(
        PageView.builder()
            .pageUrl("https://shop.example/cart")
            .pageTitle("Cart")
            .referrer("https://google.com/")
            .customContext(List.of(userContext))
            .build());
    tracker.track(
        Structured.builder()
            .category("shop")
            .action("add-to-basket")
            .label("SKU-1")
            .value(2.0)
            .build());
    tracker.track(
        SelfDescribing.builder()
            .eventData(
                new SelfDescribingJson(
                    "iglu:com.acme/link_click/jsonschema/1-0-0",
                    Map.of("targetUrl", "https://a.example/x")))
            .build());
    // Until the emitter called back for all three, or a failure (asserted below) ends the wait.
    eventually(
        Duration.ofSeconds(30),
        () -> {
          if (failed.get() == 0) assertThat(sent.get()).isGreaterThanOrEqualTo(3);
        });
    tracker.close();
    assertThat(failed.get()).isZero();
    assertThat(sent.get()).isEqualTo(3);

    awaitRows("SELECT count(*) FROM demo_snowplow.tracks", 2);
    awaitRows("SELECT count(*) FROM demo_snowplow.pages", 1);
    assertThat(
            query(
                "SELECT type, user_id, anonymous_id, context->>'$.page.url', context->>'$.page.title', "
                    + "context->>'$.page.referrer', context->'$.snowplow_contexts'->0->'data'->>'tier', "
                    + "context->'$.snowplow'->>'aid' FROM demo_snowplow.pages"))
        .containsExactly(
            "page|sp-alice|duid-7|https://shop.example/cart|Cart|https://google.com/|gold|weir-demo");
    assertThat(
            query(
                "SELECT event, properties->>'$.category', properties->>'$.label', "
                    + "CAST(properties->>'$.value' AS DOUBLE) FROM demo_snowplow.tracks WHERE event = 'add-to-basket'"))
        .containsExactly("add-to-basket|shop|SKU-1|2.0");
    assertThat(
            query(
                "SELECT target_url, category FROM demo_snowplow.link_click, demo_snowplow.add_to_basket"))
        .containsExactly("https://a.example/x|shop");
  }

  private static final HttpClient http = HttpClient.newHttpClient();

  private static HttpResponse<byte[]> send(HttpRequest.Builder request) throws Exception {
    return http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  private static String text(HttpResponse<byte[]> r) {
    return new String(r.body(), StandardCharsets.UTF_8);
  }

  private static String basic(String user) {
    return "Basic " + Base64.getEncoder().encodeToString((user + ":").getBytes());
  }

  @Test
  void segmentAuthLimitsAndMalformedBodiesAnswerAsApiMdSays() throws Exception {
    String key = demoWriteKey();
    String ok = "{\"userId\":\"x\",\"event\":\"E\"}";
    HttpResponse<byte[]> noKey =
        send(
            HttpRequest.newBuilder(URI.create(base + "/v1/track"))
                .POST(HttpRequest.BodyPublishers.ofString(ok)));
    assertThat(noKey.statusCode()).isEqualTo(401);
    assertThat(text(noKey)).contains("invalid_write_key");
    HttpResponse<byte[]> wrongKey =
        send(
            HttpRequest.newBuilder(URI.create(base + "/v1/track"))
                .header("Authorization", basic("wrong"))
                .POST(HttpRequest.BodyPublishers.ofString(ok)));
    assertThat(wrongKey.statusCode()).isEqualTo(401);
    HttpResponse<byte[]> keyInBody =
        send(
            HttpRequest.newBuilder(URI.create(base + "/v1/track"))
                .POST(
                    HttpRequest.BodyPublishers.ofString(
                        "{\"writeKey\":\"" + key + "\",\"userId\":\"x\",\"event\":\"E\"}")));
    assertThat(text(keyInBody)).isEqualTo("{\"success\":true,\"accepted\":1,\"rejected\":[]}");
    HttpResponse<byte[]> invalid =
        send(
            HttpRequest.newBuilder(URI.create(base + "/v1/track"))
                .header("Authorization", basic(key))
                .POST(HttpRequest.BodyPublishers.ofString("{\"userId\":\"x\"}")));
    assertThat(invalid.statusCode()).isEqualTo(200);
    assertThat(text(invalid)).contains("\"accepted\":0").contains("missing_event");
    HttpResponse<byte[]> broken =
        send(
            HttpRequest.newBuilder(URI.create(base + "/v1/identify"))
                .header("Authorization", basic(key))
                .POST(HttpRequest.BodyPublishers.ofString("{oops")));
    assertThat(broken.statusCode()).isEqualTo(400);
    assertThat(text(broken)).contains("invalid_json");
    String huge =
        "{\"batch\":[{\"type\":\"track\",\"userId\":\"x\",\"event\":\"E\",\"properties\":{\"p\":\""
            + "x".repeat(600 * 1024)
            + "\"}}]}";
    HttpResponse<byte[]> tooBig =
        send(
            HttpRequest.newBuilder(URI.create(base + "/v1/batch"))
                .header("Authorization", basic(key))
                .POST(HttpRequest.BodyPublishers.ofString(huge)));
    assertThat(tooBig.statusCode()).isEqualTo(413);
    assertThat(text(tooBig)).contains("payload_too_large");
    HttpResponse<byte[]> getTrack =
        send(HttpRequest.newBuilder(URI.create(base + "/v1/track")).GET());
    assertThat(getTrack.statusCode()).isEqualTo(405);
  }

  @Test
  void theSnowplowCollectorAlwaysAnswersThePixelAndSpeaksCors() throws Exception {
    HttpResponse<byte[]> pixel =
        send(
            HttpRequest.newBuilder(
                    URI.create(
                        base
                            + "/com.snowplowanalytics.snowplow/i?e=pv&aid=weir-demo&eid=px-1&page=Pixel&duid=d1"))
                .GET());
    assertThat(pixel.statusCode()).isEqualTo(200);
    assertThat(pixel.headers().firstValue("Content-Type")).contains("image/gif");
    assertThat(pixel.body()).isEqualTo(SnowplowRoutes.PIXEL);
    HttpResponse<byte[]> rejected =
        send(HttpRequest.newBuilder(URI.create(base + "/i?e=zz&aid=weir-demo")).GET());
    assertThat(rejected.statusCode()).as("never break a page").isEqualTo(200);
    assertThat(rejected.body()).isEqualTo(SnowplowRoutes.PIXEL);

    HttpResponse<byte[]> preflight =
        send(
            HttpRequest.newBuilder(URI.create(base + "/com.snowplowanalytics.snowplow/tp2"))
                .header("Origin", "https://shop.example")
                .method("OPTIONS", HttpRequest.BodyPublishers.noBody()));
    assertThat(preflight.statusCode()).isEqualTo(200);
    assertThat(preflight.headers().firstValue("Access-Control-Allow-Origin"))
        .contains("https://shop.example");
    assertThat(preflight.headers().firstValue("Access-Control-Allow-Credentials")).contains("true");

    String snowplowId =
        node.directory().connections().values().stream()
            .filter(c -> c.kind() == ConnectionKind.snowplow)
            .findFirst()
            .orElseThrow()
            .id();
    HttpResponse<byte[]> prefixed =
        send(
            HttpRequest.newBuilder(
                    URI.create(base + "/s/" + snowplowId + "/com.snowplowanalytics.snowplow/tp2"))
                .header("Content-Type", "application/json")
                .header("Origin", "https://shop.example")
                .POST(
                    HttpRequest.BodyPublishers.ofString(
                        "{\"schema\":\"iglu:com.snowplowanalytics.snowplow/payload_data/"
                            + "jsonschema/1-0-4\",\"data\":[{\"e\":\"se\",\"se_ac\":\"prefixed\",\"eid\":\"px-2\"},"
                            + "{\"e\":\"se\",\"eid\":\"px-3\"}]}")));
    assertThat(prefixed.statusCode()).isEqualTo(200);
    assertThat(prefixed.headers().firstValue("Access-Control-Allow-Origin"))
        .contains("https://shop.example");
    assertThat(text(prefixed)).contains("\"accepted\":1").contains("missing_action");
    HttpResponse<byte[]> unknownApp =
        send(
            HttpRequest.newBuilder(URI.create(base + "/com.snowplowanalytics.snowplow/tp2"))
                .POST(
                    HttpRequest.BodyPublishers.ofString(
                        "{\"schema\":\"iglu:com.snowplowanalytics.snowplow/payload_data/"
                            + "jsonschema/1-0-4\",\"data\":[{\"e\":\"pv\",\"aid\":\"nobody\"}]}")));
    assertThat(text(unknownApp)).contains("unknown_app_id");
    HttpResponse<byte[]> notPayload =
        send(
            HttpRequest.newBuilder(URI.create(base + "/com.snowplowanalytics.snowplow/tp2"))
                .POST(HttpRequest.BodyPublishers.ofString("{\"data\":[]}")));
    assertThat(notPayload.statusCode()).isEqualTo(400);
    assertThat(text(notPayload)).contains("invalid_payload");

    // Both invalid events above (e=zz, the se without an action) are dead letters of the demo
    // connection.
    awaitRows("SELECT count(*) FROM demo_snowplow.tracks WHERE event = 'prefixed'", 1);
    var deadLetters =
        new ConnectionStatusQuery(node.system(), Duration.ofSeconds(5))
            .status(node.directory().cached(snowplowId).orElseThrow())
            .toCompletableFuture()
            .get(10, TimeUnit.SECONDS);
    assertThat(deadLetters.deadLettersTotal()).isGreaterThanOrEqualTo(2);
  }

  /** Retries while the table is not created yet, or the node is loading (an SQLException). */
  private static void awaitRows(String sql, int expected) {
    eventually(
        Duration.ofSeconds(30),
        () ->
            assertThat(Integer.parseInt(query(sql).get(0)))
                .as("waiting for " + sql)
                .isGreaterThanOrEqualTo(expected));
  }

  private static List<String> query(String sql) throws Exception {
    return DuckDbRows.query(dataDir.resolve("warehouse.duckdb"), sql);
  }
}
