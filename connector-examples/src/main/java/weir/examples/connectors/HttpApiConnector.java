package weir.examples.connectors;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.math.BigDecimal;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import weir.sdk.ConnectorException;
import weir.sdk.Operations;
import weir.sdk.SourceConnector;
import weir.sdk.Table;

/**
 * Copies one resource of a paginated JSON API incrementally. The API: {@code GET
 * {base_url}/{resource}?updated_since=<ISO instant>&page_token=<token>} answers {@code {"items":
 * [...], "next_page_token": "..." | null}}, every item an object with an {@code id} (number or
 * text) and an {@code updated_at} (ISO instant), and {@code "deleted": true} on an item deleted at
 * the source. Items with {@code updated_at} at or after {@code updated_since} are expected (an API
 * that answers only those strictly after works too).
 *
 * <p>Configuration:
 *
 * <ul>
 *   <li>{@code base_url} (required): {@code https://api.example.com/v1}; without user info or
 *       query.
 *   <li>{@code api_token} (optional): sent as {@code Authorization: Bearer <token>}; never shown in
 *       a message, and cut out of the response excerpts that errors quote.
 *   <li>{@code resource} (required): the path segment after {@code base_url} (letters, digits,
 *       {@code _}, {@code -}), and the emitted table's name.
 * </ul>
 *
 * <p>State, under the resource's name as the convention wants (a per-table re-sync removes it):
 * {@code {"<resource>": {"updated_since": "<ISO instant>"}}} between syncs: the greatest {@code
 * updated_at} a completed sweep saw, where the next sync starts. While a sweep is in progress the
 * checkpoint after every page also holds {@code "page_token"} (the next page's) and {@code
 * "max_updated_at"} (the greatest {@code updated_at} seen so far), {@code updated_since} staying
 * the sweep's own: a sync that fails resumes at the page it was on, with the same query. When the
 * sweep ends, {@code page_token} and {@code max_updated_at} go and {@code updated_since} advances.
 *
 * <p>Semantics: one {@code INCREMENTAL_UPDATES} table keyed by {@code id}. An item is upserted with
 * its fields as columns ({@code updated_at} an {@link Instant}, integers {@code Long}, other
 * numbers {@link BigDecimal}, nested objects and arrays JSON columns as {@code Map} and {@code
 * List}) and without its {@code deleted} flag; a deleted item is a {@code delete} by {@code id}.
 * Answers 429 and 503 are retried up to {@value #ATTEMPTS} attempts in all, after their {@code
 * Retry-After} (seconds or a date, at most {@code 30 s}) or else after 0.5 s, 1 s, 2 s; any other
 * non-2xx answer, a redirect, a body that is not the format above, or an unreachable server fails
 * the sync with the request, the status and an excerpt of the body.
 */
public final class HttpApiConnector implements SourceConnector {
  static final int ATTEMPTS = 4;
  private static final Duration FIRST_BACKOFF = Duration.ofMillis(500);
  private static final Duration MAX_RETRY_AFTER = Duration.ofSeconds(30);
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(30);
  private static final int EXCERPT = 200;
  private static final Pattern RESOURCE = Pattern.compile("[A-Za-z0-9_-]{1,100}");
  private static final ObjectMapper JSON =
      new ObjectMapper()
          .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
          .enable(DeserializationFeature.USE_LONG_FOR_INTS);

  // Redirects are not followed: the token must only go where base_url says.
  private final HttpClient http =
      HttpClient.newBuilder()
          .connectTimeout(Duration.ofSeconds(10))
          .followRedirects(HttpClient.Redirect.NEVER)
          .build();

  @Override
  public List<Table> schema(Map<String, String> configuration) {
    return List.of(Table.of(Settings.from(configuration).resource(), "id"));
  }

