package weir.protocol.snowplow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import weir.protocol.BodyException;
import weir.protocol.event.CanonicalEvent;

/** Fixtures follow the Snowplow tracker protocol documentation. */
class SnowplowParserTest {
  private static final Instant RECEIVED = Instant.parse("2026-11-21T12:00:10Z");

  private static Map<String, String> base(String e) {
    Map<String, String> f = new HashMap<>();
    f.put("e", e);
    f.put("eid", "8b3e0b64-4f6b-4b43-9b8e-1a5b5c7a1f01");
    f.put("aid", "shop-web");
    f.put("p", "web");
    f.put("tv", "js-3.1.0");
    f.put("uid", "alice");
    f.put("duid", "d-77");
    f.put("nuid", "n-88");
    f.put("dtm", String.valueOf(Instant.parse("2026-11-21T11:59:00Z").toEpochMilli()));
    f.put("stm", String.valueOf(Instant.parse("2026-11-21T11:59:05Z").toEpochMilli()));
    return f;
  }

  private static String b64url(String s) {
    return Base64.getUrlEncoder()
        .withoutPadding()
        .encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void pageViewMapsIdsTimesAndPageContext() throws Exception {
    Map<String, String> f = base("pv");
    f.put("url", "https://shop.example/cart");
    f.put("refr", "https://google.com/");
    f.put("page", "Cart");
    CanonicalEvent e = SnowplowParser.toEvent(f, "c2", RECEIVED);
    assertThat(e.type()).isEqualTo(CanonicalEvent.Type.page);
    assertThat(e.eventId()).isEqualTo("8b3e0b64-4f6b-4b43-9b8e-1a5b5c7a1f01");
    assertThat(e.userId()).isEqualTo("alice");
    assertThat(e.anonymousId()).as("duid before nuid").isEqualTo("d-77");
    assertThat(e.timestamp()).isEqualTo(Instant.parse("2026-11-21T12:00:05Z"));
    assertThat(e.originalTimestamp()).isEqualTo(Instant.parse("2026-11-21T11:59:00Z"));
    assertThat(e.sentAt()).isEqualTo(Instant.parse("2026-11-21T11:59:05Z"));
    assertThat(e.context().at("/page/url").asText()).isEqualTo("https://shop.example/cart");
    assertThat(e.context().at("/page/referrer").asText()).isEqualTo("https://google.com/");
    assertThat(e.context().at("/page/title").asText()).isEqualTo("Cart");
    assertThat(e.context().at("/snowplow/aid").asText()).isEqualTo("shop-web");
    assertThat(e.context().at("/snowplow/tv").asText()).isEqualTo("js-3.1.0");
    assertThat(e.context().at("/snowplow/nuid").asText()).isEqualTo("n-88");
    assertThat(e.context().at("/snowplow/e").isMissingNode()).isTrue();
  }

  @Test
  void structuredEventsAreTracksNamedAfterTheirAction() throws Exception {
    Map<String, String> f = base("se");
    f.putAll(
        Map.of(
            "se_ca",
            "shop",
            "se_ac",
            "add-to-basket",
            "se_la",
            "ASO01043",
            "se_pr",
            "pcs",
            "se_va",
            "2"));
    CanonicalEvent e = SnowplowParser.toEvent(f, "c2", RECEIVED);
    assertThat(e.type()).isEqualTo(CanonicalEvent.Type.track);
    assertThat(e.event()).isEqualTo("add-to-basket");
    assertThat(e.properties().get("category").asText()).isEqualTo("shop");
    assertThat(e.properties().get("label").asText()).isEqualTo("ASO01043");
    assertThat(e.properties().get("property").asText()).isEqualTo("pcs");
    assertThat(e.properties().get("value").intValue()).isEqualTo(2);
    f.remove("se_ac");
    assertThatThrownBy(() -> SnowplowParser.toEvent(f, "c2", RECEIVED))
        .extracting(x -> ((SnowplowParser.InvalidEvent) x).code())
        .isEqualTo("missing_action");
  }

  @Test
  void selfDescribingEventsInPlainOrBase64UrlTakeTheirSchemaName() throws Exception {
    String ue =
        "{\"schema\":\"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0\","
            + "\"data\":{\"schema\":\"iglu:com.acme/link_click/jsonschema/1-0-1\",\"data\":{\"targetUrl\":\"https://a.b\",\"n\":3}}}";
    Map<String, String> plain = base("ue");
    plain.put("ue_pr", ue);
    Map<String, String> encoded = base("ue");
    encoded.put("ue_px", b64url(ue));
    for (Map<String, String> f : List.of(plain, encoded)) {
      CanonicalEvent e = SnowplowParser.toEvent(f, "c2", RECEIVED);
      assertThat(e.event()).isEqualTo("link_click");
      assertThat(e.properties().get("targetUrl").asText()).isEqualTo("https://a.b");
      assertThat(e.properties().get("n").asInt()).isEqualTo(3);
      assertThat(e.context().get("snowplow_schema").asText())
          .isEqualTo("iglu:com.acme/link_click/jsonschema/1-0-1");
    }
    Map<String, String> broken = base("ue");
    broken.put("ue_px", "%%%not-base64");
    assertThatThrownBy(() -> SnowplowParser.toEvent(broken, "c2", RECEIVED))
        .extracting(x -> ((SnowplowParser.InvalidEvent) x).code())
        .isEqualTo("invalid_base64");
    Map<String, String> none = base("ue");
    assertThatThrownBy(() -> SnowplowParser.toEvent(none, "c2", RECEIVED))
        .extracting(x -> ((SnowplowParser.InvalidEvent) x).code())
        .isEqualTo("invalid_unstruct_event");
  }

  @Test
  void contextsInCoOrCxLandInSnowplowContexts() throws Exception {
    String co =
        "{\"schema\":\"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0\",\"data\":["
            + "{\"schema\":\"iglu:com.acme/user/jsonschema/1-0-0\",\"data\":{\"tier\":\"gold\"}}]}";
    Map<String, String> plain = base("pv");
    plain.put("co", co);
    Map<String, String> encoded = base("pv");
    encoded.put("cx", Base64.getEncoder().encodeToString(co.getBytes(StandardCharsets.UTF_8)));
    for (Map<String, String> f : List.of(plain, encoded)) {
      CanonicalEvent e = SnowplowParser.toEvent(f, "c2", RECEIVED);
      assertThat(e.context().at("/snowplow_contexts/0/data/tier").asText()).isEqualTo("gold");
    }
    Map<String, String> bad = base("pv");
    bad.put("co", "{nope");
    assertThatThrownBy(() -> SnowplowParser.toEvent(bad, "c2", RECEIVED))
        .extracting(x -> ((SnowplowParser.InvalidEvent) x).code())
        .isEqualTo("invalid_json_field");
  }

  @Test
  void pagePingsTransactionsAndTheRest() throws Exception {
    Map<String, String> pp = base("pp");
    pp.putAll(Map.of("pp_mix", "0", "pp_max", "120", "pp_miy", "10", "pp_may", "900"));
    CanonicalEvent ping = SnowplowParser.toEvent(pp, "c2", RECEIVED);
    assertThat(ping.event()).isEqualTo("page_ping");
    assertThat(ping.properties().get("max_y").intValue()).isEqualTo(900);

    Map<String, String> tr = base("tr");
    tr.putAll(Map.of("tr_id", "order-1", "tr_tt", "99.5", "tr_cu", "EUR"));
    CanonicalEvent transaction = SnowplowParser.toEvent(tr, "c2", RECEIVED);
    assertThat(transaction.event()).isEqualTo("transaction");
    assertThat(transaction.properties().get("id").asText()).isEqualTo("order-1");

    Map<String, String> noUser = base("pv");
    noUser.remove("duid");
    noUser.remove("uid");
    noUser.remove("eid");
    noUser.put("ttm", String.valueOf(Instant.parse("2026-11-21T10:00:00Z").toEpochMilli()));
    CanonicalEvent e = SnowplowParser.toEvent(noUser, "c2", RECEIVED);
    assertThat(e.anonymousId()).isEqualTo("n-88");
    assertThat(e.eventId()).matches("[0-9a-f-]{36}");
    assertThat(e.timestamp())
        .as("true timestamp wins")
        .isEqualTo(Instant.parse("2026-11-21T10:00:00Z"));

    Map<String, String> unknown = base("zz");
    assertThatThrownBy(() -> SnowplowParser.toEvent(unknown, "c2", RECEIVED))
        .extracting(x -> ((SnowplowParser.InvalidEvent) x).code())
        .isEqualTo("unsupported_event_type");
    Map<String, String> badTime = base("pv");
    badTime.put("dtm", "soon");
    assertThatThrownBy(() -> SnowplowParser.toEvent(badTime, "c2", RECEIVED))
        .extracting(x -> ((SnowplowParser.InvalidEvent) x).code())
        .isEqualTo("invalid_timestamp");
  }

  @Test
  void tp2BodiesArePayloadDataWithAnArrayOfEvents() throws Exception {
    byte[] body =
        ("{\"schema\":\"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4\","
                + "\"data\":[{\"e\":\"pv\",\"aid\":\"a\"},{\"e\":\"se\",\"se_ac\":\"x\",\"aid\":\"b\"}]}")
            .getBytes(StandardCharsets.UTF_8);
    assertThat(SnowplowParser.payloads(body))
        .extracting(m -> m.get("aid"))
        .containsExactly("a", "b");
    assertThatThrownBy(
            () -> SnowplowParser.payloads("{\"data\":[]}".getBytes(StandardCharsets.UTF_8)))
        .extracting(x -> ((BodyException) x).code())
        .isEqualTo("invalid_payload");
    assertThatThrownBy(() -> SnowplowParser.payloads("nope".getBytes(StandardCharsets.UTF_8)))
        .extracting(x -> ((BodyException) x).code())
        .isEqualTo("invalid_json");
  }
}
