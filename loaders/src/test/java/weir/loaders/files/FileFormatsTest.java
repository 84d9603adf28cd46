package weir.loaders.files;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;
import org.apache.avro.Schema;
import org.apache.avro.file.DataFileReader;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.parquet.avro.AvroParquetReader;
import org.apache.parquet.conf.PlainParquetConfiguration;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.io.LocalInputFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import weir.loaders.staging.BatchFileWriter;
import weir.loaders.staging.StagedFile;
import weir.loaders.staging.fs.FilesystemStagingStore;
import weir.protocol.Json;
import weir.protocol.StagedRow;
import weir.protocol.TableSpec;
import weir.protocol.event.CanonicalEvent;
import weir.protocol.event.CanonicalEventAvro;
import weir.protocol.event.EventTables;
import weir.protocol.webhook.WebhookParser;

/**
 * Every format and compression, written through {@link BatchFileWriter} and read back with an
 * independent reader (gzip + Jackson, Avro's {@code DataFileReader}, Parquet's reader, and DuckDB's
 * {@code read_parquet}), compared with what was written.
 */
class FileFormatsTest {
  @TempDir Path root;

  static List<CanonicalEvent> events(int n) {
    List<CanonicalEvent> out = new ArrayList<>();
    Instant base = Instant.parse("2026-11-21T10:15:00.123Z");
    for (int i = 0; i < n; i++) {
      ObjectNode props =
          Json.MAPPER.createObjectNode().put("revenue", i + 0.25).put("sku", "sku-" + i);
      props.putObject("nested").put("deep", i);
      ObjectNode context = Json.MAPPER.createObjectNode().put("ip", "10.0.0." + (i % 255));
      ObjectNode traits = Json.MAPPER.createObjectNode();
      CanonicalEvent.Type type = i % 3 == 0 ? CanonicalEvent.Type.page : CanonicalEvent.Type.track;
      Instant ts = base.plusSeconds(i);
      out.add(
          new CanonicalEvent(
              "ev-" + i,
              type,
              type == CanonicalEvent.Type.page ? "Home" : "Order Completed",
              i % 2 == 0 ? "anon-" + i : null,
              i % 5 == 0 ? null : "user-" + i,
              ts,
              i % 4 == 0 ? null : ts.minusMillis(40),
              ts.plusMillis(5),
              i % 7 == 0 ? null : ts.plusMillis(2),
              context,
              props,
              traits,
              "conn-1"));
    }
    return out;
  }

  /**
   * The event as the pipeline holds it after its JSON columns went through JSON text (number node
   * types).
   */
  static CanonicalEvent viaJson(CanonicalEvent e) {
    return new CanonicalEvent(
        e.eventId(),
        e.type(),
        e.event(),
        e.anonymousId(),
        e.userId(),
        e.timestamp(),
        e.originalTimestamp(),
        e.receivedAt(),
        e.sentAt(),
        reparse(e.context()),
        reparse(e.properties()),
        reparse(e.traits()),
        e.connectionId());
  }

  private static ObjectNode reparse(ObjectNode o) {
    try {
      return (ObjectNode) Json.MAPPER.readTree(Json.write(o));
    } catch (IOException ex) {
      throw new UncheckedIOException(ex);
    }
  }

  static List<StagedRow> rows(List<CanonicalEvent> events) {
    List<StagedRow> rows = new ArrayList<>();
    for (CanonicalEvent e : events) rows.addAll(EventTables.rows(e));
    return rows;
  }

  static TableSpec spec(String table) {
    return table.equals("hooks") ? WebhookParser.tableSpec("hooks") : EventTables.specFor(table);
  }

  private List<StagedFile> write(FileFormat format, List<StagedRow> rows) throws Exception {
    return new BatchFileWriter(new FilesystemStagingStore(root), format, FileFormatsTest::spec)
        .write("conn-1", "conn-1-0-00000001", rows);
  }

