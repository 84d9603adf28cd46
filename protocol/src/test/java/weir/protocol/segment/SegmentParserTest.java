package weir.protocol.segment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import weir.protocol.BodyException;
import weir.protocol.Json;
import weir.protocol.event.CanonicalEvent;

/** Fixtures follow Segment's HTTP Tracking API documentation (one per call, plus batch). */
class SegmentParserTest {
  private static final Instant RECEIVED = Instant.parse("2026-11-21T12:00:10Z");

  private static SegmentParser.Result parse(String endpoint, String json) throws BodyException {
    return SegmentParser.parse(endpoint, json.getBytes(StandardCharsets.UTF_8), "c1", RECEIVED);
  }

  private static CanonicalEvent only(String endpoint, String json) throws BodyException {
    SegmentParser.Result r = parse(endpoint, json);
    assertThat(r.rejections()).isEmpty();
    assertThat(r.events()).hasSize(1);
    return r.events().get(0);
  }

  @Test
  void trackMapsEveryCanonicalFieldAndCorrectsClockSkew() throws Exception {
    CanonicalEvent e =
        only(
            "track",
            """
        {"userId":"019mr8mf4r","event":"Item Purchased","properties":{"name":"Shirt","revenue":39.95},
         "context":{"ip":"24.5.68.47"},"timestamp":"2026-11-21T11:59:00Z","sentAt":"2026-11-21T11:59:05Z",
         "messageId":"022bb90c-bbac-11e4-8dfc-aa07a5b093db","anonymousId":"507f191e810c19729de860ea"}""");
    assertThat(e.eventId()).isEqualTo("022bb90c-bbac-11e4-8dfc-aa07a5b093db");
    assertThat(e.type()).isEqualTo(CanonicalEvent.Type.track);
    assertThat(e.event()).isEqualTo("Item Purchased");
    assertThat(e.userId()).isEqualTo("019mr8mf4r");
    assertThat(e.anonymousId()).isEqualTo("507f191e810c19729de860ea");
    // client clock 5 s behind send: timestamp = receivedAt - (sentAt - timestamp) = 12:00:10 - 5 s
    assertThat(e.timestamp()).isEqualTo(Instant.parse("2026-11-21T12:00:05Z"));
    assertThat(e.originalTimestamp()).isEqualTo(Instant.parse("2026-11-21T11:59:00Z"));
    assertThat(e.sentAt()).isEqualTo(Instant.parse("2026-11-21T11:59:05Z"));
    assertThat(e.receivedAt()).isEqualTo(RECEIVED);
    assertThat(e.properties().get("revenue").decimalValue()).isEqualByComparingTo("39.95");
    assertThat(e.context().get("ip").asText()).isEqualTo("24.5.68.47");
    assertThat(e.connectionId()).isEqualTo("c1");
  }

  @Test
  void identifyPageScreenGroupAndAliasMapTheirOwnFields() throws Exception {
    CanonicalEvent identify =
        only("identify", "{\"userId\":\"u1\",\"traits\":{\"email\":\"a@b.c\",\"plan\":\"pro\"}}");
    assertThat(identify.traits().get("plan").asText()).isEqualTo("pro");
    assertThat(identify.timestamp()).as("no client timestamp: received time").isEqualTo(RECEIVED);
    assertThat(identify.originalTimestamp()).isNull();

    CanonicalEvent page =
        only(
            "page",
            "{\"anonymousId\":\"a1\",\"name\":\"Pricing\",\"category\":\"Docs\","
                + "\"properties\":{\"url\":\"https://x.io/pricing\"}}");
    assertThat(page.type()).isEqualTo(CanonicalEvent.Type.page);
    assertThat(page.event()).isEqualTo("Pricing");
    assertThat(page.properties().get("category").asText()).isEqualTo("Docs");

    CanonicalEvent screen = only("screen", "{\"userId\":\"u1\",\"name\":\"Home\"}");
    assertThat(screen.type()).isEqualTo(CanonicalEvent.Type.screen);
    assertThat(screen.event()).isEqualTo("Home");

    CanonicalEvent group =
        only("group", "{\"userId\":\"u1\",\"groupId\":\"g9\",\"traits\":{\"name\":\"Initech\"}}");
    assertThat(group.properties().get("group_id").asText()).isEqualTo("g9");
    assertThat(group.traits().get("name").asText()).isEqualTo("Initech");

    CanonicalEvent alias = only("alias", "{\"previousId\":\"anon-1\",\"userId\":\"u1\"}");
    assertThat(alias.properties().get("previous_id").asText()).isEqualTo("anon-1");
  }

