package weir.protocol.snowplow;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import weir.protocol.BodyException;
import weir.protocol.Json;
import weir.protocol.event.CanonicalEvent;

/**
 * The Snowplow tracker protocol into {@link CanonicalEvent}s: {@code tp2} POST bodies ({@code
 * {"schema": "...payload_data...", "data": [ {e, aid, eid, ...}, ... ]}}) and GET pixel query
 * strings (one event). Mapping (API.md): {@code eid}→event_id; {@code e=pv}→page; {@code
 * e=se}→track named {@code se_ac} with category/action/label/property/value; {@code e=ue}→track
 * named after the self-describing event's schema, properties its data ({@code ue_pr}, or base64url
 * {@code ue_px}); {@code e=pp}→track {@code page_ping} (min_x/max_x/min_y/max_y); {@code
 * e=tr}/{@code ti}→track {@code transaction}/{@code transaction_item}; {@code uid}→user_id; {@code
 * duid} (else {@code nuid})→ anonymous_id; {@code dtm}→timestamp (skew-corrected with {@code stm},
 * or {@code ttm} when sent); {@code stm}→sent_at; {@code url}, {@code refr}, {@code page}→{@code
 * context.page}; {@code co}/{@code cx}→ {@code context.snowplow_contexts}; every other field under
 * {@code context.snowplow}.
 */
public final class SnowplowParser {
  private static final Set<String> MAPPED =
      Set.of(
          "e", "eid", "uid", "duid", "dtm", "stm", "ttm", "url", "refr", "page", "co", "cx",
          "ue_pr", "ue_px", "se_ca", "se_ac", "se_la", "se_pr", "se_va", "pp_mix", "pp_max",
          "pp_miy", "pp_may");

  private SnowplowParser() {}

  /** Why one event is refused (kept as a dead letter). */
  public static final class InvalidEvent extends Exception {
    private static final long serialVersionUID = 1L;
    private final String code;

    InvalidEvent(String code, String message) {
      super(message, null, false, false);
      this.code = code;
    }

    public String code() {
      return code;
    }
  }

  /** The events of a tp2 POST body, each a map of tracker fields. */
  public static List<Map<String, String>> payloads(byte[] body) throws BodyException {
    JsonNode root = Json.parse(Json.utf8(body), "The body");
    if (!root.path("schema").asText().contains("payload_data") || !root.path("data").isArray()) {
      throw new BodyException(
          "invalid_payload",
          "A tp2 body is a payload_data self-describing JSON: {\"schema\": \"iglu:...payload_data...\", \"data\": [...]}.");
    }
    List<Map<String, String>> out = new ArrayList<>();
    for (JsonNode event : root.get("data")) {
      Map<String, String> fields = new LinkedHashMap<>();
      if (event.isObject())
        event
            .fields()
            .forEachRemaining(
                f ->
                    fields.put(
                        f.getKey(),
                        f.getValue().isTextual()
                            ? f.getValue().asText()
                            : Json.write(f.getValue())));
      out.add(fields);
    }
    return out;
  }

