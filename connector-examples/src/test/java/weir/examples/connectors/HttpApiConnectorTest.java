package weir.examples.connectors;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.math.BigDecimal;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import weir.sdk.ColumnType;
import weir.sdk.testing.ConnectorHarness;
import weir.sdk.testing.ConnectorHarness.Counts;
import weir.sdk.testing.ConnectorHarness.SyncResult;

/** The HTTP API connector against an in-memory paginated API on a local port. */
class HttpApiConnectorTest {
  private static final String TOKEN = "tok-Secret-5521";

  private FakeApi api;

  @BeforeEach
  void start() throws IOException {
    api = new FakeApi(TOKEN);
  }

  @AfterEach
  void stop() {
    api.close();
  }

  @Test
  void aSweepReadsEveryPageWithTheTokenAndCheckpointsAfterEach() {
    for (int i = 1; i <= 7; i++) api.put(item(i, "10:0" + i));
    api.put(item(6, "10:06", "deleted", true));
    Map<String, Object> nested = item(4, "10:04");
    nested.put("customer", Map.of("name", "Dee", "address", Map.of("city", "Lyon")));
    nested.put("tags", List.of("gift", "express"));
    api.put(nested);
    ConnectorHarness harness = new ConnectorHarness(new HttpApiConnector(), configuration());

    SyncResult r = harness.sync();
    assertThat(r.succeeded()).as(r.error()).isTrue();
    assertThat(counts(r)).isEqualTo(new Counts(6, 0, 1, 0));
    assertThat(r.checkpoints()).as("one per page of 2").isEqualTo(4);
    assertThat(harness.liveRows("orders"))
        .extracting(x -> x.get("id"))
        .containsExactly(1L, 2L, 3L, 4L, 5L, 7L);
    Map<String, Object> four = row(harness, 4L);
    assertThat(four)
        .containsEntry("customer", Map.of("name", "Dee", "address", Map.of("city", "Lyon")))
        .containsEntry("tags", List.of("gift", "express"))
        .containsEntry("amount", new BigDecimal("40.5"))
        .containsEntry("updated_at", Instant.parse("2024-05-01T10:04:00Z"));
    assertThat(harness.columns("orders"))
        .containsEntry("id", ColumnType.LONG)
        .containsEntry("amount", ColumnType.DECIMAL)
        .containsEntry("customer", ColumnType.JSON)
        .containsEntry("tags", ColumnType.JSON)
        .containsEntry("updated_at", ColumnType.UTC_DATETIME)
        .doesNotContainKey("deleted");
    assertThat(harness.state())
        .isEqualTo(Map.of("orders", Map.of("updated_since", "2024-05-01T10:07:00Z")));
    assertThat(api.requests()).hasSize(4).first().isEqualTo("/orders");
    assertThat(api.authorizations()).containsOnly("Bearer " + TOKEN);
  }

  @Test
  void aSecondSyncAsksOnlyForWhatChangedSinceTheFirst() {
    for (int i = 1; i <= 5; i++) api.put(item(i, "10:0" + i));
    ConnectorHarness harness = new ConnectorHarness(new HttpApiConnector(), configuration());
    harness.sync();

    Map<String, Object> two = item(2, "11:00");
    two.put("amount", 99);
    api.put(two);
    api.put(item(3, "11:01", "deleted", true));
    api.put(item(6, "11:02"));
    int before = api.requests().size();
    SyncResult r = harness.sync();

    assertThat(r.succeeded()).as(r.error()).isTrue();
    assertThat(api.requests().get(before)).isEqualTo("/orders?updated_since=2024-05-01T10:05:00Z");
    // 2 and 6 changed; 5 comes again: updated_since is inclusive.
    assertThat(counts(r)).isEqualTo(new Counts(3, 0, 1, 0));
    assertThat(harness.liveRows("orders"))
        .extracting(x -> x.get("id"))
        .containsExactlyInAnyOrder(1L, 2L, 4L, 5L, 6L);
    assertThat(row(harness, 2L)).containsEntry("amount", 99L);
    assertThat(row(harness, 3L)).containsEntry("_weir_deleted", true);
    assertThat(harness.state())
        .isEqualTo(Map.of("orders", Map.of("updated_since", "2024-05-01T11:02:00Z")));
  }

