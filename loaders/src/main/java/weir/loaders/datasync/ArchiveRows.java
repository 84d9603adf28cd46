package weir.loaders.datasync;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedInputStream;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Set;
import java.util.zip.GZIPInputStream;
import org.apache.avro.LogicalTypes;
import org.apache.avro.Schema;
import org.apache.avro.file.DataFileStream;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.parquet.avro.AvroParquetReader;
import org.apache.parquet.conf.PlainParquetConfiguration;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.io.LocalInputFile;
import weir.loaders.staging.StagingStore;
import weir.protocol.Json;

/**
 * The rows of one staged file of a connection's archive as the JSON objects staging wrote, whatever
 * its format: NDJSON (gzip or plain) line by line, Avro and Parquet (a data lake's formats) record
 * by record, timestamps back to ISO-8601 text and the JSON-text columns ({@code context}, {@code
 * properties}, {@code traits}, {@code data}) back to JSON. A Parquet file is read from a local copy
 * (its footer is at the end). Streams: one row at a time.
 */
final class ArchiveRows {
  /** Columns the Avro and Parquet formats store as JSON text. */
  private static final Set<String> JSON_TEXT = Set.of("context", "properties", "traits", "data");

  /** What takes each row. */
  interface Sink {
    void accept(JsonNode row) throws IOException;
  }

  private ArchiveRows() {}

  /** Whether {@code key} is a staged file this reads. */
  static boolean readable(String key) {
    return key.endsWith(".ndjson.gz")
        || key.endsWith(".ndjson")
        || key.endsWith(".avro")
        || key.endsWith(".parquet");
  }

  static void read(StagingStore store, String key, Path scratch, Sink sink) throws IOException {
    if (key.endsWith(".avro")) {
      try (InputStream in = new BufferedInputStream(store.open(key), 1 << 16);
          DataFileStream<GenericRecord> records =
              new DataFileStream<>(in, new GenericDatumReader<>())) {
        for (GenericRecord r : records) sink.accept(row(r));
      }
    } else if (key.endsWith(".parquet")) {
      Files.createDirectories(scratch);
      Path local = Files.createTempFile(scratch, "archive-", ".parquet");
      try {
        Path copy = store.localPath(key).orElse(null) != null ? store.localPath(key).get() : null;
        if (copy == null) {
          try (InputStream in = store.open(key)) {
            Files.copy(in, local, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
          }
          copy = local;
        }
        try (ParquetReader<GenericRecord> reader =
            AvroParquetReader.<GenericRecord>builder(
                    new LocalInputFile(copy), new PlainParquetConfiguration())
                .build()) {
          GenericRecord r;
          while ((r = reader.read()) != null) sink.accept(row(r));
        }
      } finally {
        Files.deleteIfExists(local);
      }
    } else {
      try (InputStream raw = new BufferedInputStream(store.open(key), 1 << 16);
          InputStream in = key.endsWith(".gz") ? new GZIPInputStream(raw, 1 << 16) : raw;
          BufferedReader lines =
              new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8), 1 << 16)) {
        String line;
        while ((line = lines.readLine()) != null) {
          if (!line.isBlank()) sink.accept(Json.MAPPER.readTree(line));
        }
      }
    }
  }

  /** A record as the row staging wrote: ISO timestamps, JSON-text columns parsed. */
  static ObjectNode row(GenericRecord r) throws IOException {
    ObjectNode out = JsonNodeFactory.instance.objectNode();
    for (Schema.Field f : r.getSchema().getFields()) {
      Object v = r.get(f.pos());
      if (v == null) {
        out.putNull(f.name());
        continue;
      }
      Schema type = nonNull(f.schema());
      if (v instanceof Long millis && type.getLogicalType() instanceof LogicalTypes.TimestampMillis)
        out.put(f.name(), Instant.ofEpochMilli(millis).toString());
      else if (v instanceof Long micros
          && type.getLogicalType() instanceof LogicalTypes.TimestampMicros)
        out.put(
            f.name(),
            Instant.ofEpochSecond(micros / 1_000_000, (micros % 1_000_000) * 1000).toString());
      else if (v instanceof CharSequence text && JSON_TEXT.contains(f.name()))
        out.set(f.name(), Json.MAPPER.readTree(text.toString()));
      else if (v instanceof CharSequence || v instanceof org.apache.avro.generic.GenericEnumSymbol)
        out.put(f.name(), v.toString());
      else if (v instanceof Long l) out.put(f.name(), l);
      else if (v instanceof Integer i) out.put(f.name(), i);
      else if (v instanceof Double d) out.put(f.name(), d);
      else if (v instanceof Float x) out.put(f.name(), x);
      else if (v instanceof Boolean b) out.put(f.name(), b);
      else out.put(f.name(), v.toString());
    }
    return out;
  }

  private static Schema nonNull(Schema s) {
    if (s.getType() != Schema.Type.UNION) return s;
    for (Schema t : s.getTypes()) if (t.getType() != Schema.Type.NULL) return t;
    return s;
  }
}
