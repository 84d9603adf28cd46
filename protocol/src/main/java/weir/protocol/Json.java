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
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
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
      if (parser.nextToken() != null) {
        throw new BodyException(
            "invalid_json", what + " is not valid JSON: unexpected content after the first value.");
      }
      return node;
    } catch (StreamConstraintsException e) {
      if (e.getMessage() != null && e.getMessage().contains("nesting depth")) {
        throw new BodyException(
            "json_too_deep",
            what + " nests objects or arrays deeper than " + MAX_NESTING_DEPTH + " levels.");
      }
      throw new BodyException(
          "json_limit_exceeded", what + " exceeds a JSON limit: " + e.getOriginalMessage() + ".");
    } catch (JsonProcessingException e) {
      var at = e.getLocation();
      throw new BodyException(
          "invalid_json",
          what
              + " is not valid JSON ("
              + e.getOriginalMessage()
              + (at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr())
              + ").");
    } catch (StackOverflowError e) {
      throw new BodyException("json_too_deep", what + " nests objects or arrays too deeply.");
    } catch (IOException e) {
      throw new BodyException("invalid_json", what + " is not valid JSON.");
    }
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
