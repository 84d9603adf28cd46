package weir.protocol.event;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Instant;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import weir.protocol.Json;

/**
 * The canonical event's Avro schema ({@code weir/protocol/canonical_event.avsc}) and the codec to
 * it.
 */
public final class CanonicalEventAvro {
  public static final Schema SCHEMA = load();

  private CanonicalEventAvro() {}

  private static Schema load() {
    try (InputStream in =
        CanonicalEventAvro.class.getResourceAsStream("/weir/protocol/canonical_event.avsc")) {
      return new Schema.Parser().parse(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static GenericRecord toRecord(CanonicalEvent e) {
    GenericRecord r = new GenericData.Record(SCHEMA);
    r.put("event_id", e.eventId());
    r.put("type", new GenericData.EnumSymbol(SCHEMA.getField("type").schema(), e.type().name()));
    r.put("event", e.event());
    r.put("anonymous_id", e.anonymousId());
    r.put("user_id", e.userId());
    r.put("timestamp", e.timestamp().toEpochMilli());
    r.put("original_timestamp", millis(e.originalTimestamp()));
    r.put("received_at", e.receivedAt().toEpochMilli());
    r.put("sent_at", millis(e.sentAt()));
    r.put("context", Json.write(e.context()));
    r.put("properties", Json.write(e.properties()));
    r.put("traits", Json.write(e.traits()));
    r.put("connection_id", e.connectionId());
    return r;
  }

  public static CanonicalEvent fromRecord(GenericRecord r) {
    return new CanonicalEvent(
        str(r, "event_id"),
        CanonicalEvent.Type.parse(str(r, "type")),
        str(r, "event"),
        str(r, "anonymous_id"),
        str(r, "user_id"),
        instant(r.get("timestamp")),
        instant(r.get("original_timestamp")),
        instant(r.get("received_at")),
        instant(r.get("sent_at")),
        object(str(r, "context")),
        object(str(r, "properties")),
        object(str(r, "traits")),
        str(r, "connection_id"));
  }

  private static Long millis(Instant t) {
    return t == null ? null : t.toEpochMilli();
  }

  private static Instant instant(Object v) {
    if (v == null) return null;
    return v instanceof Instant i ? i : Instant.ofEpochMilli((Long) v);
  }

  private static String str(GenericRecord r, String field) {
    Object v = r.get(field);
    return v == null ? null : v.toString();
  }

  private static ObjectNode object(String json) {
    try {
      return (ObjectNode) Json.MAPPER.readTree(json);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
