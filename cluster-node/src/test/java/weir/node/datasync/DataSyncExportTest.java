package weir.node.datasync;

import static org.assertj.core.api.Assertions.assertThat;
import static weir.node.Eventually.eventually;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.avro.file.DataFileStream;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import weir.node.DuckDbRows;
import weir.node.NodeApi;
import weir.node.TestNodes;
import weir.node.WeirNode;
import weir.protocol.datasync.BillOfMaterials;
import weir.protocol.datasync.ExportManifest;

/**
 * Data Sync exports through a running node: a Segment connection's events, loaded into DuckDB,
 * exported to a filesystem data lake and read back with Avro's generic reader (per day, the event
 * ids equal the loaded events of that day; the bill's counts equal the files); a change of the
 * connection's page rules is followed by a retroactive export; test and recurring exports; the
 * API's errors.
 */
class DataSyncExportTest {
  private static final String TOKEN = "datasync-test-token";
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @TempDir static Path dir;
  static WeirNode node;
  static String lakeId;
  static String warehouseId;

  @BeforeAll
  static void start() throws Exception {
    node =
        TestNodes.inProcess(
            dir.resolve("node"),
            Map.of(
                "weir.admin.token",
                TOKEN,
                "weir.datasync.check-interval",
                "200ms",
                "weir.datasync.daily-at",
                "00:00",
                "weir.datasync.workspace-id",
                "acme"));
    lakeId =
        admin(
                "POST",
                "/v1/admin/destinations",
                "{\"name\":\"exports\",\"type\":\"filesystem\",\"config\":{\"path\":\""
                    + dir.resolve("lake")
                    + "\"}}")
            .get("id")
            .asText();
    warehouseId =
        admin(
                "POST",
                "/v1/admin/destinations",
                "{\"name\":\"wh\",\"type\":\"duckdb\",\"config\":{\"path\":\""
                    + dir.resolve("wh.duckdb")
                    + "\"}}")
            .get("id")
            .asText();
  }

  @AfterAll
  static void stop() throws Exception {
    node.stop(Duration.ofSeconds(30));
  }

  private static JsonNode admin(String method, String path, String body) throws Exception {
    return new NodeApi(node, TOKEN).admin(method, path, body);
  }

