package weir.node.stream;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import weir.persistence.registry.Connection;
import weir.protocol.BodyException;
import weir.protocol.Json;
import weir.protocol.Rejection;
import weir.protocol.StagedRow;
import weir.protocol.event.CanonicalEvent;
import weir.protocol.event.EventTables;
import weir.protocol.segment.SegmentParser;
import weir.protocol.snowplow.SnowplowParser;
import weir.protocol.webhook.WebhookParser;

/**
 * Stream records (Kafka, Kinesis) as the rows of one journal write, by the connection's {@code
 * format}, with the parsers of the HTTP collectors: {@code json}, each record one event as a
 * webhook body element (its id the record's position, {@code <topic>-<partition>-<offset>} or
 * {@code <shard>-<sequence>}, unless the connection's {@code id_field} names another); {@code
 * segment}, each record one Segment message (or a batch), its id the {@code messageId}; {@code
 * snowplow}, each record a tp2 {@code payload_data} body (as trackers POST it) or one event's
 * fields, its id the {@code eid}. A message without its own id gets its position (and its index in
 * the record), so a redelivered record loads nothing twice. A record that is not such an event is a
 * rejection (a dead letter naming its position); it never holds back the records after it.
 */
final class StreamRecords {
  private static final int MAX_PAYLOAD_CHARS = WebhookParser.MAX_DEAD_LETTER_PAYLOAD_CHARS;

  /** What a group of records gives. */
  record Parsed(List<StagedRow> rows, List<Rejection> rejections) {}

  /**
   * One record: where it is in its stream ({@code <topic>-<partition>-<offset>}, {@code
   * <shard>-<sequence>}) and its bytes.
   */
  record StreamRecord(String position, byte[] value) {}

  private StreamRecords() {}

  static Parsed parse(Connection connection, List<StreamRecord> records) {
    Instant receivedAt = Instant.now();
    List<StagedRow> rows = new ArrayList<>(records.size());
    List<Rejection> rejections = new ArrayList<>();
    WebhookParser json = new WebhookParser(connection.table(), connection.idFieldIfAny());
    boolean segment = "segment".equals(connection.eventFormat());
    boolean snowplow = "snowplow".equals(connection.eventFormat());
    for (int i = 0; i < records.size(); i++) {
      StreamRecord r = records.get(i);
      String position = r.position();
      byte[] value = r.value() == null ? new byte[0] : r.value();
      try {
        if (snowplow) {
          int n = 0;
          for (Map<String, String> fields : snowplowEvents(value)) {
            // An event without its own id gets its position: delivered again, it is the same.
            String at = position + "-" + n++;
            if (fields.get("eid") == null || fields.get("eid").isBlank()) fields.put("eid", at);
            try {
              rows.add(
                  EventTables.row(SnowplowParser.toEvent(fields, connection.id(), receivedAt)));
            } catch (SnowplowParser.InvalidEvent e) {
              rejections.add(
                  new Rejection(
                      i,
                      e.code(),
                      position + ": " + e.getMessage(),
                      Json.truncate(
                          Json.write(Json.MAPPER.valueToTree(fields)), MAX_PAYLOAD_CHARS)));
            }
          }
        } else if (segment) {
          byte[] withIds = withMessageIds(value, position);
          SegmentParser.Result parsed =
              SegmentParser.parse(endpoint(withIds), withIds, connection.id(), receivedAt);
          for (CanonicalEvent e : parsed.events())
            rows.add(EventTables.row(e.withConnectionId(connection.id())));
          for (Rejection x : parsed.rejections())
            rejections.add(new Rejection(i, x.code(), position + ": " + x.message(), x.payload()));
        } else {
          if (!startsWithObject(value))
            throw new BodyException(
                "not_an_object", "A record of a json connection is one JSON object.");
          WebhookParser.Result parsed =
              json.parse(value, WebhookParser.Format.JSON, Optional.of(position), receivedAt);
          rows.addAll(parsed.rows());
          for (Rejection x : parsed.rejections())
            rejections.add(new Rejection(i, x.code(), position + ": " + x.message(), x.payload()));
        }
      } catch (RuntimeException e) {
        // Whatever a parser cannot handle is this record's dead letter, never its partition's end.
        rejections.add(
            new Rejection(
                i,
                "invalid_record",
                position + ": " + e.getClass().getSimpleName(),
                Json.truncate(
                    Json.wellFormed(new String(value, StandardCharsets.UTF_8)),
                    MAX_PAYLOAD_CHARS)));
      } catch (BodyException e) {
        rejections.add(
            new Rejection(
                i,
                e.code(),
                position + ": " + e.getMessage(),
                Json.truncate(
                    Json.wellFormed(new String(value, StandardCharsets.UTF_8)),
                    MAX_PAYLOAD_CHARS)));
      }
    }
    return new Parsed(rows, rejections);
  }

