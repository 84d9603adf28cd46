package weir.node;

import static org.assertj.core.api.Assertions.assertThat;
import static weir.node.Eventually.eventually;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import java.util.zip.DeflaterOutputStream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import weir.protocol.Json;

/**
 * A real node process and a corpus of hostile requests over every ingestion route and the admin
 * API: bodies (nesting, invalid UTF-8 and UTF-16, NUL, huge numbers and strings, NaN/Infinity,
 * duplicate keys, wrong top-level types), content types and encodings (gzip bombs), bad auth
 * headers, malformed HTTP framing, oversized headers and URLs, odd paths and methods, and a flood
 * of half-open connections. Passing means: no answer is a 5xx other than 503 with Retry-After,
 * every error is a JSON error body (the pixel stays a GIF), the node keeps serving, and the valid
 * events sent before and after are in the warehouse exactly once.
 */
class HostileInputTest {
  private int ingestPort;
  private int adminPort;
  private String token;
  private final List<String> violations = new CopyOnWriteArrayList<>();
  private final Map<Integer, AtomicInteger> statuses = new ConcurrentSkipListMap<>();
  private int sent;

  private record Case(String name, boolean admin, byte[] request) {}

  @Test
  void hostileRequestsGetPreciseAnswersNeverAServerErrorAndNeitherStopTheNodeNorLoseAnEvent(
      @TempDir Path tmp) throws Exception {
    Path data = tmp.resolve("data");
    try (NodeProcess node =
        NodeProcess.launch(
            data,
            tmp.resolve("node.log"),
            Map.of("WEIR_DEMO_BATCH_INTERVAL_SECONDS", "1", "WEIR_DEMO_SYNC_INTERVAL_SECONDS", "1"),
            List.of("-Dweir.ingest.header-timeout=2s", "-Dweir.ingest.body-read-timeout=2s"))) {
      node.awaitReady(Duration.ofSeconds(60));
      ingestPort = URI.create(node.ingestUrl).getPort();
      adminPort = URI.create(node.adminUrl).getPort();
      token = Files.readString(data.resolve("admin-token")).strip();
      String hook = node.demoConnectionId;
      JsonNode connections =
          Json.MAPPER.readTree(
              exchange(
                      new Case(
                          "list",
                          true,
                          RawHttp.request("GET", "/v1/admin/connections", auth(), null)))
                  .body());
      String writeKey = null;
      String snowplowId = null;
      for (JsonNode c : connections.get("connections")) {
        if (c.get("kind").asText().equals("segment")) writeKey = c.get("write_key").asText();
        if (c.get("kind").asText().equals("snowplow")) snowplowId = c.get("id").asText();
      }
      String basic =
          "Basic "
              + Base64.getEncoder()
                  .encodeToString((writeKey + ":").getBytes(StandardCharsets.UTF_8));

      sendValid(hook, basic, "before");
      List<Case> corpus = corpus(hook, basic, snowplowId);
      assertThat(corpus.size()).as("hostile requests").isGreaterThanOrEqualTo(500);

      // Slow cases (bodies that never arrive) run in parallel; the node must stay responsive
      // meanwhile.
      ExecutorService pool = Executors.newFixedThreadPool(16);
      List<Future<?>> running = new ArrayList<>();
      for (Case c : corpus) {
        running.add(
            pool.submit(
                () -> {
                  check(c, exchange(c));
                  return null;
                }));
      }
      for (Future<?> f : running) f.get(3, TimeUnit.MINUTES);
      pool.shutdown();
      assertThat(violations).as("answers that break the contract").isEmpty();

      halfOpenFlood(hook);
      sendValid(hook, basic, "after");
      assertThat(node.process.isAlive()).isTrue();

      // Every valid event, before and after, is in the warehouse once.
      Path warehouse = data.resolve("warehouse.duckdb");
      // Not loaded yet fails the counts with an SQLException: retried too.
      eventually(
          Duration.ofSeconds(60),
          () -> {
            assertThat(
                    count(
                        warehouse,
                        "SELECT count(*) FROM demo.events WHERE data->>'tag' IN ('before', 'after')"))
                .as("the valid events loaded")
                .isGreaterThanOrEqualTo(100);
            assertThat(
                    count(
                        warehouse,
                        "SELECT count(*) FROM demo_segment.tracks WHERE event LIKE 'valid %'"))
                .as("the valid events loaded")
                .isGreaterThanOrEqualTo(100);
          });
      assertThat(
              count(
                  warehouse,
                  "SELECT count(DISTINCT data->>'n') FROM demo.events WHERE data->>'tag' IN "
                      + "('before', 'after')"))
          .isEqualTo(100);
      assertThat(
              count(
                  warehouse,
                  "SELECT count(*) FROM demo.events WHERE data->>'tag' IN ('before', 'after')"))
          .as("each once")
          .isEqualTo(100);
      assertThat(
              count(
                  warehouse,
                  "SELECT count(DISTINCT event_id) FROM demo_segment.tracks WHERE event LIKE 'valid %'"))
          .isEqualTo(100);
      assertThat(
              count(
                  warehouse, "SELECT count(*) FROM demo_segment.tracks WHERE event LIKE 'valid %'"))
          .isEqualTo(100);
      System.out.printf(
          "hostile input: %d requests, answers by status (0: closed without one) %s; no server error, "
              + "the node served throughout%n",
          sent, statuses);
      assertThat(statuses.getOrDefault(0, new AtomicInteger()).get())
          .as("requests closed without an answer")
          .isLessThan(20);
    }
  }

