package weir.node.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import akka.http.javadsl.model.ContentTypes;
import akka.http.javadsl.model.HttpEntities;
import akka.http.javadsl.model.HttpRequest;
import akka.http.javadsl.model.headers.RawHeader;
import akka.http.javadsl.server.Directives;
import akka.http.javadsl.server.Route;
import akka.http.javadsl.testkit.JUnitRouteTest;
import akka.http.javadsl.testkit.TestRouteResult;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.zip.DeflaterOutputStream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import weir.node.http.ApiErrors;
import weir.node.metrics.NodeMetrics;
import weir.persistence.registry.Connection;
import weir.persistence.registry.ConnectionKind;
import weir.protocol.Json;
import weir.protocol.Rejection;
import weir.protocol.StagedRow;
import weir.protocol.webhook.WebhookSignature;

/** The webhook route against Akka HTTP's route test kit, with an in-memory gateway and registry. */
class WebhookRoutesTest extends JUnitRouteTest {

  /** Records accepted requests; answers with {@link #next}. */
  static final class FakeIngest implements IngestGateway {
    final List<List<StagedRow>> requests = new CopyOnWriteArrayList<>();
    final List<List<Rejection>> deadLetters = new CopyOnWriteArrayList<>();
    volatile Outcome next;

    @Override
    public CompletionStage<Outcome> accept(Connection connection, IngestBatch batch) {
      if (next != null) return CompletableFuture.completedFuture(next);
      requests.add(batch.rows());
      deadLetters.add(batch.rejections());
      return CompletableFuture.completedFuture(new Accepted(batch.rows().size()));
    }
  }

  private static Connection connection(String id, ConnectionKind kind, String secret) {
    return new Connection(
        id, id, kind, "d1", "demo", "events", 500, 60, 900, 4, secret, null, "wk", null, 0, 0);
  }

  private final Map<String, Connection> registry =
      Map.of(
          "open", connection("open", ConnectionKind.webhook, null),
          "signed", connection("signed", ConnectionKind.webhook, "sealed:s3cret"),
          "seg", connection("seg", ConnectionKind.segment, null));
  private final FakeIngest ingest = new FakeIngest();
  private final FakeLookup lookup = new FakeLookup(registry);

  @BeforeEach
  void start() {
    systemResource().before();
  }

  @AfterEach
  void stop() {
    systemResource().after();
  }

  private Route route() {
    IngestSettings settings =
        new IngestSettings(
            1024, Duration.ofSeconds(3), Duration.ofSeconds(3), Duration.ofSeconds(2), 4);
    WebhookRoutes routes =
        new WebhookRoutes(
            lookup,
            new IngestService(ingest, settings, materializer(), new NodeMetrics()),
            value -> value.replace("sealed:", ""));
    return Directives.handleExceptions(
        ApiErrors.exceptionHandler(),
        () -> Directives.handleRejections(ApiErrors.rejectionHandler(), routes::route));
  }

  private TestRouteResult post(String id, String contentType, String body) {
    HttpRequest request = HttpRequest.POST("/v1/webhooks/" + id);
    if (contentType != null) {
      request =
          request.withEntity(
              HttpEntities.create(
                  ContentTypes.parse(contentType), body.getBytes(StandardCharsets.UTF_8)));
    } else {
      request = request.withEntity(body.getBytes(StandardCharsets.UTF_8));
    }
    return testRoute(route()).run(request);
  }

  private static JsonNode json(TestRouteResult r) throws Exception {
    assertThat(r.response().entity().getContentType()).isEqualTo(ContentTypes.APPLICATION_JSON);
    return Json.MAPPER.readTree(r.entityString());
  }

  private static void assertError(TestRouteResult r, int status, String code) throws Exception {
    r.assertStatusCode(status);
    JsonNode body = json(r);
    assertThat(body.at("/error/code").asText()).isEqualTo(code);
    assertThat(body.at("/error/message").asText()).isNotBlank();
  }

