package weir.protocol.event;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import weir.protocol.Json;
import weir.protocol.StagedRow;

/**
 * A track's per-event row, made from the canonical row's text by a streaming pass, is exactly the
 * row a parsed tree gives: the canonical row with a column per top-level property (containers as
 * JSON text, nulls left out, names made safe, collisions prefixed or suffixed) — same text, on
 * thousands of random events with awkward keys and values, their properties parsed from JSON text
 * as the collectors parse them.
 */
class PerEventRowTest {
  private static final String[] KEYS = {
    "revenue",
    "Revenue",
    "order id",
    "orderId",
    "order_id",
    "event",
    "Event",
    "timestamp",
    "loaded_at",
    "properties",
    "a b",
    "a_b",
    "A B",
    "ünïcödé",
    "quote\"key",
    "back\\slash",
    "1st",
    "",
    "__",
    "x",
    "nested",
    "list",
    "select"
  };

  @Test
  void theStreamedRowIsTheTreesRowOnRandomEvents() {
    Random random = new Random(11);
    for (int i = 0; i < 5_000; i++) {
      ObjectNode props = JsonNodeFactory.instance.objectNode();
      int n = random.nextInt(8);
      for (int k = 0; k < n; k++) props.set(KEYS[random.nextInt(KEYS.length)], value(random, 2));
      props = parsed(props); // as a collector has them: parsed from a client's JSON
      ObjectNode context = JsonNodeFactory.instance.objectNode().put("ip", "10.0.0." + i);
      Instant t = Instant.ofEpochMilli(1_700_000_000_000L + i);
      CanonicalEvent e =
          new CanonicalEvent(
              "ev-" + i,
              CanonicalEvent.Type.track,
              random.nextBoolean() ? "Order Completed" : "signed up ✓",
              "anon-" + i,
              random.nextBoolean() ? null : "user-" + i,
              t,
              t,
              t,
              random.nextBoolean() ? null : t,
              context,
              props,
              JsonNodeFactory.instance.objectNode(),
              "c1");
      StagedRow row = EventTables.row(e);
      List<StagedRow> expanded = EventTables.expand(row);
      StagedRow expected = byTree(row);
      assertThat(expanded).singleElement().isEqualTo(expected);
    }
  }

  @Test
  void aTrackWithoutAnEventNameHasNoPerEventRow() {
    StagedRow row =
        new StagedRow("tracks", "e1", 0, "{\"event_id\":\"e1\",\"event\":null,\"properties\":{}}");
    assertThat(EventTables.expand(row)).isEmpty();
  }

  private static JsonNode value(Random r, int depth) {
    switch (r.nextInt(depth > 0 ? 9 : 7)) {
      case 0:
        return JsonNodeFactory.instance.nullNode();
      case 1:
        return JsonNodeFactory.instance.numberNode(r.nextInt(2_000_000) - 1_000_000);
      case 2:
        return JsonNodeFactory.instance.numberNode(
            r.nextDouble() * Math.pow(10, r.nextInt(30) - 10));
      case 3:
        return JsonNodeFactory.instance.numberNode(new BigDecimal("12345678901234567890.50"));
      case 4:
        return JsonNodeFactory.instance.booleanNode(r.nextBoolean());
      case 5:
        return JsonNodeFactory.instance.textNode("q\"uo\\te\n\t é ✓ \u0001 </script>");
      case 6:
        return JsonNodeFactory.instance.textNode("plain-" + r.nextInt(100));
      case 7:
        {
          ObjectNode o = JsonNodeFactory.instance.objectNode();
          for (int k = r.nextInt(3); k >= 0; k--)
            o.set(KEYS[r.nextInt(KEYS.length)], value(r, depth - 1));
          return o;
        }
      default:
        {
          ArrayNode a = JsonNodeFactory.instance.arrayNode();
          for (int k = r.nextInt(3); k >= 0; k--) a.add(value(r, depth - 1));
          return a;
        }
    }
  }

  private static ObjectNode parsed(ObjectNode built) {
    try {
      return (ObjectNode) Json.MAPPER.readTree(Json.write(built));
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /** The per-event row built from the parsed canonical row: what expand produced before. */
  private static StagedRow byTree(StagedRow row) {
    ObjectNode canonical;
    try {
      canonical = (ObjectNode) Json.MAPPER.readTree(row.json());
    } catch (Exception e) {
      throw new AssertionError(e);
    }
    ObjectNode perEvent = canonical.deepCopy();
    Map<String, JsonNode> byKey = new TreeMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = canonical.get("properties").fields();
        it.hasNext(); ) {
      Map.Entry<String, JsonNode> p = it.next();
      if (!p.getValue().isNull()) byKey.put(p.getKey(), p.getValue());
    }
    for (Map.Entry<String, JsonNode> p : EventTables.propertyColumns(byKey).entrySet()) {
      JsonNode v = p.getValue();
      if (v.isContainerNode()) perEvent.put(p.getKey(), Json.write(v));
      else perEvent.set(p.getKey(), v);
    }
    return new StagedRow(
        EventTables.eventTableName(canonical.get("event").asText()),
        row.eventId(),
        row.timestampMillis(),
        Json.write(perEvent));
  }
}