  private static HttpResponse<String> call(String method, String path, String body)
      throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.adminPort() + path))
            .header("Authorization", "Bearer " + TOKEN)
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static void send(String writeKey, String batch) throws Exception {
    assertThat(
            NodeApi.post(
                "http://127.0.0.1:" + node.ingestPort() + "/v1/batch",
                "{\"batch\":[" + batch + "]}",
                writeKey))
        .isEqualTo(200);
  }

  private static String track(String id, String event, String at) {
    return "{\"type\":\"track\",\"userId\":\"u1\",\"messageId\":\""
        + id
        + "\",\"event\":\""
        + event
        + "\",\"timestamp\":\""
        + at
        + "\",\"context\":{\"ip\":\"10.1.2.3\",\"userAgent\":\"test-agent\"},\"properties\":{\"n\":1}}";
  }

  private static String page(String id, String url, String at) {
    return "{\"type\":\"page\",\"anonymousId\":\"a1\",\"messageId\":\""
        + id
        + "\",\"name\":\"Home\",\"timestamp\":\""
        + at
        + "\",\"properties\":{\"url\":\""
        + url
        + "\"}}";
  }

  private static JsonNode awaitExport(String id, long minRuns) {
    JsonNode[] last = new JsonNode[1];
    eventually(
        Duration.ofSeconds(60),
        () -> {
          last[0] = admin("GET", "/v1/admin/exports/" + id, null);
          assertThat(last[0].get("runs_completed").asLong())
              .as(last[0].toString())
              .isGreaterThanOrEqualTo(minRuns);
        });
    return last[0];
  }

  private static ExportManifest manifest(String connectionId) throws Exception {
    return ExportManifest.parse(
        Files.readAllBytes(
            dir.resolve("lake")
                .resolve("datasync/acme/" + connectionId + "/" + ExportManifest.FILE)));
  }

  private static List<GenericRecord> read(Path file) throws Exception {
    List<GenericRecord> out = new ArrayList<>();
    try (InputStream in = Files.newInputStream(file);
        DataFileStream<GenericRecord> r = new DataFileStream<>(in, new GenericDatumReader<>())) {
      r.forEach(out::add);
    }
    return out;
  }

  @Test
  void aOneTimeExportHoldsEachDaysLoadedEventsAndAPageRuleChangeIsFollowedRetroactively()
      throws Exception {
    JsonNode conn =
        admin(
            "POST",
            "/v1/admin/connections",
            "{\"name\":\"Shop\",\"kind\":\"segment\",\"destination_id\":\""
                + warehouseId
                + "\",\"batch_interval_seconds\":1,\"page_rules\":[{\"id\":\"pricing\","
                + "\"name\":\"Pricing\",\"pattern\":\"/pricing*\"}]}");
    String connectionId = conn.get("id").asText();
    assertThat(conn.get("page_rules").get(0).get("pattern").asText()).isEqualTo("/pricing*");
    String key = conn.get("write_key").asText();
    StringBuilder batch = new StringBuilder();
    for (int i = 0; i < 40; i++) {
      if (i > 0) batch.append(',');
      String at = "2026-11-2" + (i % 2) + "T1" + (i % 10) + ":00:00Z";
      batch.append(
          i % 3 == 0
              ? page(
                  "p" + i,
                  i % 2 == 0 ? "https://shop.example/pricing" : "https://shop.example/about",
                  at)
              : track("t" + i, i % 4 == 0 ? "Order Completed" : "Signed Up", at));
    }
    send(key, batch.toString());
    send(key, track("t1", "Signed Up", "2026-11-21T11:00:00Z")); // a retry: exported once
    eventually(
        Duration.ofSeconds(60),
        () -> {
          admin("POST", "/v1/admin/connections/" + connectionId + "/sync", null);
          assertThat(
                  DuckDbRows.query(
                      dir.resolve("wh.duckdb"),
                      "SELECT (SELECT count(*) FROM shop.tracks) + (SELECT count(*) FROM shop.pages)"))
              .containsExactly("40");
        });

    JsonNode created =
        admin(
            "POST",
            "/v1/admin/exports",
            "{\"connection_id\":\""
                + connectionId
                + "\",\"destination_id\":\""
                + lakeId
                + "\",\"type\":\"one_time\",\"from\":\"2026-11-19\",\"to\":\"2026-11-21\"}");
    String exportId = created.get("id").asText();
    assertThat(created.get("type").asText()).isEqualTo("one_time");
    JsonNode done = awaitExport(exportId, 1);
    assertThat(done.get("status").asText()).isEqualTo("complete");
    assertThat(done.get("counter").asLong()).isEqualTo(1);
    assertThat(done.get("storage_size").asLong()).isPositive();
    assertThat(done.get("root_url").asText()).contains("datasync/acme/" + connectionId + "/");

    ExportManifest m = manifest(connectionId);
    assertThat(m.exports()).hasSize(1);
    ExportManifest.Entry entry = m.exports().get(0);
    assertThat(entry.exportType()).isNull();
    Path root = dir.resolve("lake").resolve("datasync/acme/" + connectionId + "/" + entry.folder());
    BillOfMaterials bill = entry.bill();
    assertThat(bill.application().id()).isEqualTo(connectionId);
    assertThat(bill.timeDependent())
        .extracting(BillOfMaterials.Period::periodId)
        .containsExactly("2026-11-19T00:00:00Z", "2026-11-20T00:00:00Z", "2026-11-21T00:00:00Z");
    for (BillOfMaterials.Period p : bill.timeDependent()) {
      LocalDate day = p.day();
      Set<String> exported = new HashSet<>();
      long rows = 0;
      for (String f : p.allEvents().files()) {
        List<GenericRecord> records = read(root.resolve(f));
        rows += records.size();
        for (GenericRecord r : records) {
          exported.add(r.get("eventId").toString());
          assertThat(r.get("periodId")).isEqualTo((int) day.toEpochDay());
        }
        assertThat(bill.weirFiles().get(f).rows()).isEqualTo(records.size());
      }
      assertThat(rows).as("no event twice").isEqualTo(exported.size());
      assertThat(p.allEvents().eventCount()).isEqualTo(rows);
      Set<String> loaded =
          new TreeSet<>(
              DuckDbRows.query(
                  dir.resolve("wh.duckdb"),
                  "SELECT event_id FROM shop.tracks WHERE CAST(timezone('UTC', \"timestamp\") AS DATE) = DATE '"
                      + day
                      + "' UNION ALL SELECT event_id FROM shop.pages WHERE CAST(timezone('UTC', \"timestamp\") AS DATE) = DATE '"
                      + day
                      + "'"));
      assertThat(new TreeSet<>(exported)).as("day " + day).isEqualTo(loaded);
    }
    BillOfMaterials.Period d20 = bill.timeDependent().get(1);
    BillOfMaterials.Matched pricing =
        d20.matchedEvents().stream()
            .filter(x -> x.id().equals("Page/pricing"))
            .findFirst()
            .orElseThrow();
    assertThat(pricing.eventCount()).isEqualTo(7); // pages on the 20th: i = 0, 6, ..., 36
    assertThat(read(root.resolve(pricing.files().get(0))))
        .allSatisfy(r -> assertThat(r.get("matchableId").toString()).isEqualTo("pricing"));

    // A new page: a retroactive export of the days exported so far follows.
    admin(
        "PATCH",
        "/v1/admin/connections/" + connectionId,
        "{\"page_rules\":[{\"id\":\"pricing\",\"name\":\"Pricing\",\"pattern\":\"/pricing*\"},"
            + "{\"id\":\"about\",\"name\":\"About\",\"pattern\":\"/about\"}]}");
    eventually(
        Duration.ofSeconds(60), () -> assertThat(manifest(connectionId).exports()).hasSize(2));
    ExportManifest.Entry retro = manifest(connectionId).exports().get(1);
    assertThat(retro.counter()).isEqualTo(2);
    assertThat(retro.exportType()).containsExactly("Retroactive");
    assertThat(retro.bill().timeDependent()).hasSize(3);
    BillOfMaterials.Period r21 = retro.bill().timeDependent().get(2);
    assertThat(r21.allEvents()).isNull();
    assertThat(r21.matchedEvents())
        .extracting(BillOfMaterials.Matched::id)
        .containsExactly("Page/about");
    assertThat(r21.matchedEvents().get(0).eventCount())
        .isEqualTo(7); // pages on the 21st: i = 3, 9, ..., 39

    // A test export: one day, listed as ["Test"].
    String test =
        admin(
                "POST",
                "/v1/admin/exports",
                "{\"connection_id\":\""
                    + connectionId
                    + "\",\"destination_id\":\""
                    + lakeId
                    + "\",\"type\":\"test\",\"from\":\"2026-11-20\"}")
            .get("id")
            .asText();
    assertThat(awaitExport(test, 1).get("counter").asLong()).isEqualTo(3);
    ExportManifest.Entry t = manifest(connectionId).exports().get(2);
    assertThat(t.exportType()).containsExactly("Test");
    assertThat(t.bill().timeDependent()).hasSize(1);
    assertThat(t.bill().timeDependent().get(0).allEvents().files())
        .containsExactly("allevents.avro");

    // A recurring export runs (daily-at has passed): yesterday and the finalized day; then stops.
    String recurring =
        admin(
                "POST",
                "/v1/admin/exports",
                "{\"connection_id\":\""
                    + connectionId
                    + "\",\"destination_id\":\""
                    + lakeId
                    + "\",\"type\":\"recurring\",\"finalize_after_days\":3}")
            .get("id")
            .asText();
    JsonNode r = awaitExport(recurring, 1);
    assertThat(r.get("counter").asLong()).isEqualTo(4);
    LocalDate today = LocalDate.now(ZoneOffset.UTC);
    assertThat(manifest(connectionId).exports().get(3).bill().timeDependent())
        .extracting(BillOfMaterials.Period::periodId)
        .containsExactly(today.minusDays(3) + "T00:00:00Z", today.minusDays(1) + "T00:00:00Z");
    JsonNode stopped = admin("DELETE", "/v1/admin/exports/" + recurring, null);
    assertThat(stopped.get("status").asText()).isEqualTo("complete");
    assertThat(stopped.get("stopped_at").isNull()).isFalse();

    JsonNode list = admin("GET", "/v1/admin/exports", null);
    assertThat(list.get("exports"))
        .extracting(x -> x.get("id").asText())
        .contains(exportId, test, recurring);

    // The exports loaded back by a datasync connection: each day once, whatever re-exported it.
    JsonNode sync =
        admin(
            "POST",
            "/v1/admin/connections",
            "{\"name\":\"Shop sync\",\"kind\":\"datasync\",\"destination_id\":\""
                + warehouseId
                + "\",\"source\":{\"type\":\"filesystem\",\"path\":\""
                + dir.resolve("lake").resolve("datasync/acme/" + connectionId)
                + "\"}}");
    String syncId = sync.get("id").asText();
    assertThat(sync.get("source").get("type").asText()).isEqualTo("filesystem");
    eventually(
        Duration.ofSeconds(60),
        () ->
            assertThat(
                    admin("GET", "/v1/admin/connections/" + syncId + "/status", null)
                        .get("datasync")
                        .get("watermark")
                        .asLong())
                .isEqualTo(4));
    String perDay =
        "SELECT strftime(timezone('UTC', period_id), '%Y-%m-%d'), count(*) FROM shop_sync.allevents"
            + " GROUP BY 1 ORDER BY 1";
    String perPage =
        "SELECT strftime(timezone('UTC', period_id), '%Y-%m-%d'), matchable_id, count(*)"
            + " FROM shop_sync.matched_page_events GROUP BY 1, 2 ORDER BY 1, 2";
    assertThat(DuckDbRows.query(dir.resolve("wh.duckdb"), perDay))
        .containsExactly("2026-11-20|20", "2026-11-21|20");
    assertThat(DuckDbRows.query(dir.resolve("wh.duckdb"), perPage))
        .containsExactly("2026-11-20|pricing|7", "2026-11-21|about|7");
    assertThat(
            DuckDbRows.query(
                dir.resolve("wh.duckdb"),
                "SELECT count(DISTINCT event_id) = count(*) FROM shop_sync.allevents"))
        .containsExactly("true");
    admin("POST", "/v1/admin/connections/" + syncId + "/resync", "{}");
    eventually(
        Duration.ofSeconds(60),
        () -> {
          JsonNode st = admin("GET", "/v1/admin/connections/" + syncId + "/status", null);
          assertThat(st.get("resyncs_pending").asInt()).isZero();
          assertThat(st.get("datasync").get("exports_loaded_total").asLong()).isEqualTo(8);
        });
    assertThat(DuckDbRows.query(dir.resolve("wh.duckdb"), perDay))
        .as("a resync changes nothing")
        .containsExactly("2026-11-20|20", "2026-11-21|20");
  }

  @Test
  void badExportRequestsGetPreciseErrors() throws Exception {
    String connectionId =
        admin(
                "POST",
                "/v1/admin/connections",
                "{\"name\":\"Errors\",\"kind\":\"webhook\",\"destination_id\":\""
                    + warehouseId
                    + "\"}")
            .get("id")
            .asText();
    String base = "{\"connection_id\":\"" + connectionId + "\",";
    HttpResponse<String> r =
        call(
            "POST",
            "/v1/admin/exports",
            base + "\"destination_id\":\"" + warehouseId + "\",\"type\":\"test\"}");
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(r.body()).contains("invalid_field").contains("data-lake");
    r =
        call(
            "POST",
            "/v1/admin/exports",
            base + "\"destination_id\":\"" + lakeId + "\",\"type\":\"one_time\"}");
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(r.body()).contains("'from' and 'to'");
    r =
        call(
            "POST",
            "/v1/admin/exports",
            base
                + "\"destination_id\":\""
                + lakeId
                + "\",\"type\":\"one_time\",\"from\":\"2020-01-01\",\"to\":\"2024-01-01\"}");
    assertThat(r.body()).contains("three years");
    r =
        call(
            "POST",
            "/v1/admin/exports",
            base + "\"destination_id\":\"" + lakeId + "\",\"type\":\"weekly\"}");
    assertThat(r.body()).contains("one_time, recurring or test");
    r =
        call(
            "POST",
            "/v1/admin/exports",
            base
                + "\"destination_id\":\""
                + lakeId
                + "\",\"type\":\"test\",\"from\":\"yesterday\"}");
    assertThat(r.body()).contains("ISO date");
    r =
        call(
            "POST",
            "/v1/admin/exports",
            "{\"connection_id\":\"c_nope\",\"destination_id\":\""
                + lakeId
                + "\",\"type\":\"test\"}");
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(r.body()).contains("connection_not_found");
    assertThat(call("GET", "/v1/admin/exports/x_nope", null).statusCode()).isEqualTo(404);

    // An archive that keeps staged files 5 days: nothing older, and no finalized day beyond it.
    String shortArchive =
        admin(
                "POST",
                "/v1/admin/destinations",
                "{\"name\":\"short\",\"type\":\"duckdb\",\"config\":{\"path\":\""
                    + dir.resolve("short.duckdb")
                    + "\",\"staging\":{\"type\":\"filesystem\",\"path\":\""
                    + dir.resolve("short-staging")
                    + "\",\"retention_days\":\"5\"}}}")
            .get("id")
            .asText();
    String shortConn =
        admin(
                "POST",
                "/v1/admin/connections",
                "{\"name\":\"Short\",\"kind\":\"webhook\",\"destination_id\":\""
                    + shortArchive
                    + "\"}")
            .get("id")
            .asText();
    String shortBase =
        "{\"connection_id\":\"" + shortConn + "\",\"destination_id\":\"" + lakeId + "\",";
    r = call("POST", "/v1/admin/exports", shortBase + "\"type\":\"recurring\"}");
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(r.body()).contains("archive_not_kept").contains("finalize_after_days");
    r = call("POST", "/v1/admin/exports", shortBase + "\"type\":\"test\",\"from\":\"2020-01-01\"}");
    assertThat(r.body()).contains("archive_not_kept").contains("may no longer be archived");
    assertThat(
            call(
                    "POST",
                    "/v1/admin/exports",
                    shortBase + "\"type\":\"recurring\",\"finalize_after_days\":3}")
                .statusCode())
        .isEqualTo(201);

    // One datasync connection per schema: two would replace each other's days.
    String source =
        ",\"source\":{\"type\":\"filesystem\",\"path\":\"" + dir.resolve("nowhere") + "\"}";
    assertThat(
            call(
                    "POST",
                    "/v1/admin/connections",
                    "{\"name\":\"In\",\"kind\":\"datasync\",\"schema\":\"pendo\",\"destination_id\":\""
                        + warehouseId
                        + "\""
                        + source
                        + "}")
                .statusCode())
        .isEqualTo(201);
    r =
        call(
            "POST",
            "/v1/admin/connections",
            "{\"name\":\"In2\",\"kind\":\"datasync\",\"schema\":\"pendo\",\"destination_id\":\""
                + warehouseId
                + "\""
                + source
                + "}");
    assertThat(r.statusCode()).isEqualTo(409);
    assertThat(r.body()).contains("schema_in_use");
    String in =
        admin("GET", "/v1/admin/connections", null).get("connections").findParents("name").stream()
            .filter(c -> c.get("name").asText().equals("In"))
            .findFirst()
            .orElseThrow()
            .get("id")
            .asText();
    r =
        call(
            "PATCH",
            "/v1/admin/connections/" + in,
            "{\"source\":{\"type\":\"filesystem\",\"path\":\"" + dir.resolve("elsewhere") + "\"}}");
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(r.body()).contains("immutable_field").contains("source.path");
    r =
        call(
            "POST",
            "/v1/admin/connections",
            "{\"name\":\"In3\",\"kind\":\"datasync\",\"destination_id\":\""
                + lakeId
                + "\""
                + source
                + "}");
    assertThat(r.body()).contains("loads exports into a warehouse");
    r =
        call(
            "POST",
            "/v1/admin/connections",
            "{\"name\":\"In4\",\"kind\":\"datasync\",\"destination_id\":\"" + warehouseId + "\"}");
    assertThat(r.body()).contains("'source' is required");
    assertThat(call("DELETE", "/v1/admin/exports/x_nope", null).body())
        .contains("export_not_found");
    r =
        call(
            "PATCH",
            "/v1/admin/connections/" + connectionId,
            "{\"page_rules\":[{\"id\":\"a b\",\"name\":\"x\",\"pattern\":\"/x\"}]}");
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(r.body()).contains("page_rules[0]");
  }
}