  @Test
  void acceptsAnObjectAnArrayNdjsonAndAForm() throws Exception {
    TestRouteResult one = post("open", "application/json", "{\"a\":1}");
    one.assertStatusCode(200);
    assertThat(json(one).get("accepted").asInt()).isEqualTo(1);
    assertThat(json(one).get("rejected")).isEmpty();

    post("open", "application/json; charset=UTF-8", "[{\"a\":1},{\"a\":2}]").assertStatusCode(200);
    post("open", "application/x-ndjson", "{\"a\":3}\n{\"a\":4}\n{\"a\":5}\n").assertStatusCode(200);
    post("open", "application/x-www-form-urlencoded", "a=6&b=x").assertStatusCode(200);
    assertThat(ingest.requests).extracting(List::size).containsExactly(1, 2, 3, 1);
  }

  @Test
  void nonObjectElementsAreRejectedOneByOneAndKeptAsDeadLetters() throws Exception {
    TestRouteResult r = post("open", "application/json", "[{\"a\":1}, 7, {\"a\":2}]");
    r.assertStatusCode(200);
    JsonNode body = json(r);
    assertThat(body.get("accepted").asInt()).isEqualTo(2);
    assertThat(body.get("rejected")).hasSize(1);
    assertThat(body.at("/rejected/0/index").asInt()).isEqualTo(1);
    assertThat(body.at("/rejected/0/code").asText()).isEqualTo("not_an_object");
    assertThat(ingest.deadLetters.get(0))
        .singleElement()
        .satisfies(d -> assertThat(d.payload()).isEqualTo("7"));
  }

  @Test
  void anEmptyArrayIsAcceptedWithoutTouchingTheJournal() throws Exception {
    TestRouteResult r = post("open", "application/json", "[]");
    r.assertStatusCode(200);
    assertThat(json(r).get("accepted").asInt()).isZero();
    assertThat(ingest.requests).isEmpty();
  }

  @Test
  void unparseableBodiesAre400AndNothingIsAccepted() throws Exception {
    assertError(post("open", "application/json", "{\"a\":"), 400, "invalid_json");
    assertError(post("open", "application/x-ndjson", "{\"a\":1}\nnope\n"), 400, "invalid_json");
    assertError(post("open", "application/json", ""), 400, "empty_body");
    assertError(post("open", "application/x-www-form-urlencoded", "a=%G1"), 400, "invalid_form");
    assertThat(ingest.requests).isEmpty();
  }

  @Test
  void unknownConnectionsAndConnectionsOfAnotherKindAre404() throws Exception {
    assertError(post("nope", "application/json", "{}"), 404, "connection_not_found");
    assertError(post("seg", "application/json", "{}"), 404, "connection_not_found");
  }

  @Test
  void otherContentTypesAre415() throws Exception {
    assertError(post("open", "text/plain; charset=UTF-8", "{}"), 415, "unsupported_media_type");
    assertError(post("open", null, "{}"), 415, "unsupported_media_type");
  }

  @Test
  void bodiesOverTheLimitAre413() throws Exception {
    String big = "{\"x\":\"" + "a".repeat(2000) + "\"}";
    assertError(post("open", "application/json", big), 413, "payload_too_large");
    assertThat(ingest.requests).isEmpty();
  }