  @Test
  void aSweepThatFailsMidwayResumesAtThePageItReachedWithNothingMissingOrTwice() {
    for (int i = 1; i <= 10; i++) api.put(item(i, String.format("10:%02d", i)));
    api.fail(3, 500, null, "{\"error\":\"database is on fire\"}", 1);
    ConnectorHarness harness = new ConnectorHarness(new HttpApiConnector(), configuration());

    SyncResult failed = harness.sync();
    assertThat(failed.succeeded()).isFalse();
    assertThat(failed.error())
        .isEqualTo(
            "GET "
                + api.baseUrl()
                + "/orders?page_token=page-3 answered HTTP 500: {\"error\":\"database is on fire\"}");
    assertThat(counts(failed).upserts()).isEqualTo(4);
    assertThat(harness.state())
        .isEqualTo(
            Map.of(
                "orders",
                Map.of("page_token", "page-3", "max_updated_at", "2024-05-01T10:04:00Z")));

    int before = api.requests().size();
    SyncResult resumed = harness.sync();
    assertThat(resumed.succeeded()).as(resumed.error()).isTrue();
    assertThat(api.requests().get(before)).isEqualTo("/orders?page_token=page-3");
    assertThat(counts(resumed).upserts()).as("pages 3 to 5 only").isEqualTo(6);
    assertThat(harness.rows("orders"))
        .extracting(x -> x.get("id"))
        .containsExactly(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L);
    assertThat(harness.state())
        .isEqualTo(Map.of("orders", Map.of("updated_since", "2024-05-01T10:10:00Z")));
  }

  @Test
  void anInterruptedIncrementalSweepKeepsItsQueryAndAdvancesOnlyAtItsEnd() {
    for (int i = 1; i <= 3; i++) api.put(item(i, "10:0" + i));
    ConnectorHarness harness = new ConnectorHarness(new HttpApiConnector(), configuration());
    harness.sync();
    for (int i = 4; i <= 8; i++) api.put(item(i, "11:0" + i));
    api.fail(2, 500, null, "oops", 1);

    assertThat(harness.sync().succeeded()).isFalse();
    assertThat(harness.state())
        .isEqualTo(
            Map.of(
                "orders",
                Map.of(
                    "updated_since", "2024-05-01T10:03:00Z",
                    "page_token", "page-2",
                    "max_updated_at", "2024-05-01T11:04:00Z")));
    int before = api.requests().size();
    assertThat(harness.sync().succeeded()).isTrue();
    assertThat(api.requests().get(before))
        .isEqualTo("/orders?updated_since=2024-05-01T10:03:00Z&page_token=page-2");
    assertThat(harness.liveRows("orders")).hasSize(8);
    assertThat(harness.state())
        .isEqualTo(Map.of("orders", Map.of("updated_since", "2024-05-01T11:08:00Z")));
  }

  @Test
  void aRateLimitedPageIsRetriedAfterItsRetryAfter() {
    for (int i = 1; i <= 4; i++) api.put(item(i, "10:0" + i));
    api.fail(2, 429, "1", "slow down", 1);
    ConnectorHarness harness = new ConnectorHarness(new HttpApiConnector(), configuration());

    long start = System.nanoTime();
    SyncResult r = harness.sync();
    Duration took = Duration.ofNanos(System.nanoTime() - start);

    assertThat(r.succeeded()).as(r.error()).isTrue();
    assertThat(counts(r).upserts()).isEqualTo(4);
    assertThat(api.requests())
        .filteredOn(u -> u.contains("page-2"))
        .as("answered 429 once, then served")
        .hasSize(2);
    assertThat(took).isGreaterThanOrEqualTo(Duration.ofMillis(950));
  }