  private static long count(Path warehouse, String sql) throws Exception {
    return Long.parseLong(DuckDbRows.query(warehouse, sql).get(0));
  }

  private Map<String, String> auth() {
    return Map.of("Authorization", "Bearer " + token);
  }

  /** 50 webhook events and 50 Segment tracks tagged {@code tag}, each answered 200. */
  private void sendValid(String hook, String basic, String tag) throws Exception {
    for (int i = 0; i < 50; i++) {
      String n = tag + "-" + i;
      RawHttp.Response r =
          exchange(
              new Case(
                  "valid webhook",
                  false,
                  RawHttp.request(
                      "POST",
                      "/v1/webhooks/" + hook,
                      Map.of("Content-Type", "application/json"),
                      ("{\"tag\":\"" + tag + "\",\"n\":\"" + n + "\"}")
                          .getBytes(StandardCharsets.UTF_8))));
      assertThat(r.status()).as(r.text()).isEqualTo(200);
      RawHttp.Response s =
          exchange(
              new Case(
                  "valid track",
                  false,
                  RawHttp.request(
                      "POST",
                      "/v1/track",
                      Map.of("Content-Type", "application/json", "Authorization", basic),
                      ("{\"userId\":\"u\",\"event\":\"valid "
                              + tag
                              + "\",\"messageId\":\""
                              + n
                              + "\"}")
                          .getBytes(StandardCharsets.UTF_8))));
      assertThat(s.status()).as(s.text()).isEqualTo(200);
    }
  }

  private RawHttp.Response exchange(Case c) throws IOException {
    synchronized (this) {
      sent++;
    }
    return RawHttp.exchange(
        c.admin() ? adminPort : ingestPort, c.request(), Duration.ofSeconds(20));
  }

  /** The contract every answer keeps. */
  private void check(Case c, RawHttp.Response r) {
    int status = r.status();
    statuses.computeIfAbsent(status, k -> new AtomicInteger()).incrementAndGet();
    if (status == 0)
      return; // closed without an answer: framing too broken to answer, or the header deadline
    if (status >= 500 && !(status == 503 && r.header("retry-after") != null)) {
      violations.add(c.name() + " -> " + status + " " + r.text());
      return;
    }
    boolean pixel = "image/gif".equals(r.header("content-type"));
    if (status >= 400 && !pixel && r.body().length > 0) {
      try {
        JsonNode body = Json.MAPPER.readTree(r.body());
        if (!body.at("/error/code").isTextual() || !body.at("/error/message").isTextual()) {
          violations.add(c.name() + " -> " + status + " without a JSON error: " + r.text());
        }
      } catch (IOException e) {
        violations.add(c.name() + " -> " + status + " not JSON: " + r.text());
      }
    }
    String expected = expectedCode(c.name());
    if (expected != null && !r.text().contains("\"" + expected + "\"")) {
      violations.add(c.name() + " -> " + status + " without code " + expected + ": " + r.text());
    }
    int contains = c.name().indexOf(" =~ ");
    if (contains >= 0 && (status != 200 || !r.text().contains(c.name().substring(contains + 4)))) {
      violations.add(c.name() + " -> " + status + ": " + r.text());
    }
  }