  /** Whether the first byte after JSON whitespace is {@code {}. */
  private static boolean startsWithObject(byte[] value) {
    for (byte b : value) {
      if (Json.whitespace(b)) continue;
      return b == '{';
    }
    return false;
  }

  /**
   * The Segment record with a {@code messageId} on every message that has none: its position and
   * index ({@code <position>-<n>}), so that a redelivered record loads nothing twice.
   */
  private static byte[] withMessageIds(byte[] value, String position) {
    JsonNode node;
    try {
      node = Json.MAPPER.readTree(value);
    } catch (java.io.IOException e) {
      return value;
    }
    if (!(node instanceof com.fasterxml.jackson.databind.node.ObjectNode object)) return value;
    List<com.fasterxml.jackson.databind.node.ObjectNode> messages = new ArrayList<>();
    if (object.get("batch") instanceof com.fasterxml.jackson.databind.node.ArrayNode batch) {
      batch.forEach(
          m -> {
            if (m instanceof com.fasterxml.jackson.databind.node.ObjectNode o) messages.add(o);
          });
    } else messages.add(object);
    boolean changed = false;
    for (int n = 0; n < messages.size(); n++) {
      JsonNode id = messages.get(n).get("messageId");
      if (id == null || !id.isTextual() || id.asText().isBlank()) {
        messages.get(n).put("messageId", position + "-" + n);
        changed = true;
      }
    }
    return changed ? Json.write(object).getBytes(StandardCharsets.UTF_8) : value;
  }

  /** A Snowplow record's events: a tp2 payload_data body's, or the record's own fields. */
  private static List<Map<String, String>> snowplowEvents(byte[] value) throws BodyException {
    JsonNode node = Json.parse(Json.utf8(value), "The record");
    if (node.path("schema").asText().contains("payload_data")) {
      List<Map<String, String>> out = new ArrayList<>();
      for (Map<String, String> m : SnowplowParser.payloads(value))
        out.add(new java.util.LinkedHashMap<>(m));
      return out;
    }
    if (!(node instanceof com.fasterxml.jackson.databind.node.ObjectNode object))
      throw new BodyException(
          "invalid_payload", "A Snowplow record is a tp2 payload_data body or one event object.");
    Map<String, String> fields = new java.util.LinkedHashMap<>();
    object
        .fields()
        .forEachRemaining(
            f ->
                fields.put(
                    f.getKey(),
                    f.getValue().isTextual() ? f.getValue().asText() : Json.write(f.getValue())));
    return new ArrayList<>(List.of(fields));
  }

  /** The Segment call a message is: its {@code type}, or {@code batch} for a batch body. */
  private static String endpoint(byte[] value) {
    try {
      JsonNode node = Json.MAPPER.readTree(value);
      if (node != null && node.has("batch")) return "batch";
      if (node != null && node.path("type").isTextual()) return node.get("type").asText();
    } catch (java.io.IOException ignored) {
      // the parser says what is wrong with it
    }
    return "track";
  }
}