  @ParameterizedTest
  @CsvSource({"avro,deflate", "avro,snappy", "avro,none"})
  void avroFilesHoldTheCanonicalEvents(String format, String compression) throws Exception {
    List<CanonicalEvent> sent = events(500);
    List<StagedFile> files =
        write(FileFormat.parse(format, compression, FileFormat.DEFAULT_MAX_FILE_BYTES), rows(sent));
    assertThat(files).extracting(StagedFile::key).allMatch(k -> k.endsWith(".avro"));

    List<CanonicalEvent> read = new ArrayList<>();
    for (StagedFile f : files) {
      if (!f.table().equals("tracks") && !f.table().equals("pages")) continue;
      try (DataFileReader<GenericRecord> reader =
          new DataFileReader<>(root.resolve(f.key()).toFile(), new GenericDatumReader<>())) {
        assertThat(reader.getSchema()).isEqualTo(CanonicalEventAvro.SCHEMA);
        assertThat(reader.getMetaString("avro.codec"))
            .isEqualTo(compression.equals("none") ? "null" : compression);
        for (GenericRecord r : reader) read.add(CanonicalEventAvro.fromRecord(r));
      }
    }
    assertThat(read)
        .containsExactlyInAnyOrderElementsOf(sent.stream().map(FileFormatsTest::viaJson).toList());
  }

