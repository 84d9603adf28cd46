package weir.node.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import akka.http.javadsl.model.ContentTypes;
import akka.http.javadsl.model.HttpEntities;
import akka.http.javadsl.model.HttpRequest;
import akka.http.javadsl.model.MediaTypes;
import akka.http.javadsl.model.headers.RawHeader;
import akka.http.javadsl.server.Directives;
import akka.http.javadsl.server.Route;
import akka.http.javadsl.testkit.JUnitRouteTest;
import akka.http.javadsl.testkit.TestRouteResult;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import weir.node.http.ApiErrors;
import weir.node.metrics.NodeMetrics;
import weir.persistence.registry.Connection;
import weir.persistence.registry.ConnectionKind;
import weir.protocol.Json;

/**
 * The Snowplow collector routes when things go wrong: the pixel stays a GIF, tp2 answers JSON with
 * CORS.
 */
class SnowplowRoutesTest extends JUnitRouteTest {
  private final FakeLookup lookup =
      new FakeLookup(
          Map.of(
              "sp",
              new Connection(
                  "sp",
                  "sp",
                  ConnectionKind.snowplow,
                  "d1",
                  "sp",
                  null,
                  500,
                  60,
                  900,
                  4,
                  null,
                  null,
                  "wk",
                  "shop",
                  0,
                  0)));
  private final WebhookRoutesTest.FakeIngest ingest = new WebhookRoutesTest.FakeIngest();

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
            1 << 20, Duration.ofSeconds(3), Duration.ofSeconds(3), Duration.ofSeconds(2), 4);
    SnowplowRoutes routes =
        new SnowplowRoutes(
            lookup,
            new IngestService(ingest, settings, materializer(), new NodeMetrics()),
            new NodeMetrics());
    return Directives.handleExceptions(
        ApiErrors.exceptionHandler(),
        () -> Directives.handleRejections(ApiErrors.rejectionHandler(), routes::route));
  }

  private TestRouteResult pixel() {
    return testRoute(route())
        .run(
            HttpRequest.GET("/i?e=pv&aid=shop&eid=e1&url=https%3A%2F%2Fshop%2F")
                .addHeader(RawHeader.create("Origin", "https://shop")));
  }

  private TestRouteResult tp2() {
    return testRoute(route())
        .run(
            HttpRequest.POST("/com.snowplowanalytics.snowplow/tp2")
                .withEntity(
                    HttpEntities.create(
                        ContentTypes.APPLICATION_JSON,
                        "{\"schema\":\"iglu:com.snowplowanalytics."
                            + "snowplow/payload_data/jsonschema/1-0-4\",\"data\":[{\"e\":\"pv\",\"aid\":\"shop\",\"eid\":\"e2\"}]}"))
                .addHeader(RawHeader.create("Origin", "https://shop")));
  }

  @Test
  void whenTheRegistryIsDownThePixelIsStillAGifWith503AndTp2IsAJson503WithCors() throws Exception {
    pixel().assertStatusCode(200).assertMediaType(MediaTypes.IMAGE_GIF);
    assertThat(ingest.requests).hasSize(1);

    lookup.down = true;
    TestRouteResult gif = pixel();
    gif.assertStatusCode(503);
    gif.assertMediaType(MediaTypes.IMAGE_GIF);
    assertThat(gif.response().getHeader("Access-Control-Allow-Origin").map(h -> h.value()))
        .contains("https://shop");

    TestRouteResult json = tp2();
    json.assertStatusCode(503);
    assertThat(json.response().entity().getContentType()).isEqualTo(ContentTypes.APPLICATION_JSON);
    assertThat(Json.MAPPER.readTree(json.entityString()).at("/error/code").asText())
        .isEqualTo("registry_unavailable");
    assertThat(json.response().getHeader("Retry-After")).isPresent();
    assertThat(json.response().getHeader("Access-Control-Allow-Origin").map(h -> h.value()))
        .contains("https://shop");
    assertThat(ingest.requests).hasSize(1);
  }

  @Test
  void whenTheJournalDoesNotConfirmThePixelIsAGifWith503() {
    ingest.next = new IngestGateway.Unavailable("ask timeout");
    TestRouteResult gif = pixel();
    gif.assertStatusCode(503);
    gif.assertMediaType(MediaTypes.IMAGE_GIF);
  }
}
