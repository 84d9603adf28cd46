package weir.protocol.segment;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import weir.protocol.BodyException;
import weir.protocol.Json;
import weir.protocol.Rejection;
import weir.protocol.event.CanonicalEvent;
import weir.protocol.event.Timestamps;

/**
 * Segment's HTTP Tracking API (the wire format of Segment's and RudderStack's libraries) into
 * {@link CanonicalEvent}s: {@code /v1/track}, {@code identify}, {@code page}, {@code screen},
 * {@code group}, {@code alias} (one message; the endpoint gives the type) and {@code /v1/batch},
 * {@code /v1/import} ({@code {"batch": [...], "context"?}}; each message names its {@code type};
 * the batch context is merged under each message's own).
 *
 * <p>Validation (Segment's rules): every message needs {@code userId} or {@code anonymousId}; track
 * needs {@code event}; group needs {@code groupId}; alias needs {@code previousId} and {@code
 * userId}; a message over 32 KB is rejected. Invalid messages are rejected one by one; the others
 * are accepted. {@code messageId} is the event id (a random UUID when absent). Clock skew: with
 * {@code sentAt}, {@code timestamp = receivedAt - (sentAt - timestamp)} and the client's value is
 * kept as {@code original_timestamp}.
 */
public final class SegmentParser {
  /** Segment's per-message limit. */
  public static final int MAX_MESSAGE_BYTES = 32 * 1024;

  /** Segment's per-request limit. */
  public static final int MAX_REQUEST_BYTES = 500 * 1024;

  private static final int MAX_DEAD_LETTER_PAYLOAD_CHARS = 64 * 1024;

  /** What a body yields: the write key it carries (if any), events, rejections. */
  public record Result(
      Optional<String> writeKey, List<CanonicalEvent> events, List<Rejection> rejections) {}

  private SegmentParser() {}

  /**
   * Parses a request body.
   *
   * @param endpoint the path's last segment: track, identify, page, screen, group, alias, batch or
   *     import
   * @throws BodyException {@code invalid_json} when the body is not a JSON object, {@code
   *     invalid_batch} when a batch has no {@code batch} array, {@code unknown_endpoint}
   */
  public static Result parse(String endpoint, byte[] body, String connectionId, Instant receivedAt)
      throws BodyException {
    String text = Json.utf8(body);
    boolean batchBody = endpoint.equals("batch") || endpoint.equals("import");
    CanonicalEvent.Type type = null;
    if (!batchBody) {
      try {
        type = CanonicalEvent.Type.parse(endpoint);
      } catch (IllegalArgumentException e) {
        throw new BodyException("unknown_endpoint", "No Segment endpoint /v1/" + endpoint + ".");
      }
    }
    // One read of the body: each message's size and dead-letter payload come from its text as
    // sent (its span in the body), never from writing its tree again.
    Json.Spanned spanned = Json.parseSpanning(text, "The body", "batch");
    if (!(spanned.value() instanceof ObjectNode object)) {
      throw new BodyException("invalid_json", "The body must be a JSON object.");
    }
    Optional<String> writeKey = text(object, "writeKey");
    List<CanonicalEvent> events = new ArrayList<>();
    List<Rejection> rejections = new ArrayList<>();
    if (batchBody) {
      JsonNode batch = object.get("batch");
      if (batch == null || !batch.isArray()) {
        throw new BodyException("invalid_batch", "A batch body needs a 'batch' array of messages.");
      }
      ObjectNode batchContext = object.get("context") instanceof ObjectNode c ? c : null;
      Instant batchSentAt = null;
      try {
        batchSentAt = instant(object, "sentAt");
      } catch (InvalidMessage ignored) {
        // a bad batch-level sentAt only disables skew correction for messages without their own
      }
      for (int i = 0; i < batch.size(); i++) {
        JsonNode m = batch.get(i);
        if (writeKey.isEmpty() && m instanceof ObjectNode mo) writeKey = text(mo, "writeKey");
        int start = spanned.starts()[i];
        int end = spanned.ends()[i];
        one(
            i,
            m,
            text,
            start,
            end,
            null,
            batchContext,
            batchSentAt,
            connectionId,
            receivedAt,
            events,
            rejections);
      }
    } else {
      int start = 0;
      int end = text.length();
      while (start < end && Json.whitespace(text.charAt(start))) start++;
      while (end > start && Json.whitespace(text.charAt(end - 1))) end--;
      one(
          0,
          object,
          text,
          start,
          end,
          type,
          null,
          null,
          connectionId,
          receivedAt,
          events,
          rejections);
    }
    return new Result(writeKey, List.copyOf(events), List.copyOf(rejections));
  }

  /**
   * One message, whose text as sent is {@code source} from {@code start} to {@code end}: an event,
   * or a rejection quoting that text.
   */
  private static void one(
      int index,
      JsonNode message,
      String source,
      int start,
      int end,
      CanonicalEvent.Type endpointType,
      ObjectNode batchContext,
      Instant batchSentAt,
      String connectionId,
      Instant receivedAt,
      List<CanonicalEvent> events,
      List<Rejection> rejections) {
    try {
      if (!(message instanceof ObjectNode m))
        throw new InvalidMessage("not_an_object", "The message is not an object.");
      if (Json.utf8Length(source, start, end) > MAX_MESSAGE_BYTES) {
        throw new InvalidMessage("message_too_large", "The message is larger than 32 KB.");
      }
      events.add(message(m, endpointType, batchContext, batchSentAt, connectionId, receivedAt));
    } catch (InvalidMessage e) {
      String raw =
          source.substring(start, Math.min(end, start + MAX_DEAD_LETTER_PAYLOAD_CHARS + 1));
      rejections.add(
          new Rejection(
              index, e.code, e.getMessage(), Json.truncate(raw, MAX_DEAD_LETTER_PAYLOAD_CHARS)));
    }
  }

