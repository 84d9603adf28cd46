package weir.node;

import static org.assertj.core.api.Assertions.assertThat;
import static weir.node.Eventually.eventually;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.avro.file.DataFileStream;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import weir.protocol.datasync.BillOfMaterials;
import weir.protocol.datasync.ExportManifest;

/**
 * A node process killed (SIGKILL) in the middle of a Data Sync export: the manifest never lists the
 * partial export, and after the restart the export completes, under the same export uuid, with
 * every event once.
 */
class DataSyncKillTest {
  private static final String TOKEN = "kill-export-token";
  private final java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
  private static final int DAYS = 240;
  private static final int PER_DAY = 100;
  private static final Pattern SEGMENT_KEY = Pattern.compile("Demo Segment write key: (\\S+)");

  @Test
  void aNodeKilledMidExportNeverListsThePartialExportAndCompletesItAfterTheRestart(
      @TempDir Path tmp) throws Exception {
    Path data = tmp.resolve("data");
    Path lake = tmp.resolve("lake");
    Map<String, String> env =
        Map.of(
            "WEIR_ADMIN_TOKEN",
            TOKEN,
            "WEIR_DEMO_BATCH_INTERVAL_SECONDS",
            "1",
            "WEIR_DEMO_SYNC_INTERVAL_SECONDS",
            "1",
            "WEIR_DATASYNC_WORKSPACE_ID",
            "acme");
    LocalDate first = LocalDate.now(ZoneOffset.UTC).minusDays(DAYS);
    Set<String> sent = new HashSet<>();
    String connectionId;
    String exportId;
    Path folder;
    try (NodeProcess node = NodeProcess.start(data, tmp.resolve("node-1.log"), env)) {
      // The node prints the demo webhook line first, the Segment write key just after it.
      String[] found = new String[1];
      eventually(
          Duration.ofSeconds(30),
          () -> {
            Matcher key = SEGMENT_KEY.matcher(Files.readString(node.log));
            assertThat(key.find()).as("the demo Segment write key in the log").isTrue();
            found[0] = key.group(1);
          });
      String writeKey = found[0];
      connectionId =
          node
                  .admin(TOKEN, "GET", "/v1/admin/connections", null)
                  .get("connections")
                  .findValues("kind")
                  .stream()
                  .map(JsonNode::asText)
                  .toList()
                  .contains("segment")
              ? findSegment(node.admin(TOKEN, "GET", "/v1/admin/connections", null))
              : null;
      assertThat(connectionId).isNotNull();
      for (int d = 0; d < DAYS; d += 5) {
        StringBuilder batch = new StringBuilder("{\"batch\":[");
        for (int day = d; day < d + 5; day++) {
          for (int i = 0; i < PER_DAY; i++) {
            String id = "d" + day + "-" + i;
            sent.add(id);
            if (batch.length() > 10) batch.append(',');
            batch
                .append("{\"type\":\"track\",\"userId\":\"u")
                .append(i % 9)
                .append("\",\"messageId\":\"")
                .append(id)
                .append("\",\"event\":\"Event ")
                .append(i % 4)
                .append("\",\"timestamp\":\"")
                .append(first.plusDays(day))
                .append("T12:00:00Z\"}");
          }
        }
        batch.append("]}");
        HttpResponse<String> r =
            http.send(
                HttpRequest.newBuilder(URI.create(node.ingestUrl + "/v1/batch"))
                    .header("Content-Type", "application/json")
                    .header(
                        "Authorization",
                        "Basic "
                            + Base64.getEncoder()
                                .encodeToString((writeKey + ":").getBytes(StandardCharsets.UTF_8)))
                    .POST(HttpRequest.BodyPublishers.ofString(batch.toString()))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      }
      String cid = connectionId;
      // Everything staged (and loaded) before the export reads the archive.
      eventually(
          Duration.ofSeconds(120),
          () -> {
            JsonNode s = node.admin(TOKEN, "GET", "/v1/admin/connections/" + cid + "/status", null);
            assertThat(s.get("loaded_events_total").asLong()).isEqualTo(DAYS * PER_DAY);
          });
      String lakeId =
          node.admin(
                  TOKEN,
                  "POST",
                  "/v1/admin/destinations",
                  "{\"name\":\"exports\",\"type\":\"filesystem\",\"config\":{\"path\":\""
                      + lake
                      + "\"}}")
              .get("id")
              .asText();
      exportId =
          node.admin(
                  TOKEN,
                  "POST",
                  "/v1/admin/exports",
                  "{\"connection_id\":\""
                      + cid
                      + "\",\"destination_id\":\""
                      + lakeId
                      + "\",\"type\":\"one_time\",\"from\":\""
                      + first
                      + "\",\"to\":\""
                      + first.plusDays(DAYS - 1)
                      + "\"}")
              .get("id")
              .asText();
      folder = lake.resolve("datasync/acme/" + cid);
      // Kill once a few days are written, well before the last.
      String xid = exportId;
      eventually(
          Duration.ofSeconds(60),
          () -> {
            JsonNode x = node.admin(TOKEN, "GET", "/v1/admin/exports/" + xid, null);
            assertThat(x.get("status").asText()).isEqualTo("in_progress");
            assertThat(x.get("progress").asText("")).contains(" of " + DAYS + " days");
          });
      node.kill();
    }
    assertThat(folder.resolve(ExportManifest.FILE))
        .as("the partial export is not listed")
        .doesNotExist();
    Path partial;
    try (Stream<Path> dirs = Files.list(folder)) {
      partial = dirs.filter(Files::isDirectory).findFirst().orElseThrow();
    }
    assertThat(partial.resolve(ExportManifest.BILL)).doesNotExist();

    try (NodeProcess node = NodeProcess.start(data, tmp.resolve("node-2.log"), env)) {
      String xid = exportId;
      eventually(
          Duration.ofSeconds(120),
          () ->
              assertThat(
                      node.admin(TOKEN, "GET", "/v1/admin/exports/" + xid, null)
                          .get("status")
                          .asText())
                  .isEqualTo("complete"));
      ExportManifest m =
          ExportManifest.parse(Files.readAllBytes(folder.resolve(ExportManifest.FILE)));
      assertThat(m.exports()).hasSize(1);
      ExportManifest.Entry e = m.exports().get(0);
      assertThat(e.counter()).isEqualTo(1);
      assertThat(e.folder())
          .as("resumed under the same export uuid")
          .isEqualTo(partial.getFileName().toString());
      assertThat(e.bill().timeDependent()).hasSize(DAYS);
      Set<String> exported = new HashSet<>();
      long rows = 0;
      for (BillOfMaterials.Period p : e.bill().timeDependent()) {
        assertThat(p.allEvents().eventCount()).isEqualTo(PER_DAY);
        for (String f : p.allEvents().files()) {
          try (InputStream in = Files.newInputStream(partial.resolve(f));
              DataFileStream<GenericRecord> r =
                  new DataFileStream<>(in, new GenericDatumReader<>())) {
            for (GenericRecord rec : r) {
              exported.add(rec.get("eventId").toString());
              rows++;
            }
          }
        }
      }
      assertThat(rows).isEqualTo(exported.size());
      assertThat(exported).isEqualTo(sent);
      assertThat(node.terminate(Duration.ofSeconds(60))).isZero();
    }
  }

  private static String findSegment(JsonNode list) {
    for (JsonNode c : list.get("connections"))
      if (c.get("kind").asText().equals("segment")) return c.get("id").asText();
    return null;
  }
}