  /** One event's fields into the canonical event. */
  public static CanonicalEvent toEvent(
      Map<String, String> f, String connectionId, Instant receivedAt) throws InvalidEvent {
    String e = f.get("e");
    if (e == null || e.isBlank())
      throw new InvalidEvent("missing_event_type", "The event has no 'e' (event type).");
    CanonicalEvent.Type type;
    String name;
    ObjectNode properties = JsonNodeFactory.instance.objectNode();
    ObjectNode context = JsonNodeFactory.instance.objectNode();
    switch (e) {
      case "pv" -> {
        type = CanonicalEvent.Type.page;
        name = f.get("page");
      }
      case "pp" -> {
        type = CanonicalEvent.Type.track;
        name = "page_ping";
        number(properties, "min_x", f.get("pp_mix"));
        number(properties, "max_x", f.get("pp_max"));
        number(properties, "min_y", f.get("pp_miy"));
        number(properties, "max_y", f.get("pp_may"));
      }
      case "se" -> {
        type = CanonicalEvent.Type.track;
        name = f.get("se_ac");
        if (name == null || name.isBlank()) {
          throw new InvalidEvent(
              "missing_action", "A structured event (e=se) needs se_ac (action).");
        }
        text(properties, "category", f.get("se_ca"));
        properties.put("action", name);
        text(properties, "label", f.get("se_la"));
        text(properties, "property", f.get("se_pr"));
        number(properties, "value", f.get("se_va"));
      }
      case "ue" -> {
        type = CanonicalEvent.Type.track;
        JsonNode unstruct = selfDescribing(f.get("ue_pr"), f.get("ue_px"), "ue");
        JsonNode inner = unstruct == null ? null : unstruct.path("data");
        if (inner == null || !inner.path("schema").isTextual()) {
          throw new InvalidEvent(
              "invalid_unstruct_event",
              "A self-describing event (e=ue) needs ue_pr or ue_px with {\"data\": {\"schema\": ..., \"data\": ...}}.");
        }
        name = schemaName(inner.get("schema").asText());
        if (inner.path("data").isObject()) properties.setAll((ObjectNode) inner.get("data"));
        context.put("snowplow_schema", inner.get("schema").asText());
      }
      case "tr", "ti" -> {
        type = CanonicalEvent.Type.track;
        name = e.equals("tr") ? "transaction" : "transaction_item";
        String prefix = e + "_";
        f.forEach(
            (k, v) -> {
              if (k.startsWith(prefix)) properties.put(k.substring(prefix.length()), v);
            });
      }
      default ->
          throw new InvalidEvent(
              "unsupported_event_type", "Event type e=" + e + " is not supported.");
    }
    JsonNode contexts = selfDescribing(f.get("co"), f.get("cx"), "co");
    if (contexts != null) context.set("snowplow_contexts", contexts.path("data"));
    ObjectNode page = JsonNodeFactory.instance.objectNode();
    if (f.get("url") != null) page.put("url", f.get("url"));
    if (f.get("refr") != null) page.put("referrer", f.get("refr"));
    if (f.get("page") != null) page.put("title", f.get("page"));
    if (!page.isEmpty()) context.set("page", page);
    ObjectNode rest = context.putObject("snowplow");
    f.forEach(
        (k, v) -> {
          if (!MAPPED.contains(k)
              && !(e.equals("tr") && k.startsWith("tr_"))
              && !(e.equals("ti") && k.startsWith("ti_"))) {
            rest.put(k, v);
          }
        });
    if (f.get("duid") != null && f.get("nuid") != null) rest.put("nuid", f.get("nuid"));

    Instant device = millis(f, "dtm");
    Instant sent = millis(f, "stm");
    Instant trueTimestamp = millis(f, "ttm");
    Instant timestamp =
        trueTimestamp != null ? trueTimestamp : CanonicalEvent.corrected(device, sent, receivedAt);
    String anonymous = f.get("duid") != null ? f.get("duid") : f.get("nuid");
    String eventId =
        f.get("eid") == null || f.get("eid").isBlank()
            ? UUID.randomUUID().toString()
            : f.get("eid");
    return new CanonicalEvent(
        eventId,
        type,
        name,
        anonymous,
        blankToNull(f.get("uid")),
        timestamp,
        device,
        receivedAt,
        sent,
        context,
        properties,
        JsonNodeFactory.instance.objectNode(),
        connectionId);
  }

  /** {@code iglu:com.acme/link_click/jsonschema/1-0-0} → {@code link_click}. */
  static String schemaName(String uri) {
    String[] parts = uri.replaceFirst("^iglu:", "").split("/");
    return parts.length >= 2 ? parts[1] : uri;
  }

  private static JsonNode selfDescribing(String plain, String base64, String field)
      throws InvalidEvent {
    String json = plain;
    if (json == null && base64 != null) {
      try {
        json = new String(decodeBase64(base64), StandardCharsets.UTF_8);
      } catch (IllegalArgumentException e) {
        throw new InvalidEvent(
            "invalid_base64", "The base64 field for '" + field + "' cannot be decoded.");
      }
    }
    if (json == null) return null;
    JsonNode node;
    try {
      node = Json.parse(json, "'" + field + "'");
    } catch (BodyException e) {
      throw new InvalidEvent("invalid_json_field", e.getMessage());
    }
    if (!node.isObject())
      throw new InvalidEvent("invalid_json_field", "'" + field + "' is not a JSON object.");
    return node;
  }

  /** Base64, URL-safe or standard, padded or not. */
  static byte[] decodeBase64(String s) {
    String url = s.strip().replace('+', '-').replace('/', '_').replace("=", "");
    return Base64.getUrlDecoder().decode(url);
  }

  private static Instant millis(Map<String, String> f, String field) throws InvalidEvent {
    String v = f.get(field);
    if (v == null || v.isBlank()) return null;
    Instant t;
    try {
      t = Instant.ofEpochMilli(Long.parseLong(v.strip()));
    } catch (NumberFormatException e) {
      throw new InvalidEvent(
          "invalid_timestamp", "'" + field + "' must be milliseconds since the epoch.");
    }
    if (!CanonicalEvent.storable(t)) {
      throw new InvalidEvent(
          "invalid_timestamp", "'" + field + "' is outside the years 1 to 9999.");
    }
    return t;
  }

  private static void number(ObjectNode into, String name, String value) {
    if (value == null || value.isBlank()) return;
    try {
      into.put(name, new BigDecimal(value.strip()));
    } catch (NumberFormatException e) {
      into.put(name, value);
    }
  }

  private static void text(ObjectNode into, String name, String value) {
    if (value != null && !value.isEmpty()) into.put(name, value);
  }

  private static String blankToNull(String s) {
    return s == null || s.isBlank() ? null : s;
  }
}
