package weir.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import weir.protocol.event.EventTables;
import weir.protocol.segment.SegmentParser;
import weir.protocol.snowplow.SnowplowParser;
import weir.protocol.webhook.WebhookParser;

/**
 * What hostile bodies do to the three parsers: whole-body problems are {@link BodyException}s with
 * precise codes (never an unchecked exception), and everything accepted encodes to UTF-8 exactly
 * (journal-safe).
 */
class HostileJsonTest {
  private static final Instant NOW = Instant.parse("2026-11-21T10:15:30Z");
  private static final WebhookParser WEBHOOK = new WebhookParser("events", Optional.empty());

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String code(ThrowingRunnable r) {
    try {
      r.run();
    } catch (BodyException e) {
      return e.code();
    } catch (Exception e) {
      throw new AssertionError("expected a BodyException, got " + e, e);
    }
    throw new AssertionError("expected a BodyException");
  }

  interface ThrowingRunnable {
    void run() throws Exception;
  }

  /** UTF-8 round trip: a string with an unpaired surrogate would come back with '?' instead. */
  private static boolean encodesExactly(String s) {
    return new String(s.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8).equals(s);
  }

  @Test
  void nestingBeyondTheLimitIsJsonTooDeepOnEveryParser() {
    String arrays = "[".repeat(5000) + "]".repeat(5000);
    String objects = "{\"a\":".repeat(5000) + "1" + "}".repeat(5000);
    for (String body : new String[] {arrays, objects}) {
      assertThat(
              code(
                  () ->
                      WEBHOOK.parse(utf8(body), WebhookParser.Format.JSON, Optional.empty(), NOW)))
          .isEqualTo("json_too_deep");
      assertThat(
              code(
                  () ->
                      WEBHOOK.parse(
                          utf8(body), WebhookParser.Format.NDJSON, Optional.empty(), NOW)))
          .isEqualTo("json_too_deep");
      assertThat(code(() -> SegmentParser.parse("batch", utf8(body), "c", NOW)))
          .isEqualTo("json_too_deep");
      assertThat(code(() -> SnowplowParser.payloads(utf8(body)))).isEqualTo("json_too_deep");
    }
  }

  @Test
  void nestingWithinTheLimitIsAccepted() throws Exception {
    String body =
        "{\"a\":".repeat(Json.MAX_NESTING_DEPTH - 1) + "1" + "}".repeat(Json.MAX_NESTING_DEPTH - 1);
    assertThat(WEBHOOK.parse(utf8(body), WebhookParser.Format.JSON, Optional.empty(), NOW).rows())
        .hasSize(1);
  }

  @Test
  void loneSurrogatesAreReplacedSoEveryRowEncodesToUtf8Exactly() throws Exception {
    WebhookParser.Result hook =
        WEBHOOK.parse(
            utf8("[{\"a\":\"x\\ud800y\",\"\\udc00k\":1,\"ok\":\"\\ud83d\\ude00\"}]"),
            WebhookParser.Format.JSON,
            Optional.of("ignored"),
            NOW);
    assertThat(hook.rows())
        .singleElement()
        .satisfies(
            r -> {
              assertThat(encodesExactly(r.json())).isTrue();
              assertThat(r.json())
                  .contains("x\uFFFDy")
                  .contains("\uFFFDk")
                  .contains("\ud83d\ude00");
            });
    SegmentParser.Result seg =
        SegmentParser.parse(
            "track",
            utf8(
                "{\"userId\":\"u\\ud800\",\"event\":\"E\\udfff\",\"messageId\":\"m\\ud800\",\"properties\":{\"p\":\"\\ud800\"}}"),
            "c",
            NOW);
    assertThat(seg.rejections()).isEmpty();
    for (StagedRow r : EventTables.rows(seg.events().get(0))) {
      assertThat(encodesExactly(r.json())).as(r.json()).isTrue();
      assertThat(encodesExactly(r.eventId())).isTrue();
      assertThat(encodesExactly(r.table())).isTrue();
    }
  }