  @Override
  public void update(Map<String, String> configuration, Map<String, Object> state, Operations ops) {
    Settings s = Settings.from(configuration);
    Map<String, Object> saved = saved(state.get(s.resource()), s);
    String since = (String) saved.get("updated_since");
    String token = (String) saved.get("page_token");
    String max = (String) saved.getOrDefault("max_updated_at", since);
    Instant greatest = max == null ? null : instant(max, "the saved state of " + s.resource());
    Map<String, Object> next = new LinkedHashMap<>(state);
    do {
      URI uri = s.pageUri(since, token);
      JsonNode page = get(s, uri);
      JsonNode items = page.get("items");
      if (items == null || !items.isArray())
        throw new ConnectorException("GET " + uri + " answered no \"items\" array");
      int n = 0;
      for (JsonNode item : items) {
        String where = "item " + ++n + " of GET " + uri;
        Item parsed = Item.of(item, where);
        if (greatest == null || parsed.updatedAt().isAfter(greatest)) greatest = parsed.updatedAt();
        if (parsed.deleted()) ops.delete(s.resource(), Map.of("id", parsed.id()));
        else ops.upsert(s.resource(), parsed.row());
      }
      JsonNode nextToken = page.get("next_page_token");
      if (nextToken != null && !nextToken.isNull() && !nextToken.isTextual())
        throw new ConnectorException("GET " + uri + " answered a next_page_token that is not text");
      String following = nextToken == null || nextToken.isNull() ? null : nextToken.asText();
      if (following != null && following.equals(token))
        throw new ConnectorException(
            "GET " + uri + " answered its own page_token as the next one (it would never end)");
      token = following;
      Map<String, Object> mine = new LinkedHashMap<>();
      if (token == null) {
        if (greatest != null) mine.put("updated_since", greatest.toString());
      } else {
        if (since != null) mine.put("updated_since", since);
        mine.put("page_token", token);
        if (greatest != null) mine.put("max_updated_at", greatest.toString());
      }
      next.put(s.resource(), mine);
      ops.checkpoint(next);
    } while (token != null);
  }

  /** One item of a page. */
  private record Item(Object id, Instant updatedAt, boolean deleted, Map<String, Object> row) {
    static Item of(JsonNode item, String where) {
      if (!item.isObject()) throw new ConnectorException(where + " is not an object");
      JsonNode id = item.get("id");
      if (id == null || !(id.isIntegralNumber() || id.isTextual()))
        throw new ConnectorException(where + " has no \"id\" (a number or text)");
      JsonNode updated = item.get("updated_at");
      if (updated == null || !updated.isTextual())
        throw new ConnectorException(where + " has no \"updated_at\" (an ISO instant)");
      Instant updatedAt = instant(updated.asText(), where);
      Map<String, Object> row = new LinkedHashMap<>();
      for (Iterator<Map.Entry<String, JsonNode>> it = item.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> f = it.next();
        if (!f.getKey().equals("deleted")) row.put(f.getKey(), column(f.getValue()));
      }
      row.put("updated_at", updatedAt);
      return new Item(row.get("id"), updatedAt, item.path("deleted").asBoolean(false), row);
    }

    private static Object column(JsonNode v) {
      if (v.isNull()) return null;
      if (v.isBoolean()) return v.booleanValue();
      if (v.isIntegralNumber())
        return v.canConvertToLong() ? (Object) v.longValue() : new BigDecimal(v.bigIntegerValue());
      if (v.isNumber()) return v.decimalValue();
      if (v.isTextual()) return v.textValue();
      return JSON.convertValue(v, Object.class);
    }
  }

  private static Instant instant(String text, String where) {
    try {
      return OffsetDateTime.parse(text).toInstant();
    } catch (DateTimeParseException e) {
      throw new ConnectorException(where + ": '" + text + "' is not an ISO instant");
    }
  }

  /** GET {@code uri}, retrying 429 and 503; its body as JSON. */
  private JsonNode get(Settings s, URI uri) {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(uri).timeout(REQUEST_TIMEOUT).header("Accept", "application/json");
    if (s.apiToken() != null) request.header("Authorization", "Bearer " + s.apiToken());
    for (int attempt = 1; ; attempt++) {
      HttpResponse<String> r;
      try {
        r = http.send(request.GET().build(), HttpResponse.BodyHandlers.ofString());
      } catch (IOException e) {
        throw new ConnectorException(
            "cannot reach "
                + s.baseUrl()
                + " (GET "
                + uri
                + "): "
                + e.getClass().getSimpleName()
                + (e.getMessage() == null ? "" : " " + s.redact(e.getMessage())));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new ConnectorException("interrupted while waiting for GET " + uri);
      }
      int status = r.statusCode();
      if (status >= 200 && status < 300) {
        try {
          return JSON.readTree(r.body());
        } catch (JsonProcessingException e) {
          throw new ConnectorException(
              "GET " + uri + " answered HTTP " + status + " but not JSON: " + excerpt(r.body(), s));
        }
      }
      boolean retryable = status == 429 || status == 503;
      if (!retryable || attempt == ATTEMPTS)
        throw new ConnectorException(
            "GET "
                + uri
                + " answered HTTP "
                + status
                + (retryable ? " (" + ATTEMPTS + " attempts)" : "")
                + (status >= 300 && status < 400 ? " (redirects are not followed)" : "")
                + ": "
                + excerpt(r.body(), s));
      pause(retryDelay(r, attempt), uri);
    }
  }