  @ParameterizedTest
  @CsvSource({"snappy", "gzip", "none"})
  void parquetFilesHoldTheCanonicalColumns(String compression) throws Exception {
    List<CanonicalEvent> sent = events(500);
    List<StagedFile> files =
        write(
            FileFormat.parse("parquet", compression, FileFormat.DEFAULT_MAX_FILE_BYTES),
            rows(sent));
    List<CanonicalEvent> read = new ArrayList<>();
    for (StagedFile f : files) {
      if (!f.table().equals("tracks") && !f.table().equals("pages")) continue;
      try (ParquetReader<GenericRecord> reader =
          AvroParquetReader.<GenericRecord>builder(
                  new LocalInputFile(root.resolve(f.key())), new PlainParquetConfiguration())
              .build()) {
        for (GenericRecord r = reader.read(); r != null; r = reader.read())
          read.add(CanonicalEventAvro.fromRecord(r));
      }
    }
    assertThat(read)
        .containsExactlyInAnyOrderElementsOf(sent.stream().map(FileFormatsTest::viaJson).toList());

    // A second, unrelated reader: DuckDB's Parquet scanner sees the same rows and JSON text
    // columns.
    StagedFile tracks =
        files.stream().filter(f -> f.table().equals("tracks")).findFirst().orElseThrow();
    try (Connection c = DriverManager.getConnection("jdbc:duckdb:");
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT count(*), min(event_id), max(json_extract(properties, '$.nested.deep')::INT),"
                    + " typeof(any_value(timestamp)) FROM read_parquet('"
                    + root.resolve(tracks.key())
                    + "')")) {
      rs.next();
      assertThat(rs.getLong(1))
          .isEqualTo(tracks.rows())
          .isEqualTo(sent.stream().filter(e -> e.type() == CanonicalEvent.Type.track).count());
      assertThat(rs.getString(2)).isEqualTo("ev-1");
      assertThat(rs.getInt(3)).isEqualTo(499);
      assertThat(rs.getString(4)).startsWith("TIMESTAMP");
    }
  }

  @ParameterizedTest
  @CsvSource({"gzip", "none"})
  void ndjsonFilesHoldTheStagedRowsAsSent(String compression) throws Exception {
    List<StagedRow> sent = rows(events(300));
    List<StagedFile> files =
        write(FileFormat.parse("ndjson", compression, FileFormat.DEFAULT_MAX_FILE_BYTES), sent);
    List<JsonNode> read = new ArrayList<>();
    for (StagedFile f : files) {
      assertThat(f.key()).endsWith(compression.equals("gzip") ? ".ndjson.gz" : ".ndjson");
      try (InputStream raw = Files.newInputStream(root.resolve(f.key()));
          InputStream in = compression.equals("gzip") ? new GZIPInputStream(raw) : raw;
          BufferedReader lines =
              new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
        for (String line = lines.readLine(); line != null; line = lines.readLine())
          read.add(Json.MAPPER.readTree(line));
      }
    }
    List<JsonNode> expected = new ArrayList<>();
    for (StagedRow r : sent) expected.add(Json.MAPPER.readTree(r.json()));
    assertThat(read).containsExactlyInAnyOrderElementsOf(expected);
  }

  @Test
  void nonEventTablesGetARecordOfTheirOwnColumns() throws Exception {
    List<StagedRow> sent =
        List.of(
            new StagedRow(
                "hooks",
                "h1",
                Instant.parse("2026-11-21T10:00:00Z").toEpochMilli(),
                "{\"event_id\":\"h1\",\"received_at\":\"2026-11-21T10:00:00Z\",\"data\":{\"a\":[1,2],\"b\":\"x\"}}"),
            new StagedRow(
                "hooks",
                "h2",
                Instant.parse("2026-11-21T10:00:01Z").toEpochMilli(),
                "{\"event_id\":\"h2\",\"received_at\":\"2026-11-21T10:00:01Z\",\"data\":{}}"));
    StagedFile f =
        write(FileFormat.parse("avro", "snappy", FileFormat.DEFAULT_MAX_FILE_BYTES), sent).get(0);
    try (DataFileReader<GenericRecord> reader =
        new DataFileReader<>(root.resolve(f.key()).toFile(), new GenericDatumReader<>())) {
      assertThat(reader.getSchema().getFields())
          .extracting(Schema.Field::name)
          .containsExactly("event_id", "received_at", "data");
      GenericRecord r = reader.next();
      assertThat(r.get("event_id").toString()).isEqualTo("h1");
      assertThat(r.get("received_at"))
          .isEqualTo(Instant.parse("2026-11-21T10:00:00Z").toEpochMilli());
      assertThat(Json.MAPPER.readTree(r.get("data").toString()))
          .isEqualTo(Json.MAPPER.readTree("{\"a\":[1,2],\"b\":\"x\"}"));
    }
  }

  @ParameterizedTest
  @CsvSource({"ndjson,none", "ndjson,gzip", "avro,deflate", "parquet,snappy"})
  void aFileOverTheSizeCapIsSplitIntoPartsOfOneBatch(String format, String compression)
      throws Exception {
    List<CanonicalEvent> sent = events(3000);
    List<StagedRow> tracks = rows(sent).stream().filter(r -> r.table().equals("tracks")).toList();
    FileFormat capped = FileFormat.parse(format, compression, 32 * 1024);
    List<StagedFile> files = write(capped, tracks);

    assertThat(files).hasSizeGreaterThan(2);
    assertThat(files.get(0).key()).endsWith("/conn-1-0-00000001" + capped.extension());
    assertThat(files.get(1).key()).endsWith("/conn-1-0-00000001.1" + capped.extension());
    assertThat(files).extracting(StagedFile::rows).allMatch(n -> n > 0);
    assertThat(files.stream().mapToLong(StagedFile::rows).sum()).isEqualTo(tracks.size());
    // Gzip, Avro and Parquet buffer a block before it counts: a part may pass the cap by at most
    // that block.
    assertThat(files).extracting(StagedFile::bytes).allMatch(b -> b < 32 * 1024 + 2 * 1024 * 1024);

    var archived =
        BatchFileWriter.archivedBatches(
            new FilesystemStagingStore(root), "conn-1", "tracks", null, null);
    assertThat(archived).containsOnlyKeys("conn-1-0-00000001");
    assertThat(archived.get("conn-1-0-00000001")).hasSize(files.size());
  }
}
