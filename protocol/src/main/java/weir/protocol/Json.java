package weir.protocol;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;

/**
 * The one Jackson setup for Weir's external JSON (HTTP bodies, staged rows), the one place bodies
 * are read (with precise error codes), and the canonical JSON form used to derive content-addressed
 * event ids.
 *
 * <p>Everything {@link #write} produces is well-formed UTF-16 (and so encodes to UTF-8 exactly):
 * JSON allows a lone surrogate escape such as {@code "\ud800"}, which no UTF-8 store can hold; it
 * is replaced by U+FFFD. Limits of what is read: {@link #MAX_NESTING_DEPTH} levels, Jackson's
 * defaults for number and string lengths.
 */
public final class Json {

  /** Objects and arrays nested deeper than this are refused ({@code json_too_deep}). */
  public static final int MAX_NESTING_DEPTH = 1000;

  /**
   * Shared, thread-safe mapper for external JSON. Big numbers stay exact; NaN and Infinity are
   * refused.
   */
  public static final ObjectMapper MAPPER = mapper();

  private static ObjectMapper mapper() {
    ObjectMapper mapper =
        JsonMapper.builder()
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .disable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
            .build();
    mapper
        .getFactory()
        .setStreamReadConstraints(
            StreamReadConstraints.builder().maxNestingDepth(MAX_NESTING_DEPTH).build());
    return mapper;
  }

  private Json() {}

  /** Compact JSON text of a tree; always well-formed (lone surrogates become U+FFFD). */
  public static String write(JsonNode node) {
    try {
      return wellFormed(MAPPER.writeValueAsString(node));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * {@code s} with every unpaired UTF-16 surrogate replaced by U+FFFD, so that it encodes to UTF-8
   * (journal, staged files, warehouses) without loss of anything else; {@code s} itself when it has
   * none.
   */
  public static String wellFormed(String s) {
    if (s == null) return null;
    int n = s.length();
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      if (!Character.isSurrogate(c)) continue;
      if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
        i++;
        continue;
      }
      return replaceLoneSurrogates(s);
    }
    return s;
  }