  @Test
  void anApiThatStaysUnavailableFailsTheSyncAfterAFewAttempts() {
    api.put(item(1, "10:01"));
    api.fail(1, 503, "0", "maintenance " + "x".repeat(5000), 100);

    SyncResult r = new ConnectorHarness(new HttpApiConnector(), configuration()).sync();

    assertThat(r.succeeded()).isFalse();
    assertThat(r.error())
        .startsWith(
            "GET "
                + api.baseUrl()
                + "/orders answered HTTP 503 ("
                + HttpApiConnector.ATTEMPTS
                + " attempts): maintenance xxx")
        .endsWith("...")
        .hasSizeLessThan(400);
    assertThat(api.requests()).hasSize(HttpApiConnector.ATTEMPTS);
    assertThat(r.state()).isEmpty();
  }

  @Test
  void theTokenIsSentButNeverShownInAnError() {
    Map<String, String> wrong = new HashMap<>(configuration());
    wrong.put("api_token", "wrong-Secret-0042");

    SyncResult r = new ConnectorHarness(new HttpApiConnector(), wrong).sync();

    assertThat(api.authorizations()).containsExactly("Bearer wrong-Secret-0042");
    assertThat(r.succeeded()).isFalse();
    assertThat(r.error())
        .startsWith("GET " + api.baseUrl() + "/orders answered HTTP 401: ")
        .contains("Bearer ***")
        .doesNotContain("wrong-Secret-0042");
  }

  @Test
  void badConfigurationAndMalformedAnswersFailTheSyncWithAClearMessage() throws IOException {
    Map<String, String> c = new HashMap<>(configuration());
    c.remove("base_url");
    assertThat(error(c)).startsWith("missing configuration key 'base_url'");
    assertThat(error(with("base_url", "ftp://example.com"))).startsWith("base_url must be an http");
    assertThat(error(with("base_url", "https://me:" + TOKEN + "@example.com")))
        .startsWith("base_url must not hold credentials");
    assertThat(error(with("base_url", "https://exa mple.com"))).startsWith("base_url is not a URL");
    assertThat(error(with("resource", "orders/../admin"))).startsWith("resource must be one path");
    assertThat(error(with("api_token", TOKEN + "\nX-Evil: 1")))
        .startsWith("api_token holds a character");
    int closed;
    try (ServerSocket s = new ServerSocket(0)) {
      closed = s.getLocalPort();
    }
    assertThat(error(with("base_url", "http://127.0.0.1:" + closed)))
        .startsWith("cannot reach http://127.0.0.1:" + closed + " (GET ")
        .contains("ConnectException");

    api.put(Map.of("id", 1, "total", 3));
    assertThat(error(configuration()))
        .isEqualTo(
            "item 1 of GET " + api.baseUrl() + "/orders has no \"updated_at\" (an ISO instant)");
    api.fail(1, 200, null, "<html>hello</html>", 1);
    assertThat(error(configuration()))
        .isEqualTo(
            "GET " + api.baseUrl() + "/orders answered HTTP 200 but not JSON: <html>hello</html>");
  }

  private String error(Map<String, String> configuration) {
    SyncResult r = new ConnectorHarness(new HttpApiConnector(), configuration).sync();
    assertThat(r.succeeded()).isFalse();
    assertThat(r.error()).doesNotContain(TOKEN);
    return r.error();
  }

  private Map<String, String> with(String key, String value) {
    Map<String, String> c = new HashMap<>(configuration());
    c.put(key, value);
    return c;
  }

  private Map<String, String> configuration() {
    return Map.of("base_url", api.baseUrl(), "api_token", TOKEN, "resource", "orders");
  }

  private static Map<String, Object> item(int id, String time, Object... more) {
    Map<String, Object> item = new LinkedHashMap<>();
    item.put("id", id);
    item.put("amount", id * 10 + 0.5);
    item.put("updated_at", "2024-05-01T" + time + ":00Z");
    for (int i = 0; i < more.length; i += 2) item.put((String) more[i], more[i + 1]);
    return item;
  }

  private static Counts counts(SyncResult r) {
    return r.tables().getOrDefault("orders", new Counts(0, 0, 0, 0));
  }

  private static Map<String, Object> row(ConnectorHarness harness, long id) {
    return harness.rows("orders").stream()
        .filter(r -> r.get("id").equals(id))
        .findFirst()
        .orElseThrow();
  }

