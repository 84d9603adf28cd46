package weir.protocol.webhook;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import weir.protocol.BodyException;
import weir.protocol.Json;
import weir.protocol.StagedRow;

class WebhookParserTest {
  private static final Instant NOW = Instant.parse("2026-11-21T10:15:30.123Z");
  private final WebhookParser parser = new WebhookParser("events", Optional.empty());

  private WebhookParser.Result parse(String body, WebhookParser.Format format)
      throws BodyException {
    return parser.parse(body.getBytes(StandardCharsets.UTF_8), format, Optional.empty(), NOW);
  }

  /** A JSON body sent with {@code X-Event-Id: given-id}. */
  private WebhookParser.Result parseWithId(String body) throws BodyException {
    return parser.parse(
        body.getBytes(StandardCharsets.UTF_8),
        WebhookParser.Format.JSON,
        Optional.of("given-id"),
        NOW);
  }

  private static JsonNode row(StagedRow r) throws Exception {
    return Json.MAPPER.readTree(r.json());
  }

  @Test
  void singleObjectBecomesOneRowWithReceivedAtAndData() throws Exception {
    WebhookParser.Result result =
        parse("{\"event\":\"signup\",\"n\":1.50}", WebhookParser.Format.JSON);
    assertThat(result.rejections()).isEmpty();
    assertThat(result.rows()).hasSize(1);
    StagedRow r = result.rows().get(0);
    assertThat(r.table()).isEqualTo("events");
    assertThat(r.timestampMillis()).isEqualTo(NOW.toEpochMilli());
    JsonNode json = row(r);
    assertThat(json.get("event_id").asText()).isEqualTo(r.eventId()).hasSize(64);
    assertThat(json.get("received_at").asText()).isEqualTo("2026-11-21T10:15:30.123Z");
    assertThat(json.get("data").get("event").asText()).isEqualTo("signup");
    assertThat(json.get("data").get("n").decimalValue()).isEqualByComparingTo("1.50");
  }

  @Test
  void contentHashIdIgnoresKeyOrderAndWhitespaceSoExactRetriesDeduplicate() throws Exception {
    String a =
        parse("{\"a\":1,\"b\":{\"y\":2,\"x\":[1,2]}}", WebhookParser.Format.JSON)
            .rows()
            .get(0)
            .eventId();
    String b =
        parse("{ \"b\" : {\"x\":[1, 2], \"y\":2}, \"a\" : 1 }", WebhookParser.Format.JSON)
            .rows()
            .get(0)
            .eventId();
    String c =
        parse("{\"a\":2,\"b\":{\"y\":2,\"x\":[1,2]}}", WebhookParser.Format.JSON)
            .rows()
            .get(0)
            .eventId();
    assertThat(a).isEqualTo(b).isNotEqualTo(c);
  }

  @Test
  void arrayElementsThatAreNotObjectsAreRejectedOneByOne() throws Exception {
    WebhookParser.Result result =
        parse("[{\"a\":1}, 2, \"x\", {\"a\":2}, null]", WebhookParser.Format.JSON);
    assertThat(result.rows()).hasSize(2);
    assertThat(result.rejections()).extracting(r -> r.index()).containsExactly(1, 2, 4);
    assertThat(result.rejections())
        .allSatisfy(r -> assertThat(r.code()).isEqualTo("not_an_object"));
    assertThat(result.rejections().get(1).payload()).isEqualTo("\"x\"");
  }

  @Test
  void ndjsonLinesAreEventsAndBlankLinesAreSkipped() throws Exception {
    WebhookParser.Result result =
        parse("{\"n\":1}\r\n\n{\"n\":2}\n[1]\n", WebhookParser.Format.NDJSON);
    assertThat(result.rows()).hasSize(2);
    assertThat(result.rejections())
        .singleElement()
        .satisfies(r -> assertThat(r.index()).isEqualTo(2));
  }

  @Test
  void anUnparseableNdjsonLineRejectsTheWholeBody() {
    assertThatThrownBy(() -> parse("{\"n\":1}\n{oops\n", WebhookParser.Format.NDJSON))
        .isInstanceOf(BodyException.class)
        .hasMessageContaining("Line 2")
        .extracting(e -> ((BodyException) e).code())
        .isEqualTo("invalid_json");
  }

  @Test
  void formBodyIsOneEventWithStringValues() throws Exception {
    WebhookParser.Result result =
        parse("name=Ada+Lovelace&plan=pro%2Bplus&empty=", WebhookParser.Format.FORM);
    JsonNode data = row(result.rows().get(0)).get("data");
    assertThat(data.get("name").asText()).isEqualTo("Ada Lovelace");
    assertThat(data.get("plan").asText()).isEqualTo("pro+plus");
    assertThat(data.get("empty").asText()).isEmpty();
  }

  @Test
  void malformedBodiesAreRejectedWithPreciseCodes() {
    assertThatThrownBy(() -> parse("{\"a\":", WebhookParser.Format.JSON))
        .extracting(e -> ((BodyException) e).code())
        .isEqualTo("invalid_json");
    assertThatThrownBy(() -> parse("{\"a\":1} {\"b\":2}", WebhookParser.Format.JSON))
        .extracting(e -> ((BodyException) e).code())
        .isEqualTo("invalid_json");
    assertThatThrownBy(() -> parse("   ", WebhookParser.Format.JSON))
        .extracting(e -> ((BodyException) e).code())
        .isEqualTo("empty_body");
    assertThatThrownBy(() -> parse("a=%zz", WebhookParser.Format.FORM))
        .extracting(e -> ((BodyException) e).code())
        .isEqualTo("invalid_form");
    assertThatThrownBy(
            () ->
                parser.parse(
                    new byte[] {'{', (byte) 0xC3, '}'},
                    WebhookParser.Format.JSON,
                    Optional.empty(),
                    NOW))
        .extracting(e -> ((BodyException) e).code())
        .isEqualTo("invalid_encoding");
  }