  @Test
  void signedConnectionsNeedAValidSignature() throws Exception {
    String body = "{\"a\":1}";
    assertError(post("signed", "application/json", body), 401, "missing_signature");

    HttpRequest wrong =
        HttpRequest.POST("/v1/webhooks/signed")
            .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, body))
            .addHeader(
                RawHeader.create(
                    WebhookSignature.HEADER, WebhookSignature.sign("other", body.getBytes())));
    assertError(testRoute(route()).run(wrong), 401, "invalid_signature");

    HttpRequest right =
        HttpRequest.POST("/v1/webhooks/signed")
            .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, body))
            .addHeader(
                RawHeader.create(
                    WebhookSignature.HEADER, WebhookSignature.sign("s3cret", body.getBytes())));
    testRoute(route()).run(right).assertStatusCode(200);
    assertThat(ingest.requests).hasSize(1);
  }

  @Test
  void theEventIdHeaderNamesASingleEvent() {
    HttpRequest r =
        HttpRequest.POST("/v1/webhooks/open")
            .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, "{\"a\":1}"))
            .addHeader(RawHeader.create("X-Event-Id", "evt-42"));
    testRoute(route()).run(r).assertStatusCode(200);
    assertThat(ingest.requests.get(0).get(0).eventId()).isEqualTo("evt-42");
  }

  @Test
  void overloadAndJournalTroubleAre503WithRetryAfter() throws Exception {
    ingest.next = new IngestGateway.Overloaded();
    TestRouteResult overloaded = post("open", "application/json", "{}");
    assertError(overloaded, 503, "overloaded");
    assertThat(overloaded.response().getHeader("Retry-After").map(h -> h.value())).contains("2");

    ingest.next = new IngestGateway.Unavailable("ask timeout");
    TestRouteResult unavailable = post("open", "application/json", "{}");
    assertError(unavailable, 503, "journal_unavailable");
    assertThat(unavailable.response().getHeader("Retry-After")).isPresent();

    ingest.next = null;
    lookup.down = true;
    assertError(post("open", "application/json", "{}"), 503, "registry_unavailable");
  }

  private TestRouteResult postEncoded(String encoding, byte[] body) {
    return testRoute(route())
        .run(
            HttpRequest.POST("/v1/webhooks/open")
                .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, body))
                .addHeader(RawHeader.create("Content-Encoding", encoding)));
  }

  private static byte[] gzip(byte[] data) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
      gz.write(data);
    }
    return out.toByteArray();
  }

  @Test
  void gzipAndDeflateBodiesAreDecodedAndTheLimitAppliesToTheDecodedSize() throws Exception {
    TestRouteResult gz =
        postEncoded("gzip", gzip("[{\"a\":1},{\"a\":2}]".getBytes(StandardCharsets.UTF_8)));
    gz.assertStatusCode(200);
    assertThat(json(gz).get("accepted").asInt()).isEqualTo(2);
    ByteArrayOutputStream zlib = new ByteArrayOutputStream();
    try (var out = new DeflaterOutputStream(zlib)) {
      out.write("{\"b\":3}".getBytes(StandardCharsets.UTF_8));
    }
    postEncoded("deflate", zlib.toByteArray()).assertStatusCode(200);
    assertThat(ingest.requests).extracting(List::size).containsExactly(2, 1);
    assertThat(ingest.requests.get(1).get(0).json()).contains("\"b\":3");

    // 1 KiB limit: 200 KiB of zeros compress to a few hundred bytes, and are refused once 1 KiB is
    // inflated.
    byte[] bomb =
        gzip(("{\"x\":\"" + "0".repeat(200 * 1024) + "\"}").getBytes(StandardCharsets.UTF_8));
    assertThat(bomb.length).isLessThan(1024);
    assertError(postEncoded("gzip", bomb), 413, "payload_too_large");
    assertError(
        postEncoded("gzip", "not gzip at all".getBytes(StandardCharsets.UTF_8)),
        400,
        "invalid_body");
    assertError(
        postEncoded("br", "{}".getBytes(StandardCharsets.UTF_8)), 415, "unsupported_encoding");
    assertThat(ingest.requests).hasSize(2);
  }

  @Test
  void wrongMethodsAndUnknownPathsAreJsonErrors() throws Exception {
    assertError(
        testRoute(route()).run(HttpRequest.GET("/v1/webhooks/open")), 405, "method_not_allowed");
    assertError(
        testRoute(route()).run(HttpRequest.PUT("/v1/webhooks/open")), 405, "method_not_allowed");
    assertError(testRoute(route()).run(HttpRequest.GET("/v1/nothing-here")), 404, "not_found");
  }
}