  /**
   * {@code GET /orders}: the items with {@code updated_at} at or after {@code updated_since}, by
   * (updated_at, id), in pages of 2 ({@code page_token} "page-N"); 401 with the Authorization
   * header echoed unless it carries the expected token; scripted answers for given pages.
   */
  private static final class FakeApi implements AutoCloseable {
    private static final int PAGE = 2;
    private static final ObjectMapper JSON = new ObjectMapper();

    private record Scripted(int status, String retryAfter, String body, int[] times) {}

    private final HttpServer server;
    private final String token;
    private final Map<Object, Map<String, Object>> items = new LinkedHashMap<>();
    private final Map<Integer, Scripted> scripted = new HashMap<>();
    private final List<String> requests = new ArrayList<>();
    private final List<String> authorizations = new ArrayList<>();

    FakeApi(String token) throws IOException {
      this.token = token;
      server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
      server.createContext("/orders", this::handle);
      server.start();
    }

    String baseUrl() {
      return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    synchronized void put(Map<String, Object> item) {
      items.put(item.get("id"), item);
    }

    /** Page {@code page} answers {@code status} the next {@code times} times. */
    synchronized void fail(int page, int status, String retryAfter, String body, int times) {
      scripted.put(page, new Scripted(status, retryAfter, body, new int[] {times}));
    }

    /** The requests so far, path and decoded query. */
    synchronized List<String> requests() {
      return List.copyOf(requests);
    }

    synchronized List<String> authorizations() {
      return List.copyOf(authorizations);
    }

    private synchronized void handle(HttpExchange ex) throws IOException {
      URI uri = ex.getRequestURI();
      requests.add(uri.getPath() + (uri.getQuery() == null ? "" : "?" + uri.getQuery()));
      String auth = ex.getRequestHeaders().getFirst("Authorization");
      authorizations.add(auth);
      if (!("Bearer " + token).equals(auth)) {
        reply(ex, 401, null, "{\"error\":\"invalid credentials: " + auth + "\"}");
        return;
      }
      Map<String, String> query = new HashMap<>();
      String raw = uri.getRawQuery();
      if (raw != null)
        for (String p : raw.split("&")) {
          String[] kv = p.split("=", 2);
          query.put(kv[0], URLDecoder.decode(kv[1], StandardCharsets.UTF_8));
        }
      int page =
          query.containsKey("page_token")
              ? Integer.parseInt(query.get("page_token").substring("page-".length()))
              : 1;
      Scripted s = scripted.get(page);
      if (s != null && s.times()[0]-- > 0) {
        reply(ex, s.status(), s.retryAfter(), s.body());
        return;
      }
      Instant since =
          query.containsKey("updated_since") ? Instant.parse(query.get("updated_since")) : null;
      List<Map<String, Object>> matching =
          items.values().stream()
              .filter(i -> since == null || !updatedAt(i).isBefore(since))
              .sorted(
                  Comparator.comparing(FakeApi::updatedAt)
                      .thenComparing(i -> ((Number) i.get("id")).longValue()))
              .toList();
      int from = (page - 1) * PAGE;
      int to = Math.min(matching.size(), from + PAGE);
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("items", from < to ? matching.subList(from, to) : List.of());
      body.put("next_page_token", to < matching.size() ? "page-" + (page + 1) : null);
      reply(ex, 200, null, JSON.writeValueAsString(body));
    }

    private static Instant updatedAt(Map<String, Object> item) {
      Object at = item.get("updated_at");
      return at == null ? Instant.EPOCH : Instant.parse((String) at);
    }

    private static void reply(HttpExchange ex, int status, String retryAfter, String body)
        throws IOException {
      byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().set("Content-Type", "application/json");
      if (retryAfter != null) ex.getResponseHeaders().set("Retry-After", retryAfter);
      ex.sendResponseHeaders(status, bytes.length);
      try (OutputStream out = ex.getResponseBody()) {
        out.write(bytes);
      }
    }

    @Override
    public void close() {
      server.stop(0);
    }
  }
}