  @Test
  void aDeadLetterPayloadCutAtItsLimitNeverSplitsASurrogatePair() {
    String payload = "a".repeat(DeadLetters.MAX_PAYLOAD_CHARS - 1) + "\ud83d\ude00tail";
    String cut = DeadLetters.truncate(payload);
    assertThat(cut).hasSize(DeadLetters.MAX_PAYLOAD_CHARS - 1);
    assertThat(encodesExactly(cut)).isTrue();
  }

  @Test
  void nanInfinityInvalidUtf8AndTrailingGarbageAreBodyErrors() {
    for (String body :
        new String[] {
          "{\"a\":NaN}", "{\"a\":Infinity}", "{\"a\":-Infinity}", "{\"a\":1} x", "", "  "
        }) {
      assertThat(
              code(
                  () ->
                      WEBHOOK.parse(utf8(body), WebhookParser.Format.JSON, Optional.empty(), NOW)))
          .as(body)
          .isIn("invalid_json", "empty_body");
      assertThat(code(() -> SegmentParser.parse("track", utf8(body), "c", NOW)))
          .as(body)
          .isEqualTo("invalid_json");
    }
    byte[] latin1 = {'{', '"', 'a', '"', ':', '"', (byte) 0xe9, '"', '}'};
    assertThat(code(() -> WEBHOOK.parse(latin1, WebhookParser.Format.JSON, Optional.empty(), NOW)))
        .isEqualTo("invalid_encoding");
    assertThat(code(() -> SegmentParser.parse("track", latin1, "c", NOW)))
        .isEqualTo("invalid_encoding");
    assertThat(code(() -> SnowplowParser.payloads(latin1))).isEqualTo("invalid_encoding");
  }

  @Test
  void hugeNumbersStayExactAndDuplicateKeysKeepTheLast() throws Exception {
    WebhookParser.Result r =
        WEBHOOK.parse(
            utf8("{\"n\":1e999999,\"m\":123456789012345678901234567890,\"d\":1,\"d\":2}"),
            WebhookParser.Format.JSON,
            Optional.empty(),
            NOW);
    String json = r.rows().get(0).json();
    assertThat(json)
        .contains("1E+999999")
        .contains("123456789012345678901234567890")
        .contains("\"d\":2");
  }

  @Test
  void timestampsOutsideTheYears1To9999AreRejectedPerMessage() throws Exception {
    SegmentParser.Result r =
        SegmentParser.parse(
            "batch",
            utf8(
                "{\"batch\":["
                    + "{\"type\":\"track\",\"userId\":\"u\",\"event\":\"E\",\"timestamp\":\"+999999999-12-31T23:59:59Z\"},"
                    + "{\"type\":\"track\",\"userId\":\"u\",\"event\":\"E\",\"sentAt\":\"-0001-01-01T00:00:00Z\"},"
                    + "{\"type\":\"track\",\"userId\":\"u\",\"event\":\"E\",\"timestamp\":\"9999-12-31T23:00:00Z\","
                    + "\"sentAt\":\"0001-01-01T00:00:00Z\"}]}"),
            "c",
            NOW);
    assertThat(r.rejections())
        .extracting(Rejection::code)
        .containsExactly("invalid_timestamp", "invalid_timestamp");
    assertThat(r.events())
        .singleElement()
        .satisfies(e -> assertThat(e.timestamp().toString()).isEqualTo("9999-12-31T23:00:00Z"));
    assertThatThrownBy(
            () -> SnowplowParser.toEvent(Map.of("e", "pv", "dtm", "9223372036854775807"), "c", NOW))
        .isInstanceOfSatisfying(
            SnowplowParser.InvalidEvent.class,
            e -> assertThat(e.code()).isEqualTo("invalid_timestamp"));
  }
}