  private static String replaceLoneSurrogates(String s) {
    StringBuilder out = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c)
          && i + 1 < s.length()
          && Character.isLowSurrogate(s.charAt(i + 1))) {
        out.append(c).append(s.charAt(++i));
      } else {
        out.append(Character.isSurrogate(c) ? '\uFFFD' : c);
      }
    }
    return out.toString();
  }

  /** The first {@code maxChars} characters of {@code s}, never splitting a surrogate pair. */
  public static String truncate(String s, int maxChars) {
    if (s == null || s.length() <= maxChars) return s;
    int end = Character.isHighSurrogate(s.charAt(maxChars - 1)) ? maxChars - 1 : maxChars;
    return s.substring(0, end);
  }

  /**
   * A request body as text: strict UTF-8.
   *
   * @throws BodyException {@code invalid_encoding} when the bytes are not UTF-8
   */
  public static String utf8(byte[] body) throws BodyException {
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(body))
          .toString();
    } catch (CharacterCodingException e) {
      throw new BodyException("invalid_encoding", "The body is not valid UTF-8.");
    }
  }

  /**
   * Reads one JSON value that must be all of {@code text}.
   *
   * @param what the subject of the error messages ("The body", "Line 3 of the NDJSON body")
   * @throws BodyException {@code invalid_json} (with line and column), {@code json_too_deep}
   *     (nesting beyond {@link #MAX_NESTING_DEPTH}) or {@code json_limit_exceeded} (a number or
   *     string beyond Jackson's limits)
   */
  public static JsonNode parse(String text, String what) throws BodyException {
    try (JsonParser parser = MAPPER.createParser(text)) {
      JsonToken first = parser.nextToken();
      if (first == null)
        throw new BodyException("invalid_json", what + " is not valid JSON: it is empty.");
      JsonNode node = MAPPER.readTree(parser);
      if (parser.nextToken() != null) throw trailingContent(what);
      return node;
    } catch (IOException | StackOverflowError e) {
      throw readFailure(e, what);
    }
  }

  /**
   * One JSON value read as {@link #parse} reads it (same errors), with the source text of each
   * element of the top-level object's array field {@code field}: where each element is in {@code
   * text}, so that a caller can measure or quote an element as it was sent without writing its tree
   * again.
   *
   * @param value the value read; when it is an object with an array {@code field}, that array holds
   *     the elements
   * @param starts,ends per element of the array {@code field}, its first and past-its-last char in
   *     {@code text}; empty arrays when there is no such array
   */
  public record Spanned(JsonNode value, int[] starts, int[] ends) {}

  /**
   * {@link #parse}, with the spans of the elements of the array {@code field} ({@link Spanned}).
   */
  public static Spanned parseSpanning(String text, String what, String field) throws BodyException {
    ObjectNode root = MAPPER.getNodeFactory().objectNode();
    int[] starts = new int[0];
    int[] ends = new int[0];
    try (JsonParser parser = MAPPER.createParser(text)) {
      if (parser.nextToken() != JsonToken.START_OBJECT)
        return new Spanned(parse(text, what), starts, ends);
      for (JsonToken t = parser.nextToken(); t == JsonToken.FIELD_NAME; t = parser.nextToken()) {
        String name = parser.currentName();
        JsonToken value = parser.nextToken();
        if (!name.equals(field) || value != JsonToken.START_ARRAY) {
          root.set(name, ELEMENT_READER.readTree(parser));
          continue;
        }
        ArrayNode array = root.putArray(name);
        int n = 0;
        starts = new int[16];
        ends = new int[16];
        for (JsonToken e = parser.nextToken(); e != JsonToken.END_ARRAY; e = parser.nextToken()) {
          if (n == starts.length) {
            starts = Arrays.copyOf(starts, n * 2);
            ends = Arrays.copyOf(ends, n * 2);
          }
          starts[n] = (int) parser.currentTokenLocation().getCharOffset();
          array.add((JsonNode) ELEMENT_READER.readTree(parser));
          ends[n++] = (int) parser.currentLocation().getCharOffset();
        }
        starts = Arrays.copyOf(starts, n);
        ends = Arrays.copyOf(ends, n);
      }
      if (parser.nextToken() != null) {
        parse(text, what); // content after the object: the error parse gives (it throws)
        throw trailingContent(what);
      }
      return new Spanned(root, starts, ends);
    } catch (IOException | StackOverflowError e) {
      throw readFailure(e, what);
    }
  }

  /** Reads one value at the parser's current token, leaving what follows it unread. */
  private static final ObjectReader ELEMENT_READER =
      MAPPER.reader().without(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  /** The bytes {@code s} from {@code start} to {@code end} take in UTF-8 (s well-formed). */
  public static int utf8Length(CharSequence s, int start, int end) {
    int bytes = 0;
    for (int i = start; i < end; i++) {
      char c = s.charAt(i);
      if (c < 0x80) bytes++;
      else if (c < 0x800) bytes += 2;
      else if (Character.isHighSurrogate(c)
          && i + 1 < end
          && Character.isLowSurrogate(s.charAt(i + 1))) {
        bytes += 4;
        i++;
      } else bytes += 3;
    }
    return bytes;
  }

  /** Whether {@code c} is JSON whitespace (space, tab, line feed, carriage return). */
  public static boolean whitespace(int c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
  }

  private static BodyException trailingContent(String what) {
    return new BodyException(
        "invalid_json", what + " is not valid JSON: unexpected content after the first value.");
  }

  /** The {@link BodyException} of a failed read of {@code what}. */
  private static BodyException readFailure(Throwable e, String what) {
    if (e instanceof StreamConstraintsException c) {
      if (c.getMessage() != null && c.getMessage().contains("nesting depth")) {
        return new BodyException(
            "json_too_deep",
            what + " nests objects or arrays deeper than " + MAX_NESTING_DEPTH + " levels.");
      }
      return new BodyException(
          "json_limit_exceeded", what + " exceeds a JSON limit: " + c.getOriginalMessage() + ".");
    }
    if (e instanceof JsonProcessingException j) {
      var at = j.getLocation();
      return new BodyException(
          "invalid_json",
          what
              + " is not valid JSON ("
              + j.getOriginalMessage()
              + (at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr())
              + ").");
    }
    if (e instanceof StackOverflowError)
      return new BodyException("json_too_deep", what + " nests objects or arrays too deeply.");
    return new BodyException("invalid_json", what + " is not valid JSON.");
  }

  /**
   * The canonical form of a JSON value: object keys sorted (recursively), no insignificant
   * whitespace. Two objects that differ only in key order or formatting have the same canonical
   * form.
   */
  public static String canonical(JsonNode node) {
    StringBuilder out = new StringBuilder();
    appendCanonical(node, out);
    return out.toString();
  }

  private static void appendCanonical(JsonNode node, StringBuilder out) {
    if (node.isObject()) {
      Map<String, JsonNode> sorted = new TreeMap<>();
      for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        sorted.put(e.getKey(), e.getValue());
      }
      out.append('{');
      boolean first = true;
      for (Map.Entry<String, JsonNode> e : sorted.entrySet()) {
        if (!first) out.append(',');
        first = false;
        out.append(MAPPER.getNodeFactory().textNode(e.getKey()).toString()).append(':');
        appendCanonical(e.getValue(), out);
      }
      out.append('}');
    } else if (node.isArray()) {
      out.append('[');
      for (int i = 0; i < node.size(); i++) {
        if (i > 0) out.append(',');
        appendCanonical(node.get(i), out);
      }
      out.append(']');
    } else {
      out.append(node.toString());
    }
  }

  /** Lower-case hex SHA-256 of the canonical JSON of {@code node}. */
  public static String sha256OfCanonical(ObjectNode node) {
    return sha256Hex(canonical(node).getBytes(StandardCharsets.UTF_8));
  }

  /** Lower-case hex SHA-256 of {@code bytes}. */
  public static String sha256Hex(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required by every JRE", e);
    }
  }
}