  @Test
  void aBatchAcceptsValidMessagesAndRejectsInvalidOnesOneByOne() throws Exception {
    SegmentParser.Result r =
        parse(
            "batch",
            """
        {"writeKey":"wk-123","context":{"library":{"name":"analytics-java"},"ip":"1.1.1.1"},"batch":[
          {"type":"track","userId":"u1","event":"A","context":{"ip":"2.2.2.2"}},
          {"type":"track","userId":"u1"},
          {"type":"identify","traits":{}},
          {"type":"group","userId":"u1"},
          {"type":"alias","previousId":"p","anonymousId":"a"},
          {"type":"teleport","userId":"u1"},
          {"userId":"u1","event":"no type"},
          "not an object",
          {"type":"page","anonymousId":"a","timestamp":"yesterday"},
          {"type":"identify","userId":42}
        ]}""");
    assertThat(r.writeKey()).contains("wk-123");
    assertThat(r.events()).hasSize(2);
    CanonicalEvent first = r.events().get(0);
    assertThat(first.context().get("ip").asText()).as("message context wins").isEqualTo("2.2.2.2");
    assertThat(first.context().at("/library/name").asText())
        .as("batch context merged")
        .isEqualTo("analytics-java");
    assertThat(r.events().get(1).userId()).as("numeric ids become text").isEqualTo("42");
    assertThat(r.rejections())
        .extracting(x -> x.index() + ":" + x.code())
        .containsExactly(
            "1:missing_event",
            "2:missing_user",
            "3:missing_group_id",
            "4:missing_user_id",
            "5:invalid_type",
            "6:missing_type",
            "7:not_an_object",
            "8:invalid_timestamp");
    assertThat(r.rejections().get(0).payload()).contains("\"type\":\"track\"");
  }

  @Test
  void messagesOver32KbAreRejectedAndMissingMessageIdsGetAUuid() throws Exception {
    String big = "x".repeat(33 * 1024);
    SegmentParser.Result r =
        parse(
            "batch",
            "{\"batch\":[{\"type\":\"track\",\"userId\":\"u\",\"event\":\"E\","
                + "\"properties\":{\"blob\":\""
                + big
                + "\"}},{\"type\":\"track\",\"userId\":\"u\",\"event\":\"E\"}]}");
    assertThat(r.rejections())
        .singleElement()
        .satisfies(x -> assertThat(x.code()).isEqualTo("message_too_large"));
    assertThat(r.events().get(0).eventId()).matches("[0-9a-f-]{36}");
  }

  @Test
  void aRejectedBatchMessageIsKeptAsItWasSentAndItsSizeCountsItsUtf8Bytes() throws Exception {
    String bad = "{ \"type\" : \"track\", \"event\": \"No user é\" }";
    // 11,000 three-byte characters: 33,000 bytes of UTF-8 but 11,000 chars.
    String wide = "{\"type\":\"track\",\"userId\":\"u\",\"event\":\"" + "€".repeat(11_000) + "\"}";
    SegmentParser.Result r =
        parse(
            "batch",
            "{\"writeKey\":\"k\",\"batch\":[ {\"type\":\"track\",\"userId\":\"u\",\"event\":\"A\"}, "
                + bad
                + " ,\n"
                + wide
                + ",{\"type\":\"identify\",\"userId\":\"u\"}],\"context\":{\"app\":\"x\"}}");
    assertThat(r.writeKey()).contains("k");
    assertThat(r.events()).extracting(CanonicalEvent::event).containsExactly("A", null);
    assertThat(r.events().get(0).context().get("app").asText()).isEqualTo("x");
    assertThat(r.rejections()).hasSize(2);
    assertThat(r.rejections().get(0).index()).isEqualTo(1);
    assertThat(r.rejections().get(0).code()).isEqualTo("missing_user");
    assertThat(r.rejections().get(0).payload()).isEqualTo(bad);
    assertThat(r.rejections().get(1).index()).isEqualTo(2);
    assertThat(r.rejections().get(1).code()).isEqualTo("message_too_large");
  }

  @Test
  void aSingleMessageIsMeasuredAndKeptWithoutTheWhitespaceAroundIt() throws Exception {
    SegmentParser.Result bad = parse("track", " ".repeat(70_000) + "{\"event\":\"\"}\n\t ");
    assertThat(bad.rejections())
        .singleElement()
        .satisfies(
            r -> {
              assertThat(r.code()).isEqualTo("missing_user");
              assertThat(r.payload()).isEqualTo("{\"event\":\"\"}");
            });
    assertThat(
            only(
                    "track",
                    " ".repeat(33_000) + "{\"userId\":\"u\",\"event\":\"E\"}" + " ".repeat(33_000))
                .event())
        .isEqualTo("E");
  }

  @Test
  void contentAfterABatchIsRefusedAsJsonParseRefusesIt() {
    String body = "{\"batch\":[]} {}";
    assertThatThrownBy(() -> parse("batch", body))
        .isInstanceOf(BodyException.class)
        .hasMessage(
            catchThrowableOfType(() -> Json.parse(body, "The body"), BodyException.class)
                .getMessage());
  }

  @Test
  void unusableBodiesAreRejectedAsAWhole() {
    assertThatThrownBy(() -> parse("track", "{oops"))
        .extracting(e -> ((BodyException) e).code())
        .isEqualTo("invalid_json");
    assertThatThrownBy(() -> parse("track", "[1]"))
        .extracting(e -> ((BodyException) e).code())
        .isEqualTo("invalid_json");
    assertThatThrownBy(() -> parse("batch", "{\"batch\":{}}"))
        .extracting(e -> ((BodyException) e).code())
        .isEqualTo("invalid_batch");
    assertThatThrownBy(() -> parse("teleport", "{}"))
        .extracting(e -> ((BodyException) e).code())
        .isEqualTo("unknown_endpoint");
  }
}