  @Test
  void idFieldWinsOverHeaderAndHash() throws Exception {
    WebhookParser withIdField = new WebhookParser("events", Optional.of("id"));
    WebhookParser.Result result =
        withIdField.parse(
            "[{\"id\":\"ord-1\"},{\"id\":42},{\"other\":1}]".getBytes(StandardCharsets.UTF_8),
            WebhookParser.Format.JSON,
            Optional.of("hdr"),
            NOW);
    assertThat(result.rows())
        .extracting(StagedRow::eventId)
        .containsExactly(
            "ord-1",
            "42",
            Json.sha256OfCanonical((ObjectNode) Json.MAPPER.readTree("{\"other\":1}")));
  }

  @Test
  void eventIdHeaderAppliesToSingleEventBodiesOnly() throws Exception {
    byte[] single = "{\"a\":1}".getBytes(StandardCharsets.UTF_8);
    assertThat(
            parser
                .parse(single, WebhookParser.Format.JSON, Optional.of("evt-7"), NOW)
                .rows()
                .get(0)
                .eventId())
        .isEqualTo("evt-7");
    byte[] form = "a=1".getBytes(StandardCharsets.UTF_8);
    assertThat(
            parser
                .parse(form, WebhookParser.Format.FORM, Optional.of("evt-8"), NOW)
                .rows()
                .get(0)
                .eventId())
        .isEqualTo("evt-8");
    byte[] array = "[{\"a\":1}]".getBytes(StandardCharsets.UTF_8);
    assertThat(
            parser
                .parse(array, WebhookParser.Format.JSON, Optional.of("evt-9"), NOW)
                .rows()
                .get(0)
                .eventId())
        .hasSize(64);
  }

  @Test
  void mediaTypesMapToFormats() {
    assertThat(WebhookParser.Format.forMediaType("application/json"))
        .contains(WebhookParser.Format.JSON);
    assertThat(WebhookParser.Format.forMediaType("application/x-ndjson"))
        .contains(WebhookParser.Format.NDJSON);
    assertThat(WebhookParser.Format.forMediaType("application/x-www-form-urlencoded"))
        .contains(WebhookParser.Format.FORM);
    assertThat(WebhookParser.Format.forMediaType("text/plain")).isEmpty();
  }

  /**
   * A body with a given id is copied into its row while it is read (no tree); the row must be the
   * text the tree path writes, byte for byte, whatever the numbers, escapes and nesting.
   */
  @Test
  void aBodyWithAGivenIdIsCopiedIntoExactlyTheRowTheTreePathWrites() throws Exception {
    String[] bodies = {
      "{\"event\":\"signup\",\"n\":1.50}",
      " { \"a\" : 1.0, \"b\": 100.0, \"c\": 0.0, \"d\": -0.0, \"e\": 1e2, \"f\": 12345678901234567890,"
          + " \"g\": 1.2345678901234567890123e-7, \"h\": -17, \"i\": 1E+400 } ",
      "{\"s\":\"caf\\u00e9 \\\"q\\\" \\n \\/ \\ud83d\\ude00 \\u0001\",\"t\":true,\"f\":false,\"z\":null}",
      "{\"lone\":\"\\ud800x\",\"emoji\":\"😀\",\"k\\u00e9y\":1}",
      "{\"nested\":{\"a\":[1,[2,{\"b\":[]}],{}],\"c\":{\"d\":{\"e\":0.10}}},\"empty\":{}}",
      "{}",
    };
    for (String body : bodies) {
      WebhookParser.Result copied = parseWithId(body);
      ObjectNode tree = Json.MAPPER.createObjectNode();
      tree.put("event_id", "given-id");
      tree.put("received_at", NOW.toString());
      tree.set("data", Json.parse(body, "The body"));
      // The copy was taken (it is what parse returned), not the tree path.
      assertThat(WebhookParser.copiedRow(body, "given-id", NOW.toString()))
          .as(body)
          .isEqualTo(Json.write(tree));
      assertThat(copied.rows()).hasSize(1);
      assertThat(copied.rows().get(0).eventId()).isEqualTo("given-id");
      assertThat(copied.rows().get(0).json()).as(body).isEqualTo(Json.write(tree));
    }
  }

  @Test
  void aBodyWithAGivenIdThatOnlyTheTreePathCanReadIsReadByIt() throws Exception {
    // A key twice (the tree keeps the last), an array (its elements take content ids), bad JSON.
    assertThat(WebhookParser.copiedRow("{\"b\":{\"x\":1,\"x\":2}}", "given-id", NOW.toString()))
        .isNull();
    WebhookParser.Result twice = parseWithId("{\"a\":1,\"b\":{\"x\":1,\"x\":2}}");
    assertThat(row(twice.rows().get(0)).get("data").get("b").get("x").asInt()).isEqualTo(2);
    assertThat(row(twice.rows().get(0)).get("data").get("b").size()).isEqualTo(1);
    WebhookParser.Result array = parseWithId("[{\"a\":1},{\"a\":2}]");
    assertThat(array.rows()).hasSize(2);
    assertThat(array.rows().get(0).eventId()).hasSize(64);
    assertThatThrownBy(() -> parseWithId("{\"a\":1} {\"b\":2}"))
        .isInstanceOf(BodyException.class)
        .hasMessageStartingWith("The body is not valid JSON");
  }
}
