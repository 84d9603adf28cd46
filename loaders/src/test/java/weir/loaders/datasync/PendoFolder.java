package weir.loaders.datasync;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.avro.LogicalTypes;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.avro.file.CodecFactory;
import org.apache.avro.file.DataFileWriter;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;

/**
 * A Data Sync folder as Pendo publishes it (its public description: {@code exportmanifest.json}
 * listing each export's bill of materials with {@code counter}, {@code rootUrl} on gs://, {@code
 * exportType}; Avro files with camelCase fields), written here with Avro's and Jackson's own APIs
 * only: no Weir writer, model or schema is used, so the loader is tested against files it did not
 * make.
 */
final class PendoFolder {
  static final String FOLDER = "datasync/sub-5151/app-42";

  private final Path root;
  private final ObjectMapper json = new ObjectMapper();
  private final ArrayNode exports = json.createArrayNode();

  PendoFolder(Path root) {
    this.root = root;
  }

  // Pendo-like schemas: timestamps as timestamp-millis longs, the period as an Avro date.
  static final Schema ALL_EVENTS =
      SchemaBuilder.record("AllEvent")
          .namespace("io.pendo.datasync")
          .fields()
          .name("browserTime")
          .type(timestampMillis())
          .noDefault()
          .requiredString("visitorId")
          .optionalString("accountId")
          .requiredString("remoteIp")
          .requiredString("server")
          .requiredString("url")
          .requiredString("userAgent")
          .name("periodId")
          .type(date())
          .noDefault()
          .requiredInt("numEvents")
          .endRecord();

  /** A later version of the schema: one more field ({@code hostname}) and a double. */
  static final Schema ALL_EVENTS_V2 =
      SchemaBuilder.record("AllEvent")
          .namespace("io.pendo.datasync")
          .fields()
          .name("browserTime")
          .type(timestampMillis())
          .noDefault()
          .requiredString("visitorId")
          .optionalString("accountId")
          .requiredString("remoteIp")
          .requiredString("server")
          .requiredString("url")
          .requiredString("userAgent")
          .name("periodId")
          .type(date())
          .noDefault()
          .requiredInt("numEvents")
          .optionalString("hostname")
          .optionalDouble("numMinutes")
          .endRecord();

  static final Schema MATCHED =
      SchemaBuilder.record("MatchedEvent")
          .namespace("io.pendo.datasync")
          .fields()
          .name("browserTime")
          .type(timestampMillis())
          .noDefault()
          .requiredString("visitorId")
          .optionalString("accountId")
          .requiredString("url")
          .name("periodId")
          .type(date())
          .noDefault()
          .requiredString("matchableId")
          .requiredInt("numEvents")
          .endRecord();

  static final Schema RULE =
      SchemaBuilder.record("Rule")
          .fields()
          .requiredString("rule")
          .optionalString("designerHint")
          .endRecord();

  static final Schema PAGES =
      SchemaBuilder.record("Page")
          .namespace("io.pendo.datasync")
          .fields()
          .requiredString("id")
          .requiredString("name")
          .name("rules")
          .type()
          .array()
          .items(RULE)
          .noDefault()
          .name("createdAt")
          .type(timestampMillis())
          .noDefault()
          .name("kind")
          .type()
          .enumeration("Kind")
          .symbols("Page", "Screen")
          .noDefault()
          .requiredBytes("color")
          .requiredBoolean("dirty")
          .endRecord();

  static final Schema TRACK_TYPES =
      SchemaBuilder.record("TrackType")
          .namespace("io.pendo.datasync")
          .fields()
          .requiredString("id")
          .requiredString("name")
          .name("lastSeen")
          .type(timestampMillis())
          .noDefault()
          .endRecord();

  private static Schema timestampMillis() {
    return LogicalTypes.timestampMillis().addToSchema(Schema.create(Schema.Type.LONG));
  }

  private static Schema date() {
    return LogicalTypes.date().addToSchema(Schema.create(Schema.Type.INT));
  }

  /** One event of allevents or a matched file. */
  static GenericRecord event(Schema schema, LocalDate day, String url, int numEvents) {
    GenericRecord r = new GenericData.Record(schema);
    r.put("browserTime", day.atStartOfDay().toInstant(ZoneOffset.UTC).toEpochMilli() + 3_600_000L);
    r.put("visitorId", "v-" + url);
    r.put("accountId", url.hashCode() % 2 == 0 ? null : "acme");
    if (schema.getField("remoteIp") != null) {
      r.put("remoteIp", "10.0.0.1");
      r.put("server", "app.example.com");
      r.put("userAgent", "Mozilla/5.0");
    }
    r.put("url", url);
    r.put("periodId", (int) day.toEpochDay());
    r.put("numEvents", numEvents);
    if (schema.getField("matchableId") != null) r.put("matchableId", "ignored-the-bill-wins");
    if (schema.getField("hostname") != null) r.put("hostname", "host-" + url);
    return r;
  }