  static CanonicalEvent message(
      ObjectNode m,
      CanonicalEvent.Type endpointType,
      ObjectNode batchContext,
      Instant batchSentAt,
      String connectionId,
      Instant receivedAt)
      throws InvalidMessage {
    CanonicalEvent.Type type = endpointType;
    if (type == null) {
      String t =
          text(m, "type")
              .orElseThrow(
                  () ->
                      new InvalidMessage(
                          "missing_type",
                          "A batch message needs a 'type' (track, identify, page, screen, group or alias)."));
      try {
        type = CanonicalEvent.Type.parse(t);
      } catch (IllegalArgumentException e) {
        throw new InvalidMessage("invalid_type", "Unknown message type '" + t + "'.");
      }
    }
    String userId = id(m, "userId");
    String anonymousId = id(m, "anonymousId");
    if (userId == null && anonymousId == null) {
      throw new InvalidMessage("missing_user", "The message needs a userId or an anonymousId.");
    }
    String event = null;
    ObjectNode properties = object(m, "properties");
    ObjectNode traits = object(m, "traits");
    switch (type) {
      case track ->
          event =
              text(m, "event")
                  .filter(s -> !s.isBlank())
                  .orElseThrow(
                      () ->
                          new InvalidMessage(
                              "missing_event", "A track message needs an 'event' name."));
      case page, screen -> {
        event = text(m, "name").orElse(null);
        text(m, "category")
            .ifPresent(
                c -> {
                  if (!properties.has("category")) properties.put("category", c);
                });
      }
      case group ->
          properties.put(
              "group_id",
              Optional.ofNullable(id(m, "groupId"))
                  .orElseThrow(
                      () ->
                          new InvalidMessage(
                              "missing_group_id", "A group message needs a 'groupId'.")));
      case alias -> {
        String previous = id(m, "previousId");
        if (previous == null)
          throw new InvalidMessage("missing_previous_id", "An alias message needs a 'previousId'.");
        if (userId == null)
          throw new InvalidMessage("missing_user_id", "An alias message needs a 'userId'.");
        properties.put("previous_id", previous);
      }
      default -> {}
    }
    ObjectNode context = object(m, "context");
    if (batchContext != null) {
      ObjectNode merged = batchContext.deepCopy();
      merged.setAll(context);
      context = merged;
    }
    Instant client = instant(m, "timestamp");
    if (client == null) client = instant(m, "originalTimestamp");
    Instant sentAt = instant(m, "sentAt");
    if (sentAt == null) sentAt = batchSentAt;
    String eventId =
        text(m, "messageId")
            .filter(s -> !s.isBlank())
            .orElseGet(() -> UUID.randomUUID().toString());
    return new CanonicalEvent(
        eventId,
        type,
        event,
        anonymousId,
        userId,
        CanonicalEvent.corrected(client, sentAt, receivedAt),
        client,
        receivedAt,
        sentAt,
        context,
        properties,
        traits,
        connectionId);
  }

  /** A user or group id: a string, or a number (kept as text). */
  private static String id(ObjectNode m, String field) throws InvalidMessage {
    JsonNode v = m.get(field);
    if (v == null || v.isNull()) return null;
    if (v.isNumber()) return v.asText();
    if (!v.isTextual())
      throw new InvalidMessage("invalid_field", "'" + field + "' must be a string.");
    return v.asText().isBlank() ? null : v.asText();
  }

  private static Optional<String> text(ObjectNode m, String field) {
    JsonNode v = m.get(field);
    return v != null && v.isTextual() ? Optional.of(v.asText()) : Optional.empty();
  }

  private static ObjectNode object(ObjectNode m, String field) throws InvalidMessage {
    JsonNode v = m.get(field);
    if (v == null || v.isNull()) return JsonNodeFactory.instance.objectNode();
    if (!(v instanceof ObjectNode o))
      throw new InvalidMessage("invalid_field", "'" + field + "' must be an object.");
    // The message's own tree (parsed for this call, used once): changed in place, not copied.
    return o;
  }

  private static Instant instant(ObjectNode m, String field) throws InvalidMessage {
    JsonNode v = m.get(field);
    if (v == null || v.isNull()) return null;
    Instant t;
    try {
      t = Timestamps.parse(v.asText());
    } catch (DateTimeParseException e) {
      throw new InvalidMessage(
          "invalid_timestamp", "'" + field + "' is not an ISO-8601 timestamp.");
    }
    if (!CanonicalEvent.storable(t)) {
      throw new InvalidMessage(
          "invalid_timestamp", "'" + field + "' is outside the years 1 to 9999.");
    }
    return t;
  }

  /** Why one message is refused. */
  static final class InvalidMessage extends Exception {
    private static final long serialVersionUID = 1L;
    final String code;

    InvalidMessage(String code, String message) {
      super(message, null, false, false);
      this.code = code;
    }
  }
}