  /** Cases whose code is known: named "... => code". */
  private static String expectedCode(String name) {
    int arrow = name.indexOf(" => ");
    if (arrow < 0) return null;
    int end = name.indexOf(" =~ ", arrow);
    return name.substring(arrow + 4, end < 0 ? name.length() : end);
  }

  private List<Case> corpus(String hook, String basic, String snowplowId) throws IOException {
    List<Case> cases = new ArrayList<>();
    Map<String, byte[]> bodies = bodies();
    Map<String, Map<String, String>> posts = new LinkedHashMap<>();
    posts.put("/v1/webhooks/" + hook, Map.of("Content-Type", "application/json"));
    posts.put("/v1/webhooks/" + hook + "#ndjson", Map.of("Content-Type", "application/x-ndjson"));
    posts.put("/v1/track", Map.of("Content-Type", "application/json", "Authorization", basic));
    posts.put("/v1/batch", Map.of("Content-Type", "application/json", "Authorization", basic));
    posts.put("/v1/import/", Map.of("Content-Type", "application/json", "Authorization", basic));
    posts.put("/com.snowplowanalytics.snowplow/tp2", Map.of("Content-Type", "application/json"));
    posts.put(
        "/s/" + snowplowId + "/com.snowplowanalytics.snowplow/tp2",
        Map.of("Content-Type", "application/json"));
    for (Map.Entry<String, Map<String, String>> p : posts.entrySet()) {
      String target = p.getKey().replace("#ndjson", "");
      for (Map.Entry<String, byte[]> b : bodies.entrySet()) {
        String name = "POST " + p.getKey() + " body " + b.getKey();
        if (b.getKey().startsWith("deep")) name += " => json_too_deep";
        // Valid JSON whose strings hold unpaired surrogates: accepted (U+FFFD), never a 503 from
        // the journal.
        if (b.getKey().equals("lone surrogate escape")
            && (target.startsWith("/v1/webhooks/") || target.equals("/v1/track"))) {
          name += " =~ \"accepted\":1";
        }
        cases.add(
            new Case(name, false, RawHttp.request("POST", target, p.getValue(), b.getValue())));
      }
      byte[] ok =
          "{\"userId\":\"u\",\"event\":\"E\",\"batch\":[],\"a\":1}"
              .getBytes(StandardCharsets.UTF_8);
      for (String type :
          List.of(
              "text/plain",
              "application/xml",
              "multipart/form-data; boundary=x",
              "application/json; charset=ISO-8859-1",
              "application/json; foo=\"bar",
              "*/*",
              "",
              "application/x-www-form-urlencoded")) {
        Map<String, String> h = new LinkedHashMap<>(p.getValue());
        if (type.isEmpty()) h.remove("Content-Type");
        else h.put("Content-Type", type);
        cases.add(
            new Case(
                "POST " + p.getKey() + " type '" + type + "'",
                false,
                RawHttp.request("POST", target, h, ok)));
      }
      for (Map.Entry<String, byte[]> e : encodings().entrySet()) {
        Map<String, String> h = new LinkedHashMap<>(p.getValue());
        h.put("Content-Encoding", e.getKey().replaceAll(" \\(.*", ""));
        String name = "POST " + p.getKey() + " encoding " + e.getKey();
        if (e.getKey().contains("bomb")) name += " => payload_too_large";
        if (e.getKey().startsWith("br") || e.getKey().startsWith("compress"))
          name += " => unsupported_encoding";
        cases.add(new Case(name, false, RawHttp.request("POST", target, h, e.getValue())));
      }
    }
    // Authorization headers of every broken shape, on Segment and the admin API.
    for (String a :
        List.of(
            "Basic",
            "Basic !!!",
            "Basic " + Base64.getEncoder().encodeToString(":".getBytes()),
            "Basic "
                + Base64.getEncoder()
                    .encodeToString("\u0000\u0001:x".getBytes(StandardCharsets.UTF_8)),
            "Bearer",
            "Bearer x y z",
            "Digest abc",
            "basic " + "A".repeat(5000),
            "\u00ff\u00fe",
            "Bearer " + token + "x")) {
      cases.add(
          new Case(
              "segment auth '" + a.substring(0, Math.min(20, a.length())) + "'",
              false,
              RawHttp.request(
                  "POST",
                  "/v1/track",
                  Map.of("Content-Type", "application/json", "Authorization", a),
                  "{\"userId\":\"u\",\"event\":\"E\"}".getBytes(StandardCharsets.UTF_8))));
      cases.add(
          new Case(
              "admin auth '" + a.substring(0, Math.min(20, a.length())) + "'",
              true,
              RawHttp.request("GET", "/v1/admin/connections", Map.of("Authorization", a), null)));
    }
    cases.addAll(framing(hook));
    cases.addAll(pathsAndMethods(hook));
    cases.addAll(pixels(snowplowId));
    cases.addAll(admin(bodies));
    return cases;
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static Map<String, byte[]> bodies() {
    Map<String, byte[]> b = new LinkedHashMap<>();
    b.put("deep arrays", utf8("[".repeat(20_000) + "]".repeat(20_000)));
    b.put("deep objects", utf8("{\"a\":".repeat(20_000) + "1" + "}".repeat(20_000)));
    b.put("deep in batch", utf8("{\"batch\":[" + "[".repeat(5000) + "]".repeat(5000) + "]}"));
    b.put("nesting 900", utf8("{\"a\":".repeat(900) + "1" + "}".repeat(900)));
    b.put(
        "invalid utf-8",
        new byte[] {'{', '"', 'a', '"', ':', '"', (byte) 0xc3, (byte) 0x28, '"', '}'});
    b.put("latin-1", new byte[] {'{', '"', 'n', '"', ':', '"', (byte) 0xe9, '"', '}'});
    b.put(
        "overlong utf-8",
        new byte[] {'{', '"', 'a', '"', ':', '"', (byte) 0xc0, (byte) 0xaf, '"', '}'});
    b.put(
        "cesu surrogate bytes",
        new byte[] {'{', '"', 'a', '"', ':', '"', (byte) 0xed, (byte) 0xa0, (byte) 0x80, '"', '}'});
    b.put(
        "lone surrogate escape",
        utf8("{\"userId\":\"u\\ud800\",\"event\":\"E\\udc00\",\"x\":\"\\ud800\"}"));
    b.put(
        "surrogates in batch",
        utf8("{\"batch\":[{\"type\":\"track\",\"userId\":\"\\udfff\",\"event\":\"x\"}]}"));
    b.put("nul", utf8("{\"userId\":\"u\",\"event\":\"E\",\"note\":\"nul \\u0000 inside\"}"));
    b.put("raw control chars", utf8("{\"a\":\"x\u0001\u0002y\"}"));
    b.put("huge number", utf8("{\"userId\":\"u\",\"event\":\"E\",\"n\":1e999999999}"));
    b.put("long number", utf8("{\"n\":" + "9".repeat(5000) + "}"));
    b.put(
        "long string",
        utf8("{\"userId\":\"u\",\"event\":\"E\",\"s\":\"" + "x".repeat(400_000) + "\"}"));
    b.put("long key", utf8("{\"" + "k".repeat(100_000) + "\":1}"));
    b.put(
        "many keys",
        utf8(
            "{"
                + String.join(
                    ",", IntStream.range(0, 20_000).mapToObj(i -> "\"k" + i + "\":" + i).toList())
                + "}"));
    b.put("NaN", utf8("{\"n\":NaN}"));
    b.put("Infinity", utf8("{\"n\":Infinity,\"m\":-Infinity}"));
    b.put("duplicate keys", utf8("{\"userId\":\"u\",\"event\":\"E\",\"a\":1,\"a\":2}"));
    b.put("number", utf8("42"));
    b.put("string", utf8("\"hello\""));
    b.put("null", utf8("null"));
    b.put("true", utf8("true"));
    b.put("array of junk", utf8("[1,\"x\",null,[],{}]"));
    b.put("empty", new byte[0]);
    b.put("whitespace", utf8(" \n\t "));
    b.put("truncated", utf8("{\"a\":[1,2,{\"b\":"));
    b.put("trailing garbage", utf8("{\"a\":1} }"));
    b.put("two values", utf8("{\"a\":1}{\"b\":2}"));
    b.put("bom", new byte[] {(byte) 0xef, (byte) 0xbb, (byte) 0xbf, '{', '}'});
    b.put(
        "binary",
        new Random(3)
            .ints(300, 0, 256)
            .collect(ByteArrayOutputStream::new, (o, i) -> o.write(i), (x, y) -> {})
            .toByteArray());
    b.put("comments", utf8("{/* c */\"a\":1}"));
    b.put("single quotes", utf8("{'a':1}"));
    b.put("unquoted keys", utf8("{a:1}"));
    b.put("batch not array", utf8("{\"batch\":{\"type\":\"track\"}}"));
    b.put(
        "batch of junk",
        utf8("{\"batch\":[1,\"x\",null,{\"type\":\"nope\"},{\"type\":\"track\"}]}"));
    b.put(
        "payload_data junk",
        utf8(
            "{\"schema\":\"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4\","
                + "\"data\":[1,\"x\",{\"e\":\"ue\",\"ue_px\":\"!!!\"},{\"e\":\"se\"},{\"e\":\"pv\",\"dtm\":\"99999999999999999999\"}]}"));
    b.put(
        "timestamps",
        utf8(
            "{\"userId\":\"u\",\"event\":\"E\",\"timestamp\":\"+999999999-12-31T23:59:59Z\","
                + "\"sentAt\":\"-999999999-01-01T00:00:00Z\"}"));
    b.put("form in json", utf8("a=1&b=%ZZ&%%%"));
    return b;
  }

  private static Map<String, byte[]> encodings() throws IOException {
    Map<String, byte[]> e = new LinkedHashMap<>();
    byte[] ok = utf8("{\"userId\":\"u\",\"event\":\"E\",\"a\":1}");
    e.put("gzip", gzip(ok));
    e.put("x-gzip", gzip(ok));
    ByteArrayOutputStream zlib = new ByteArrayOutputStream();
    try (DeflaterOutputStream out = new DeflaterOutputStream(zlib)) {
      out.write(ok);
    }
    e.put("deflate", zlib.toByteArray());
    e.put(
        "gzip (bomb)",
        gzip(("{\"a\":\"" + "0".repeat(64 << 20) + "\"}").getBytes(StandardCharsets.UTF_8)));
    e.put("gzip (corrupt)", utf8("not gzip"));
    e.put("gzip (truncated)", Arrays.copyOf(gzip(ok), 12));
    e.put("deflate (corrupt)", utf8("xx"));
    e.put("br", ok);
    e.put("compress", ok);
    e.put("identity", ok);
    e.put("gzip, gzip", gzip(gzip(ok)));
    return e;
  }

  private static byte[] gzip(byte[] data) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
      gz.write(data);
    }
    return out.toByteArray();
  }

  private static byte[] latin1(String s) {
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }

  private List<Case> framing(String hook) {
    String path = "/v1/webhooks/" + hook;
    List<Case> c = new ArrayList<>();
    c.add(new Case("garbage request line", false, latin1("HELLO\r\n\r\n")));
    c.add(new Case("no version", false, latin1("GET /\r\n\r\n")));
    c.add(new Case("HTTP/2.0 line", false, latin1("GET / HTTP/2.0\r\nHost: x\r\n\r\n")));
    c.add(new Case("HTTP/3 line", false, latin1("POST " + path + " HTTP/3\r\nHost: x\r\n\r\n")));
    c.add(
        new Case(
            "HTTP/1.1 without Host",
            false,
            latin1("POST " + path + " HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}")));
    c.add(
        new Case(
            "HTTP/1.0",
            false,
            latin1(
                "POST "
                    + path
                    + " HTTP/1.0\r\nContent-Type: application/json\r\n"
                    + "Content-Length: 2\r\n\r\n{}")));
    c.add(
        new Case(
            "header without colon",
            false,
            latin1("POST " + path + " HTTP/1.1\r\nHost: x\r\nBroken\r\n\r\n")));
    c.add(
        new Case(
            "space before colon", false, latin1("POST " + path + " HTTP/1.1\r\nHost : x\r\n\r\n")));
    c.add(
        new Case(
            "bare LF",
            false,
            latin1("POST " + path + " HTTP/1.1\nHost: x\nContent-Length: 2\n\n{}")));
    c.add(
        new Case(
            "NUL in header",
            false,
            latin1("POST " + path + " HTTP/1.1\r\nHost: x\r\nX-A: a\u0000b\r\n\r\n")));
    c.add(
        new Case(
            "negative length",
            false,
            latin1("POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n")));
    c.add(
        new Case(
            "huge length",
            false,
            latin1(
                "POST "
                    + path
                    + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    + "Content-Length: 99999999999999\r\n\r\n{}")));
    c.add(
        new Case(
            "two lengths",
            false,
            latin1(
                "POST "
                    + path
                    + " HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                    + "Content-Length: 3\r\n\r\n{}")));
    c.add(
        new Case(
            "length and chunked",
            false,
            latin1(
                "POST "
                    + path
                    + " HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                    + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")));
    c.add(
        new Case(
            "bad chunk size",
            false,
            latin1(
                "POST "
                    + path
                    + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n")));
    c.add(
        new Case(
            "unknown transfer-encoding",
            false,
            latin1(
                "POST " + path + " HTTP/1.1\r\nHost: x\r\n" + "Transfer-Encoding: bogus\r\n\r\n")));
    c.add(
        new Case(
            "body shorter than its length",
            false,
            latin1(
                "POST "
                    + path
                    + " HTTP/1.1\r\nHost: x\r\n"
                    + "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"a\":1}")));
    c.add(
        new Case(
            "long URI => uri_too_long",
            false,
            latin1(
                "GET /i?x="
                    + "a".repeat(20_000)
                    + " HTTP/1.1\r\nHost: x\r\n"
                    + "Connection: close\r\n\r\n")));
    c.add(
        new Case(
            "long header => headers_too_large",
            false,
            latin1(
                "POST "
                    + path
                    + " HTTP/1.1\r\nHost: x\r\nX-Big: "
                    + "b".repeat(20_000)
                    + "\r\nConnection: close\r\n\r\n")));
    StringBuilder many = new StringBuilder("POST " + path + " HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < 200; i++) many.append("X-H").append(i).append(": v\r\n");
    c.add(
        new Case(
            "many headers", false, latin1(many.append("Connection: close\r\n\r\n").toString())));
    c.add(
        new Case(
            "unknown method => method_not_allowed",
            false,
            latin1("BREW " + path + " HTTP/1.1\r\nHost: x\r\n" + "Connection: close\r\n\r\n")));
    c.add(
        new Case(
            "lowercase method",
            false,
            latin1("post " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")));
    c.add(
        new Case(
            "absolute URI",
            false,
            latin1(
                "POST http://evil.example"
                    + path
                    + " HTTP/1.1\r\nHost: x\r\n"
                    + "Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")));
    c.add(
        new Case(
            "asterisk target",
            false,
            latin1("OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")));
    c.add(
        new Case(
            "expect 100-continue",
            false,
            latin1(
                "POST "
                    + path
                    + " HTTP/1.1\r\nHost: x\r\n"
                    + "Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")));
    c.add(
        new Case(
            "pipelined",
            false,
            latin1(
                ("POST "
                        + path
                        + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        + "Content-Length: 2\r\n\r\n{}")
                    .repeat(5))));
    c.add(
        new Case(
            "upgrade h2c",
            false,
            latin1(
                "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade, close\r\n\r\n")));
    c.add(new Case("h2 preface", false, latin1("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")));
    c.add(
        new Case(
            "tls hello",
            false,
            new byte[] {0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00}));
    return c;
  }

  private List<Case> pathsAndMethods(String hook) {
    List<Case> c = new ArrayList<>();
    for (String p :
        List.of(
            "/",
            "/v1",
            "/v1/",
            "/v1/webhooks",
            "/v1/webhooks/",
            "/v1/webhooks/" + hook + "/extra",
            "/v1/webhooks/../admin",
            "/v1/webhooks/%00",
            "/v1/webhooks/%2e%2e%2f",
            "/v1/webhooks/" + "x".repeat(1000),
            "/v1/webhooks/\u00e9",
            "//v1//track",
            "/v1/track/extra",
            "/v1/TRACK",
            "/v1/teleport",
            "/v1/admin/connections",
            "/metrics",
            "/i/",
            "/s/",
            "/s//i",
            "/s/nope/com.snowplowanalytics.snowplow/tp2",
            "/%",
            "/%zz",
            "/;a=b",
            "/com.snowplowanalytics.snowplow/",
            "/health/ready")) {
      String target = p.replace("\u00e9", "%C3%A9");
      for (String m :
          List.of("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE")) {
        c.add(
            new Case(
                m + " " + target,
                false,
                RawHttp.request(
                    m,
                    target,
                    Map.of("Content-Type", "application/json"),
                    m.equals("GET") || m.equals("HEAD") || m.equals("OPTIONS") || m.equals("TRACE")
                        ? null
                        : utf8("{}"))));
      }
    }
    return c;
  }

  private List<Case> pixels(String snowplowId) {
    List<Case> c = new ArrayList<>();
    for (String q :
        List.of(
            "",
            "e=pv",
            "e=pv&aid=weir-demo",
            "e=pv&aid=weir-demo&eid=%ZZ",
            "e=pv&aid=weir-demo&url=%",
            "e=pv&aid=weir-demo&x=%00",
            "e=pv&aid=weir-demo&x=%ED%A0%80",
            "e=pv&aid=weir-demo&dtm=abc",
            "e=pv&aid=weir-demo&dtm=99999999999999999999",
            "e=ue&aid=weir-demo&ue_px=!!!",
            "e=ue&aid=weir-demo&ue_pr=%7B",
            "e=ue&aid=weir-demo&ue_pr=" + "%5B".repeat(3000),
            "e=se&aid=weir-demo",
            "e=zz&aid=weir-demo",
            "aid=nobody",
            "e=pv&aid=weir-demo&co=" + "x".repeat(3000),
            "&&&",
            "=",
            "e",
            "e=pv&aid=weir-demo&aid=other")) {
      for (String path :
          List.of("/i", "/com.snowplowanalytics.snowplow/i", "/s/" + snowplowId + "/i")) {
        c.add(
            new Case(
                "pixel " + path + "?" + q.substring(0, Math.min(40, q.length())),
                false,
                RawHttp.request(
                    "GET", path + "?" + q, Map.of("Origin", "https://shop.example"), null)));
      }
    }
    return c;
  }

  private List<Case> admin(Map<String, byte[]> bodies) {
    List<Case> c = new ArrayList<>();
    Map<String, String> h = new LinkedHashMap<>(auth());
    h.put("Content-Type", "application/json");
    for (Map.Entry<String, byte[]> b : bodies.entrySet()) {
      if (b.getValue().length > 200_000) continue;
      c.add(
          new Case(
              "admin POST destinations " + b.getKey(),
              true,
              RawHttp.request("POST", "/v1/admin/destinations", h, b.getValue())));
      c.add(
          new Case(
              "admin POST connections " + b.getKey(),
              true,
              RawHttp.request("POST", "/v1/admin/connections", h, b.getValue())));
    }
    for (String body :
        List.of(
            "{\"name\":1,\"type\":[],\"config\":\"x\"}",
            "{\"name\":\"x\",\"type\":\"duckdb\"}",
            "{\"name\":\"x\",\"type\":\"duckdb\",\"config\":{\"path\":{\"a\":1}}}",
            "{\"name\":\"x\",\"type\":\"postgres\",\"config\":{\"url\":\"nope\",\"user\":\"u\",\"password\":\"p\"}}",
            "{\"name\":\"x\",\"type\":\"s3\",\"config\":{\"bucket\":\"b\",\"region\":\"r\",\"format\":\"xml\"}}",
            "{\"name\":\"x\",\"type\":\"bigquery\",\"config\":{\"project_id\":\"p\",\"service_account_json\":\"{bad\"}}",
            "{\"name\":\"x\",\"type\":\"snowflake\",\"config\":{\"account\":\"a\",\"user\":\"u\",\"private_key\":\"k\","
                + "\"warehouse\":\"w\",\"database\":\"d\"}}",
            "{\"name\":\"x\",\"type\":\"duckdb\",\"config\":{\"path\":\"x.duckdb\",\"staging\":{\"type\":\"ftp\"}}}",
            "{\"name\":\"x\",\"type\":\"duckdb\",\"config\":{\"path\":\"x.duckdb\",\"staging\":{\"type\":\"filesystem\","
                + "\"path\":\"s\",\"retention_days\":-1}}}")) {
      c.add(
          new Case(
              "admin POST destination " + body,
              true,
              RawHttp.request("POST", "/v1/admin/destinations", h, utf8(body))));
    }
    for (String body :
        List.of(
            "{\"name\":\"\",\"kind\":\"webhook\"}",
            "{\"name\":\"x\",\"kind\":\"carrier-pigeon\"}",
            "{\"name\":\"x\",\"kind\":\"webhook\",\"destination_id\":\"nope\"}",
            "{\"name\":\"x\",\"kind\":\"webhook\",\"destination_id\":1,\"batch_size\":-1}",
            "{\"name\":\"x\",\"kind\":\"webhook\",\"batch_size\":1e99}",
            "{\"name\":\"x\",\"kind\":\"connector\"}",
            "{\"name\":\"x\",\"kind\":\"webhook\",\"schema\":\"Robert'); DROP TABLE x;--\"}")) {
      c.add(
          new Case(
              "admin POST connection " + body,
              true,
              RawHttp.request("POST", "/v1/admin/connections", h, utf8(body))));
    }
    for (String[] call :
        new String[][] {
          {"GET", "/v1/admin/connections/nope"},
          {"PATCH", "/v1/admin/connections/nope"},
          {"DELETE", "/v1/admin/connections/nope"},
          {"GET", "/v1/admin/connections/nope/status"},
          {"POST", "/v1/admin/connections/nope/sync"},
          {"POST", "/v1/admin/connections/nope/resync"},
          {"GET", "/v1/admin/connections/nope/dead-letters?limit=-1"},
          {"GET", "/v1/admin/destinations/nope"},
          {"DELETE", "/v1/admin/destinations/nope"},
          {"GET", "/v1/admin/nope"},
          {"PUT", "/v1/admin/connections"},
          {"GET", "/v1/admin/cluster"},
          {"GET", "/v1/admin/openapi.json"},
          {"GET", "/metrics"},
          {"DELETE", "/v1/admin/connections/nope/resyncs/r_1"}
        }) {
      c.add(
          new Case(
              "admin " + call[0] + " " + call[1],
              true,
              RawHttp.request(
                  call[0],
                  call[1],
                  h,
                  call[0].equals("GET") || call[0].equals("DELETE") ? null : utf8("{\"x\":1}"))));
    }
    return c;
  }

  /**
   * A few thousand connections that each send half a request header and wait: valid requests still
   * get through while they are held, and the node closes them once their header deadline passes.
   */
  private void halfOpenFlood(String hook) throws Exception {
    List<Socket> flood = new ArrayList<>();
    try {
      for (int i = 0; i < 3000; i++) {
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", ingestPort), 2000);
        OutputStream out = s.getOutputStream();
        out.write(latin1("POST /v1/webhooks/" + hook + " HTTP/1.1\r\nHost: x\r\nContent-Ty"));
        out.flush();
        flood.add(s);
      }
      for (int i = 0; i < 10; i++) {
        long started = System.nanoTime();
        RawHttp.Response r =
            RawHttp.exchange(
                ingestPort,
                RawHttp.request(
                    "POST",
                    "/v1/webhooks/" + hook,
                    Map.of("Content-Type", "application/json"),
                    utf8("{\"during\":\"flood\",\"i\":" + i + "}")),
                Duration.ofSeconds(10));
        assertThat(r.status()).as("a valid request during the flood").isEqualTo(200);
        assertThat((System.nanoTime() - started) / 1_000_000)
            .as("ms to answer during the flood")
            .isLessThan(3000);
      }
      // Past the 2 s header deadline the held connections are closed by the node. A fixed wait,
      // not polling: the check below costs each socket still open a 1 s read timeout, so it runs
      // once, after the deadline.
      Thread.sleep(3000);
      int closed = 0;
      for (Socket s : flood) {
        s.setSoTimeout(1000);
        try {
          InputStream in = s.getInputStream();
          while (in.read() >= 0) {
            // an answer, if the node sent one, then the end of the stream
          }
          closed++;
        } catch (SocketTimeoutException stillOpen) {
          // held open: counted as not closed
        } catch (IOException reset) {
          closed++;
        }
      }
      assertThat(closed)
          .as("half-open connections closed by the header deadline")
          .isEqualTo(flood.size());
    } finally {
      for (Socket s : flood) {
        try {
          s.close();
        } catch (IOException ignored) {
          // closing
        }
      }
    }
  }
}