  /** {@code Retry-After} (seconds or an HTTP date), capped; else a doubling backoff. */
  private static Duration retryDelay(HttpResponse<?> r, int attempt) {
    Duration wait = FIRST_BACKOFF.multipliedBy(1L << (attempt - 1));
    String header = r.headers().firstValue("Retry-After").orElse("").trim();
    if (!header.isEmpty()) {
      try {
        wait = Duration.ofSeconds(Math.max(0, Long.parseLong(header)));
      } catch (NumberFormatException notSeconds) {
        try {
          ZonedDateTime at = ZonedDateTime.parse(header, DateTimeFormatter.RFC_1123_DATE_TIME);
          wait = Duration.between(Instant.now(), at.toInstant());
          if (wait.isNegative()) wait = Duration.ZERO;
        } catch (DateTimeParseException unreadable) {
          // keep the backoff
        }
      }
    }
    return wait.compareTo(MAX_RETRY_AFTER) > 0 ? MAX_RETRY_AFTER : wait;
  }

  private static void pause(Duration wait, URI uri) {
    try {
      Thread.sleep(wait.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ConnectorException("interrupted while waiting to retry GET " + uri);
    }
  }

  private static String excerpt(String body, Settings s) {
    String flat = s.redact(body == null ? "" : body).replaceAll("\\s+", " ").trim();
    if (flat.isEmpty()) return "(empty body)";
    return flat.length() <= EXCERPT ? flat : flat.substring(0, EXCERPT) + "...";
  }

  private static Map<String, Object> saved(Object saved, Settings s) {
    if (saved == null) return Map.of();
    if (!(saved instanceof Map<?, ?> m))
      throw new ConnectorException(
          "the saved state of " + s.resource() + " is not an object: re-sync the table");
    Map<String, Object> out = new LinkedHashMap<>();
    for (String k : List.of("updated_since", "page_token", "max_updated_at")) {
      Object v = m.get(k);
      if (v == null) continue;
      if (!(v instanceof String))
        throw new ConnectorException(
            "the saved state of " + s.resource() + " has a " + k + " that is not text");
      out.put(k, v);
    }
    return out;
  }

  /** The configuration, validated. */
  private record Settings(String baseUrl, String apiToken, String resource) {
    static Settings from(Map<String, String> c) {
      String base = required(c, "base_url", "the API's address, e.g. https://api.example.com/v1");
      URI uri;
      try {
        uri = new URI(base);
      } catch (URISyntaxException e) {
        throw new ConnectorException(
            "base_url is not a URL (" + e.getReason() + " at index " + e.getIndex() + ")");
      }
      if (!"http".equalsIgnoreCase(uri.getScheme()) && !"https".equalsIgnoreCase(uri.getScheme()))
        throw new ConnectorException(
            "base_url must be an http:// or https:// URL, e.g. https://api.example.com/v1");
      if (uri.getRawUserInfo() != null)
        throw new ConnectorException(
            "base_url must not hold credentials (user info): give the token as api_token");
      if (uri.getHost() == null)
        throw new ConnectorException("base_url has no host, e.g. https://api.example.com/v1");
      if (uri.getRawQuery() != null || uri.getRawFragment() != null)
        throw new ConnectorException("base_url must not have a query or a fragment");
      String token = c.get("api_token");
      if (token != null && token.isBlank()) token = null;
      if (token != null && !token.chars().allMatch(ch -> ch > 0x20 && ch < 0x7f))
        throw new ConnectorException(
            "api_token holds a character an HTTP header cannot carry (a space or a line break?)");
      String resource = required(c, "resource", "the collection to read, e.g. orders");
      if (!RESOURCE.matcher(resource).matches())
        throw new ConnectorException(
            "resource must be one path segment (letters, digits, _ and -): got '" + resource + "'");
      return new Settings(base.replaceAll("/+$", ""), token, resource);
    }

    URI pageUri(String updatedSince, String pageToken) {
      List<String> query = new ArrayList<>();
      if (updatedSince != null) query.add("updated_since=" + encode(updatedSince));
      if (pageToken != null) query.add("page_token=" + encode(pageToken));
      return URI.create(
          baseUrl + "/" + resource + (query.isEmpty() ? "" : "?" + String.join("&", query)));
    }

    /** {@code text} with the token taken out. */
    String redact(String text) {
      return apiToken == null ? text : text.replace(apiToken, "***");
    }

    private static String encode(String v) {
      return URLEncoder.encode(v, StandardCharsets.UTF_8);
    }

    private static String required(Map<String, String> c, String key, String what) {
      String v = c.get(key);
      if (v == null || v.isBlank())
        throw new ConnectorException("missing configuration key '" + key + "' (" + what + ")");
      return v.trim();
    }
  }
}