  static GenericRecord page(String id, String name) {
    GenericRecord rule = new GenericData.Record(RULE);
    rule.put("rule", "//*/" + id);
    rule.put("designerHint", null);
    GenericRecord r = new GenericData.Record(PAGES);
    r.put("id", id);
    r.put("name", name);
    r.put("rules", List.of(rule));
    r.put("createdAt", 1_700_000_000_000L);
    r.put("kind", new GenericData.EnumSymbol(PAGES.getField("kind").schema(), "Page"));
    r.put("color", ByteBuffer.wrap(new byte[] {1, 2, 3}));
    r.put("dirty", false);
    return r;
  }

  static GenericRecord trackType(String id) {
    GenericRecord r = new GenericData.Record(TRACK_TYPES);
    r.put("id", id);
    r.put("name", "Track " + id);
    r.put("lastSeen", 1_700_000_000_000L);
    return r;
  }

  /** One export being described: its files and bill of materials. */
  final class Export {
    final String uuid = UUID.randomUUID().toString();
    final ObjectNode bill = json.createObjectNode();
    final ArrayNode periods = bill.putArray("timeDependent");
    int files;
    long bytes;

    Export() {
      bill.put("timestamp", "2026-03-10T02:00:00Z");
      bill.putObject("application").put("id", "app-42").put("displayName", "Shop");
      bill.putObject("subscription").put("id", "sub-5151").put("displayName", "Acme");
    }

    /** Writes an Avro file of the export (codec: deflate, snappy or null). */
    String file(String name, Schema schema, List<GenericRecord> rows, CodecFactory codec)
        throws IOException {
      Path p = root.resolve(FOLDER).resolve(uuid).resolve(name);
      Files.createDirectories(p.getParent());
      try (DataFileWriter<GenericRecord> w =
          new DataFileWriter<>(new GenericDatumWriter<>(schema))) {
        w.setCodec(codec);
        w.create(schema, p.toFile());
        for (GenericRecord r : rows) w.append(r);
      }
      files++;
      bytes += Files.size(p);
      return name;
    }

    Export definitions(String field, String... files) {
      ArrayNode a = bill.putArray(field);
      for (String f : files) a.add(f);
      return this;
    }

    /** A period: allEvents files (null: none listed, as a retroactive export) and matched ones. */
    Export period(LocalDate day, List<String> allEvents, Map<String, List<String>> matched) {
      ObjectNode p = periods.addObject();
      p.put("periodId", day + "T00:00:00Z");
      if (allEvents != null) {
        ObjectNode all = p.putObject("allEvents");
        all.put("eventCount", 0);
        ArrayNode a = all.putArray("files");
        allEvents.forEach(a::add);
      }
      ArrayNode m = p.putArray("matchedEvents");
      matched.forEach(
          (id, files) -> {
            ObjectNode e = m.addObject();
            e.put("id", id);
            e.put("type", id.substring(0, id.indexOf('/')));
            e.put("eventCount", 0);
            ArrayNode a = e.putArray("files");
            files.forEach(a::add);
          });
      return this;
    }

    /** Lists the export in the manifest (as Pendo does once its files are written). */
    void publish(long counter, boolean retroactive) throws IOException {
      bill.put("numberOfFiles", files);
      Path b = root.resolve(FOLDER).resolve(uuid).resolve("billofmaterials.json");
      Files.createDirectories(b.getParent());
      json.writeValue(b.toFile(), bill);
      ObjectNode entry = bill.deepCopy();
      entry.put("counter", counter);
      entry.put("finishTime", "2026-03-10T02:0" + (counter % 10) + ":00Z");
      entry.put("storageSize", bytes);
      entry.put("rootUrl", "gs://pendo-datasync-us-east1/datasync/sub-5151/app-42/" + uuid);
      if (retroactive) entry.putArray("exportType").add("Retroactive");
      else entry.putNull("exportType");
      exports.add(entry);
      writeManifest();
    }
  }

  Export export() {
    return new Export();
  }

  /** Keeps only the exports with counters in {@code counters} (the others aged out). */
  void keepOnly(List<Long> counters) throws IOException {
    List<ObjectNode> kept = new ArrayList<>();
    exports.forEach(
        e -> {
          if (counters.contains(e.get("counter").asLong())) kept.add((ObjectNode) e);
        });
    exports.removeAll();
    kept.forEach(exports::add);
    writeManifest();
  }

  private void writeManifest() throws IOException {
    ObjectNode manifest = json.createObjectNode();
    manifest.set("exports", exports);
    manifest.put("generatedTime", "2026-03-10T03:00:00Z");
    Path m = root.resolve(FOLDER).resolve("exportmanifest.json");
    Files.createDirectories(m.getParent());
    json.writerWithDefaultPrettyPrinter().writeValue(m.toFile(), manifest);
  }
}
