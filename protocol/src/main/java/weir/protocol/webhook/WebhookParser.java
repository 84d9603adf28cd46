package weir.protocol.webhook;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.StringWriter;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import weir.protocol.BodyException;
import weir.protocol.ColumnType;
import weir.protocol.Json;
import weir.protocol.Rejection;
import weir.protocol.StagedRow;
import weir.protocol.TableSpec;

/**
 * Turns the body of a generic webhook request ({@code POST /v1/webhooks/{connectionId}}) into
 * staged rows of the connection's single table: {@code event_id}, {@code received_at}, {@code
 * data}.
 *
 * <p>Accepted bodies: one JSON object, a JSON array of objects, NDJSON (one object per line) or an
 * {@code application/x-www-form-urlencoded} form (one event, string values). Array elements or
 * NDJSON lines that are valid JSON but not objects are rejected one by one; a body that is not
 * valid JSON is rejected as a whole.
 *
 * <p>The {@code event_id} of each object is, in order: the value of the connection's {@code
 * id_field} when set and present; else the {@code X-Event-Id} header for a single-event body; else
 * the SHA-256 of the object's canonical JSON, so that an exact client retry maps to the same id.
 */
public final class WebhookParser {

  /** Raw payloads kept with a rejection are cut to this many characters. */
  public static final int MAX_DEAD_LETTER_PAYLOAD_CHARS = 64 * 1024;

  /** The body formats a webhook accepts, chosen by the request's media type. */
  public enum Format {
    JSON,
    NDJSON,
    FORM;

    /**
     * The format for a media type ({@code type/subtype}, lower case, no parameters), if accepted.
     */
    public static Optional<Format> forMediaType(String mediaType) {
      return switch (mediaType) {
        case "application/json", "text/json" -> Optional.of(JSON);
        case "application/x-ndjson",
            "application/ndjson",
            "application/jsonl",
            "application/x-jsonlines" ->
            Optional.of(NDJSON);
        case "application/x-www-form-urlencoded" -> Optional.of(FORM);
        default -> Optional.empty();
      };
    }
  }

  /**
   * The table of a webhook connection: {@code event_id} (key), {@code received_at}, {@code data}.
   */
  public static TableSpec tableSpec(String table) {
    return TableSpec.fixed(
        table,
        List.of(
            new TableSpec.Column("event_id", ColumnType.STRING),
            new TableSpec.Column("received_at", ColumnType.TIMESTAMP),
            new TableSpec.Column("data", ColumnType.JSON)),
        "event_id");
  }

  /** What a body yields: accepted rows (in request order) and rejected elements. */
  public record Result(List<StagedRow> rows, List<Rejection> rejections) {}

  private final String table;
  private final Optional<String> idField;

  /**
   * @param table the connection's table
   * @param idField the connection's {@code id_field}, if any
   */
  public WebhookParser(String table, Optional<String> idField) {
    this.table = table;
    this.idField = idField.filter(f -> !f.isBlank());
  }

  /**
   * Parses a body.
   *
   * @param body the raw bytes
   * @param format the body format
   * @param eventIdHeader the {@code X-Event-Id} header, if sent
   * @param receivedAt when the node received the request
   * @throws BodyException when nothing of the body can be used (code {@code invalid_json}, {@code
   *     invalid_form}, {@code empty_body}, {@code invalid_encoding})
   */
  public Result parse(
      byte[] body, Format format, Optional<String> eventIdHeader, Instant receivedAt)
      throws BodyException {
    String text = decodeUtf8(body);
    if (text.isBlank()) {
      throw new BodyException("empty_body", "The request body is empty.");
    }
    Optional<String> givenId = eventIdHeader.filter(h -> !h.isBlank());
    if (format == Format.JSON && idField.isEmpty() && givenId.isPresent()) {
      // One object whose id is given (X-Event-Id, a stream record's position): copied into its row
      // token by token, no tree built and written again. Anything else takes the tree path below.
      String row = copiedRow(text, givenId.get(), receivedAt.toString());
      if (row != null) {
        return new Result(
            List.of(new StagedRow(table, givenId.get(), receivedAt.toEpochMilli(), row)),
            List.of());
      }
    }
    List<JsonNode> elements =
        switch (format) {
          case JSON -> jsonElements(text);
          case NDJSON -> ndjsonElements(text);
          case FORM -> List.of(formObject(text));
        };
    boolean singleEvent =
        format == Format.FORM
            || (format == Format.JSON
                && elements.size() == 1
                && !text.stripLeading().startsWith("["));
    Optional<String> headerId =
        singleEvent ? eventIdHeader.filter(h -> !h.isBlank()) : Optional.empty();

    List<StagedRow> rows = new ArrayList<>(elements.size());
    List<Rejection> rejections = new ArrayList<>();
    String receivedAtText = receivedAt.toString();
    for (int i = 0; i < elements.size(); i++) {
      JsonNode element = elements.get(i);
      if (!(element instanceof ObjectNode object)) {
        rejections.add(
            new Rejection(
                i,
                "not_an_object",
                "Element "
                    + i
                    + " is a JSON "
                    + element.getNodeType().name().toLowerCase()
                    + ", not an object.",
                truncate(Json.write(element))));
        continue;
      }
      String eventId = eventId(object, headerId);
      rows.add(toRow(object, eventId, receivedAt, receivedAtText));
    }
    return new Result(List.copyOf(rows), List.copyOf(rejections));
  }

