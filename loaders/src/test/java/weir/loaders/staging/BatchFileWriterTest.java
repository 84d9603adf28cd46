package weir.loaders.staging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import weir.loaders.staging.fs.FilesystemStagingStore;
import weir.protocol.StagedRow;

class BatchFileWriterTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  static StagedRow row(String table, String id, String at) {
    return new StagedRow(
        table,
        id,
        Instant.parse(at).toEpochMilli(),
        "{\"event_id\":\""
            + id
            + "\",\"received_at\":\""
            + at
            + "\",\"data\":{\"id\":\""
            + id
            + "\"}}");
  }

  @Test
  void writesOneGzipNdjsonFilePerTableAndHourUnderHivePaths(@TempDir Path root) throws Exception {
    FilesystemStagingStore store = new FilesystemStagingStore(root);
    List<StagedRow> rows =
        List.of(
            row("events", "a", "2026-11-21T10:59:59.999Z"),
            row("events", "b", "2026-11-21T11:00:00Z"),
            row("events", "c", "2026-11-21T10:00:00Z"),
            row("other", "d", "2026-11-21T10:30:00Z"));
    List<StagedFile> files = new BatchFileWriter(store).write("conn1", "conn1-0-00000001", rows);

    assertThat(files)
        .extracting(StagedFile::key)
        .containsExactly(
            "conn1/events/year=2026/month=11/day=21/hour=10/conn1-0-00000001.ndjson.gz",
            "conn1/events/year=2026/month=11/day=21/hour=11/conn1-0-00000001.ndjson.gz",
            "conn1/other/year=2026/month=11/day=21/hour=10/conn1-0-00000001.ndjson.gz");
    assertThat(files.get(0).rows()).isEqualTo(2);
    assertThat(files.get(0).minTimestampMillis())
        .isEqualTo(Instant.parse("2026-11-21T10:00:00Z").toEpochMilli());
    assertThat(files.get(0).maxTimestampMillis())
        .isEqualTo(Instant.parse("2026-11-21T10:59:59.999Z").toEpochMilli());
    assertThat(files.get(0).bytes()).isEqualTo(Files.size(root.resolve(files.get(0).key())));

    List<JsonNode> firstFile = readBack(root.resolve(files.get(0).key()));
    assertThat(firstFile).extracting(n -> n.get("event_id").asText()).containsExactly("a", "c");
    assertThat(firstFile.get(1).get("data").get("id").asText()).isEqualTo("c");
    try (Stream<Path> all = Files.walk(root)) {
      assertThat(all.filter(p -> p.toString().endsWith(".inprogress"))).isEmpty();
    }
  }

  @Test
  void rewritingABatchReplacesItsFilesInsteadOfAddingNewOnes(@TempDir Path root) throws Exception {
    FilesystemStagingStore store = new FilesystemStagingStore(root);
    BatchFileWriter writer = new BatchFileWriter(store);
    writer.write("c", "c-0-1", List.of(row("events", "a", "2026-11-21T10:00:00Z")));
    List<StagedFile> again =
        writer.write(
            "c",
            "c-0-1",
            List.of(
                row("events", "a", "2026-11-21T10:00:00Z"),
                row("events", "b", "2026-11-21T10:00:01Z")));
    assertThat(readBack(root.resolve(again.get(0).key()))).hasSize(2);
    try (Stream<Path> all = Files.walk(root)) {
      assertThat(all.filter(Files::isRegularFile)).hasSize(1);
    }
  }

  @Test
  void anAbortedFileIsNeverVisibleUnderItsKey(@TempDir Path root) throws Exception {
    FilesystemStagingStore store = new FilesystemStagingStore(root);
    try (StagingStore.StagedOutput out = store.create("x/y.ndjson.gz")) {
      OutputStream s = out.stream();
      s.write("partial".getBytes(StandardCharsets.UTF_8));
      // no complete(): close() aborts
    }
    assertThat(Files.exists(root.resolve("x/y.ndjson.gz"))).isFalse();
    try (Stream<Path> all = Files.walk(root)) {
      assertThat(all.filter(Files::isRegularFile)).isEmpty();
    }
    assertThatThrownBy(() -> store.create("../escape"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  static List<JsonNode> readBack(Path file) throws IOException {
    List<JsonNode> out = new ArrayList<>();
    try (BufferedReader r =
        new BufferedReader(
            new InputStreamReader(
                new GZIPInputStream(Files.newInputStream(file)), StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) out.add(JSON.readTree(line));
    }
    return out;
  }

  @Test
  void aRowsFolderIsItsConnectionTableAndUtcHourZeroPadded() {
    for (String at :
        List.of(
            "2026-12-01T23:59:59.999Z",
            "2026-01-02T03:04:05Z",
            "0042-07-09T00:00:00Z",
            "1970-01-01T00:00:00Z",
            "+12026-10-10T10:10:10Z")) {
      Instant t = Instant.parse(at);
      java.time.ZonedDateTime z = t.atZone(java.time.ZoneOffset.UTC);
      assertThat(
              BatchFileWriter.partition(
                  "c_1", new StagedRow("tracks", "e", t.toEpochMilli(), "{}")))
          .as(at)
          .isEqualTo(
              String.format(
                  "c_1/tracks/year=%04d/month=%02d/day=%02d/hour=%02d/",
                  z.getYear(), z.getMonthValue(), z.getDayOfMonth(), z.getHour()));
    }
  }
}
