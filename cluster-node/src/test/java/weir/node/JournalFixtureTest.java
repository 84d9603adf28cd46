package weir.node;

import static org.assertj.core.api.Assertions.assertThat;
import static weir.node.Eventually.eventually;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.apache.avro.file.DataFileReader;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import weir.protocol.Json;

/**
 * Existing data directories keep working (STYLE §3): {@code fixtures/journal-73331c6.zip} is a data
 * directory written by main at 73331c6, before buffers journaled their rows as {@code RowCodec}
 * bytes and before the persisted batches had a file type of the node's own. It was left by a
 * SIGKILL holding every kind of state: batches loaded, batches staged and handed off but not
 * loaded, events buffered (some inside snapshots), dead letters, and a data-lake connection with
 * staged, undelivered files ({@code src/test/fixtures/ make-journal-fixture.py} wrote it; {@code
 * expected.json} lists what was acknowledged). Today's node recovers it and loads every
 * acknowledged event exactly once.
 */
class JournalFixtureTest {

  @Test
  void aDataDirectoryWrittenByAnEarlierReleaseRecoversAndLoadsEveryAcknowledgedEventOnce(
      @TempDir Path tmp) throws Exception {
    unzip("/fixtures/journal-73331c6.zip", tmp);
    JsonNode expected = Json.MAPPER.readTree(tmp.resolve("expected.json").toFile());
    Path data = tmp.resolve("data");
    WeirNode node = TestNodes.inProcess(data, Map.of());
    try {
      NodeApi api = new NodeApi(node, Files.readString(data.resolve("admin-token")).strip());
      List<String> connections = new ArrayList<>();
      expected.get("connections").forEach(id -> connections.add(id.asText()));
      for (String id : connections) {
        // The fixture's connections flush hourly: make what they buffered flush now.
        api.admin("PATCH", "/v1/admin/connections/" + id, "{\"batch_interval_seconds\":1}");
      }
      Path warehouse = data.resolve("fixture.duckdb");
      Map<String, JsonNode> tables = new LinkedHashMap<>();
      for (Iterator<Map.Entry<String, JsonNode>> it = expected.get("tables").fields();
          it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        if (!e.getKey().startsWith("fx_lake.")) tables.put(e.getKey(), e.getValue());
      }
      String lakeConnection = expected.at("/connections/fx_lake").asText();
      eventually(
          Duration.ofSeconds(90),
          () -> {
            for (String id : connections)
              api.admin("POST", "/v1/admin/connections/" + id + "/sync", null);
            assertThat(
                    allLoaded(warehouse, tables) && lakeEventIds(data, lakeConnection).size() >= 30)
                .as("everything of the fixture loaded")
                .isTrue();
          });
      for (Map.Entry<String, JsonNode> t : tables.entrySet()) {
        if (t.getValue().isArray()) {
          Set<String> ids = new HashSet<>();
          t.getValue().forEach(id -> ids.add(id.asText()));
          List<String> loaded = DuckDbRows.query(warehouse, "SELECT event_id FROM " + t.getKey());
          assertThat(loaded)
              .as(t.getKey() + ": every acknowledged event once")
              .hasSameSizeAs(ids)
              .containsExactlyInAnyOrderElementsOf(ids);
        } else {
          assertThat(DuckDbRows.query(warehouse, "SELECT count(*) FROM " + t.getKey()))
              .as(t.getKey())
              .containsExactly(t.getValue().asText());
        }
      }
      assertThat(DuckDbRows.query(warehouse, "SELECT count(*) FROM fx_seg.users"))
          .as("users merged from " + "the identifies")
          .containsExactly("5");
      List<String> lake = lakeEventIds(data, lakeConnection);
      List<String> sent = new ArrayList<>();
      expected.at("/tables/fx_lake.events").forEach(id -> sent.add(id.asText()));
      assertThat(lake)
          .as("the lake's delivered Avro files, once each")
          .containsExactlyInAnyOrderElementsOf(sent);
      JsonNode status =
          api.admin(
              "GET",
              "/v1/admin/connections/" + expected.at("/connections/fx_hook").asText() + "/status",
              null);
      assertThat(status.get("dead_letters_total").asLong()).isEqualTo(1);
      assertThat(status.get("buffered_events").asLong()).isZero();
      assertThat(status.get("staged_batches_pending").asLong()).isZero();
    } finally {
      node.stop(Duration.ofSeconds(30));
    }
  }

  private static boolean allLoaded(Path warehouse, Map<String, JsonNode> tables) throws Exception {
    if (!Files.exists(warehouse)) return false;
    for (Map.Entry<String, JsonNode> t : tables.entrySet()) {
      long want = t.getValue().isArray() ? t.getValue().size() : t.getValue().asLong();
      try {
        if (Long.parseLong(DuckDbRows.query(warehouse, "SELECT count(*) FROM " + t.getKey()).get(0))
            < want) {
          return false;
        }
      } catch (SQLException notYet) {
        return false;
      }
    }
    return true;
  }

  /** Event ids in the Avro files the lake's manifests list (a reader trusts only listed files). */
  private static List<String> lakeEventIds(Path data, String connectionId) throws Exception {
    Path manifests = data.resolve("fixture-lake").resolve(connectionId).resolve("_manifests");
    List<String> ids = new ArrayList<>();
    if (!Files.isDirectory(manifests)) return ids;
    try (var list = Files.list(manifests)) {
      for (Path m : list.filter(p -> p.toString().endsWith(".json")).toList()) {
        for (JsonNode f : Json.MAPPER.readTree(m.toFile()).get("files")) {
          Path file = data.resolve("fixture-lake").resolve(f.get("key").asText());
          try (DataFileReader<GenericRecord> r =
              new DataFileReader<>(file.toFile(), new GenericDatumReader<>())) {
            for (GenericRecord rec : r) ids.add(rec.get("event_id").toString());
          }
        }
      }
    }
    return ids;
  }

  private static void unzip(String resource, Path into) throws Exception {
    try (InputStream in = JournalFixtureTest.class.getResourceAsStream(resource);
        ZipInputStream zip = new ZipInputStream(in)) {
      for (ZipEntry e; (e = zip.getNextEntry()) != null; ) {
        Path target = into.resolve(e.getName()).normalize();
        if (!target.startsWith(into)) throw new IllegalStateException("bad entry " + e.getName());
        if (e.isDirectory()) {
          Files.createDirectories(target);
        } else {
          Files.createDirectories(target.getParent());
          Files.copy(zip, target);
        }
      }
    }
  }
}