  private StagedRow toRow(
      ObjectNode data, String eventId, Instant receivedAt, String receivedAtText) {
    ObjectNode row = JsonNodeFactory.instance.objectNode();
    row.put("event_id", eventId);
    row.put("received_at", receivedAtText);
    row.set("data", data);
    return new StagedRow(table, eventId, receivedAt.toEpochMilli(), Json.write(row));
  }

  /**
   * The row {@link #toRow} would give for a body that is one JSON object, written while the body is
   * read: the same text (numbers as the tree holds them, big decimals without trailing zeros; the
   * same escapes), or null when only the tree path can tell (not one object, invalid, a key twice
   * in one object: the tree keeps the last).
   */
  static String copiedRow(String text, String eventId, String receivedAtText) {
    StringWriter out = new StringWriter(text.length() + 96);
    try (JsonParser p = Json.MAPPER.createParser(text);
        JsonGenerator g = Json.MAPPER.getFactory().createGenerator(out)) {
      if (p.nextToken() != JsonToken.START_OBJECT) return null;
      g.writeStartObject();
      g.writeStringField("event_id", eventId);
      g.writeStringField("received_at", receivedAtText);
      g.writeFieldName("data");
      ArrayDeque<Set<String>> keys = new ArrayDeque<>();
      int depth = 0;
      JsonToken t = p.currentToken();
      while (true) {
        switch (t) {
          case START_OBJECT -> keys.push(new HashSet<>());
          case END_OBJECT -> keys.pop();
          case FIELD_NAME -> {
            if (!keys.peek().add(p.currentName())) return null;
          }
          default -> {}
        }
        if (t.isStructStart()) depth++;
        else if (t.isStructEnd()) depth--;
        if (t == JsonToken.VALUE_NUMBER_FLOAT)
          g.writeNumber(p.getDecimalValue().stripTrailingZeros());
        else g.copyCurrentEvent(p);
        if (depth == 0) break;
        t = p.nextToken();
        if (t == null) return null;
      }
      if (p.nextToken() != null) return null;
      g.writeEndObject();
    } catch (IOException | StackOverflowError | ArithmeticException e) {
      return null;
    }
    return Json.wellFormed(out.toString());
  }

  private String eventId(ObjectNode object, Optional<String> headerId) {
    if (idField.isPresent()) {
      JsonNode value = object.get(idField.get());
      if (value != null && !value.isNull() && !value.isContainerNode()) {
        String id = value.asText();
        if (!id.isEmpty()) return id;
      }
    }
    return headerId.orElseGet(() -> Json.sha256OfCanonical(object));
  }

  private static List<JsonNode> jsonElements(String text) throws BodyException {
    JsonNode root = readJson(text, "The body");
    if (root instanceof ArrayNode array) {
      List<JsonNode> out = new ArrayList<>(array.size());
      array.forEach(out::add);
      return out;
    }
    return List.of(root);
  }

  private static List<JsonNode> ndjsonElements(String text) throws BodyException {
    List<JsonNode> out = new ArrayList<>();
    int lineNo = 0;
    for (String line : text.split("\r?\n", -1)) {
      lineNo++;
      if (line.isBlank()) continue;
      out.add(readJson(line, "Line " + lineNo + " of the NDJSON body"));
    }
    return out;
  }

  private static JsonNode readJson(String text, String what) throws BodyException {
    return Json.parse(text, what);
  }

  private static ObjectNode formObject(String text) throws BodyException {
    ObjectNode object = JsonNodeFactory.instance.objectNode();
    for (String pair : text.strip().split("&")) {
      if (pair.isEmpty()) continue;
      int eq = pair.indexOf('=');
      String key = eq < 0 ? pair : pair.substring(0, eq);
      String value = eq < 0 ? "" : pair.substring(eq + 1);
      try {
        object.put(
            URLDecoder.decode(key, StandardCharsets.UTF_8),
            URLDecoder.decode(value, StandardCharsets.UTF_8));
      } catch (IllegalArgumentException e) {
        throw new BodyException(
            "invalid_form",
            "The form body has a malformed percent-escape in '" + truncate(pair, 80) + "'.");
      }
    }
    if (object.isEmpty()) throw new BodyException("empty_body", "The form body has no fields.");
    return object;
  }

  private static String decodeUtf8(byte[] body) throws BodyException {
    return Json.utf8(body);
  }

  private static String truncate(String s) {
    return truncate(s, MAX_DEAD_LETTER_PAYLOAD_CHARS);
  }

  private static String truncate(String s, int max) {
    return Json.truncate(s, max);
  }
}
