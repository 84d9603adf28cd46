package weir.loaders.datasync;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.apache.avro.file.DataFileStream;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import weir.loaders.staging.BatchFileWriter;
import weir.loaders.staging.fs.FilesystemStagingStore;
import weir.protocol.StagedRow;
import weir.protocol.datasync.BillOfMaterials;
import weir.protocol.datasync.ExportManifest;
import weir.protocol.datasync.PageRule;
import weir.protocol.event.CanonicalEvent;
import weir.protocol.event.EventTables;

class ExportWriterTest {
  @TempDir Path dir;

  private static final LocalDate D1 = LocalDate.of(2026, 11, 20);
  private static final LocalDate D2 = LocalDate.of(2026, 11, 21);
  private static final List<PageRule> RULES =
      List.of(
          new PageRule("pricing", "Pricing", "/pricing*"), new PageRule("docs", "Docs", "/docs*"));

  private static CanonicalEvent event(
      String id, CanonicalEvent.Type type, String name, String at, String url) {
    ObjectNode context = JsonNodeFactory.instance.objectNode();
    context.put("ip", "10.0.0.1");
    context.put("userAgent", "curl/8");
    ObjectNode properties = JsonNodeFactory.instance.objectNode();
    if (url != null) properties.put("url", url);
    properties.put("n", 1);
    Instant t = Instant.parse(at);
    return new CanonicalEvent(
        id,
        type,
        name,
        "anon-" + id,
        "user-1",
        t,
        t,
        t.plusSeconds(1),
        null,
        context,
        properties,
        JsonNodeFactory.instance.objectNode(),
        "c_shop");
  }

  /** The archive as staging writes it: two batches, one event staged in both. */
  private FilesystemStagingStore archive() throws IOException {
    FilesystemStagingStore archive = new FilesystemStagingStore(dir.resolve("archive"));
    List<CanonicalEvent> first =
        List.of(
            event("e1", CanonicalEvent.Type.track, "Order Completed", "2026-11-20T10:00:00Z", null),
            event(
                "e2",
                CanonicalEvent.Type.page,
                "Pricing",
                "2026-11-20T11:00:00Z",
                "https://shop.example/pricing?x=1"),
            event(
                "e3",
                CanonicalEvent.Type.page,
                "About",
                "2026-11-20T12:00:00Z",
                "https://shop.example/about"),
            event("e4", CanonicalEvent.Type.identify, null, "2026-11-21T01:00:00Z", null));
    List<CanonicalEvent> second =
        List.of(
            event("e4", CanonicalEvent.Type.identify, null, "2026-11-21T01:00:00Z", null),
            event("e5", CanonicalEvent.Type.track, "Order Completed", "2026-11-21T02:00:00Z", null),
            event("e6", CanonicalEvent.Type.track, "Signed Up", "2026-11-21T03:00:00Z", null),
            event("e7", CanonicalEvent.Type.track, "Signed Up", "2026-11-22T03:00:00Z", null));
    new BatchFileWriter(archive).write("c_shop", "c_shop-0-1", rows(first));
    new BatchFileWriter(archive).write("c_shop", "c_shop-0-2", rows(second));
    return archive;
  }

  private static List<StagedRow> rows(List<CanonicalEvent> events) {
    List<StagedRow> out = new ArrayList<>();
    events.forEach(e -> out.addAll(EventTables.rows(e)));
    return out;
  }

  private static List<GenericRecord> read(FilesystemStagingStore store, String key)
      throws IOException {
    List<GenericRecord> out = new ArrayList<>();
    try (InputStream in = store.open(key);
        DataFileStream<GenericRecord> r = new DataFileStream<>(in, new GenericDatumReader<>())) {
      r.forEach(out::add);
    }
    return out;
  }

  private static Set<String> ids(List<GenericRecord> records) {
    Set<String> out = new LinkedHashSet<>();
    records.forEach(r -> out.add(r.get("eventId").toString()));
    return out;
  }

  @Test
  void exportsEachDaysEventsOnceWithMatchedFilesDefinitionsAndABillThatCountsThem()
      throws Exception {
    FilesystemStagingStore archive = archive();
    FilesystemStagingStore lake = new FilesystemStagingStore(dir.resolve("lake"));
    String folder = ExportWriter.folderOf("ws", "c_shop");
    ExportWriter writer =
        new ExportWriter(archive, lake, folder, "ws", dir.resolve("scratch"), 1L << 30);
    ExportWriter.Source source =
        new ExportWriter.Source("c_shop", "Shop", ExportWriter.EVENT_TABLES, false);
    List<String> progress = new ArrayList<>();
    ExportWriter.Written written =
        writer.write(
            source,
            new ExportWriter.Plan("u-1", List.of(D1, D2), null, RULES, null),
            progress::add);
    assertThat(progress).containsExactly("2026-11-20: 3 events", "2026-11-21: 3 events");

    String root = folder + "u-1/";
    BillOfMaterials bill = written.bill();
    assertThat(bill.timeDependent()).hasSize(2);
    BillOfMaterials.Period p1 = bill.timeDependent().get(0);
    assertThat(p1.periodId()).isEqualTo("2026-11-20T00:00:00Z");
    assertThat(p1.allEvents().files()).containsExactly("allevents_2026-11-20.avro");
    List<GenericRecord> day1 = read(lake, root + "allevents_2026-11-20.avro");
    assertThat(ids(day1)).containsExactlyInAnyOrder("e1", "e2", "e3");
    assertThat(p1.allEvents().eventCount()).isEqualTo(3);
    List<GenericRecord> day2 = read(lake, root + "allevents_2026-11-21.avro");
    assertThat(day2)
        .extracting(r -> r.get("eventId").toString())
        .containsExactlyInAnyOrder("e4", "e5", "e6");
    GenericRecord page =
        day1.stream()
            .filter(r -> r.get("eventId").toString().equals("e2"))
            .findFirst()
            .orElseThrow();
    assertThat(page.get("periodId")).isEqualTo((int) D1.toEpochDay());
    assertThat(page.get("browserTimestamp"))
        .isEqualTo(Instant.parse("2026-11-20T11:00:00Z").toEpochMilli());
    assertThat(page.get("visitorId").toString()).isEqualTo("user-1");
    assertThat(page.get("url").toString()).isEqualTo("https://shop.example/pricing?x=1");
    assertThat(page.get("remoteIp").toString()).isEqualTo("10.0.0.1");
    assertThat(page.get("userAgent").toString()).isEqualTo("curl/8");
    assertThat(page.get("eventType").toString()).isEqualTo("page");

    // Pages: every rule listed per day; pricing matched e2 on day 1 only.
    assertThat(p1.matchedEvents())
        .extracting(BillOfMaterials.Matched::id)
        .contains(
            "Page/pricing",
            "Page/docs",
            "TrackType/" + ExportWriter.trackTypeId("Order Completed"));
    BillOfMaterials.Matched pricing =
        p1.matchedEvents().stream()
            .filter(m -> m.id().equals("Page/pricing"))
            .findFirst()
            .orElseThrow();
    assertThat(pricing.eventCount()).isEqualTo(1);
    List<GenericRecord> matched = read(lake, root + pricing.files().get(0));
    assertThat(ids(matched)).containsExactly("e2");
    assertThat(matched.get(0).get("matchableId").toString()).isEqualTo("pricing");
    BillOfMaterials.Matched docs =
        p1.matchedEvents().stream()
            .filter(m -> m.id().equals("Page/docs"))
            .findFirst()
            .orElseThrow();
    assertThat(docs.files()).isEmpty();
    String signedUp = ExportWriter.trackTypeId("Signed Up");
    BillOfMaterials.Matched signed =
        bill.timeDependent().get(1).matchedEvents().stream()
            .filter(m -> m.id().equals("TrackType/" + signedUp))
            .findFirst()
            .orElseThrow();
    assertThat(ids(read(lake, root + signed.files().get(0)))).containsExactly("e6");

    // Definitions: track types with counts and first/last seen; features and guides empty.
    List<GenericRecord> tracks = read(lake, root + bill.trackTypeDefinitionsFile().get(0));
    assertThat(tracks)
        .extracting(r -> r.get("name").toString())
        .containsExactlyInAnyOrder("Order Completed", "Signed Up");
    GenericRecord oc =
        tracks.stream()
            .filter(r -> r.get("name").toString().equals("Order Completed"))
            .findFirst()
            .orElseThrow();
    assertThat(oc.get("eventCount")).isEqualTo(2L);
    assertThat(oc.get("firstSeen")).isEqualTo(Instant.parse("2026-11-20T10:00:00Z").toEpochMilli());
    assertThat(oc.get("lastSeen")).isEqualTo(Instant.parse("2026-11-21T02:00:00Z").toEpochMilli());
    List<GenericRecord> pages = read(lake, root + bill.pageDefinitionsFile().get(0));
    assertThat(pages)
        .extracting(r -> r.get("id").toString() + "=" + r.get("eventCount"))
        .containsExactly("pricing=1", "docs=0");
    assertThat(read(lake, root + bill.featureDefinitionsFile().get(0))).isEmpty();
    assertThat(read(lake, root + bill.guideDefinitionsFile().get(0))).isEmpty();

    // The bill counts what the files hold, with each file's SHA-256.
    int files = 0;
    for (var e : bill.weirFiles().entrySet()) {
      byte[] bytes = Files.readAllBytes(dir.resolve("lake").resolve(root + e.getKey()));
      assertThat(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes)))
          .isEqualTo(e.getValue().sha256());
      assertThat((long) read(lake, root + e.getKey()).size()).isEqualTo(e.getValue().rows());
      files++;
    }
    assertThat(bill.numberOfFiles()).isEqualTo(files);
    assertThat(lake.exists(root + ExportManifest.BILL)).isTrue();
    assertThat(lake.exists(folder + ExportManifest.FILE)).as("not listed before publish").isFalse();

    ExportManifest.Entry entry = writer.publish(written, null, 0);
    assertThat(entry.counter()).isEqualTo(1);
    assertThat(writer.publish(written, null, 0).counter()).as("publish repeated").isEqualTo(1);
    ExportManifest manifest = writer.readManifest();
    assertThat(manifest.exports()).hasSize(1);
    assertThat(manifest.exports().get(0).folder()).isEqualTo("u-1");
    assertThat(manifest.exports().get(0).storageSize()).isEqualTo(written.storageSize());
    ExportManifest.Entry test =
        writer.publish(
            writer.write(
                source,
                new ExportWriter.Plan("u-2", List.of(D1), ExportManifest.TEST, RULES, null),
                s -> {}),
            ExportManifest.TEST,
            5);
    assertThat(test.counter()).as("above the caller's last counter").isEqualTo(6);
    assertThat(lake.exists(folder + "u-2/allevents.avro"))
        .as("one day: Pendo's plain names")
        .isTrue();

    // A later export of one day still defines every track type the folder has seen.
    ExportWriter.Written later =
        writer.write(source, new ExportWriter.Plan("u-4", List.of(D1), null, RULES, null), s -> {});
    writer.publish(later, null, 6);
    List<GenericRecord> defined =
        read(lake, folder + "u-4/" + later.bill().trackTypeDefinitionsFile().get(0));
    assertThat(defined)
        .extracting(r -> r.get("name") + "=" + r.get("eventCount"))
        .containsExactlyInAnyOrder("Order Completed=1", "Signed Up=0");
    GenericRecord signedUpDef =
        defined.stream()
            .filter(r -> r.get("name").toString().equals("Signed Up"))
            .findFirst()
            .orElseThrow();
    assertThat(signedUpDef.get("lastSeen"))
        .isEqualTo(Instant.parse("2026-11-21T03:00:00Z").toEpochMilli());
  }

  @Test
  void splitsFilesOverTheSizeCapAndARetroactiveExportCarriesOnlyTheChangedPages() throws Exception {
    FilesystemStagingStore archive = archive();
    FilesystemStagingStore lake = new FilesystemStagingStore(dir.resolve("lake"));
    String folder = ExportWriter.folderOf("ws", "c_shop");
    ExportWriter writer = new ExportWriter(archive, lake, folder, "ws", dir.resolve("scratch"), 1);
    ExportWriter.Source source =
        new ExportWriter.Source("c_shop", "Shop", ExportWriter.EVENT_TABLES, false);
    BillOfMaterials bill =
        writer
            .write(source, new ExportWriter.Plan("u-1", List.of(D1), null, RULES, null), s -> {})
            .bill();
    assertThat(bill.timeDependent().get(0).allEvents().files())
        .containsExactly("allevents.avro", "allevents_1.avro", "allevents_2.avro");
    Set<String> all = new LinkedHashSet<>();
    for (String f : bill.timeDependent().get(0).allEvents().files())
      all.addAll(ids(read(lake, folder + "u-1/" + f)));
    assertThat(all).containsExactlyInAnyOrder("e1", "e2", "e3");

    List<PageRule> changed = List.of(new PageRule("about", "About", "/about"));
    ExportWriter big =
        new ExportWriter(archive, lake, folder, "ws", dir.resolve("scratch"), 1L << 30);
    BillOfMaterials retro =
        big.write(
                source,
                new ExportWriter.Plan(
                    "u-3",
                    List.of(D1, D2),
                    ExportManifest.RETROACTIVE,
                    changed,
                    Set.of("about", "pricing")),
                s -> {})
            .bill();
    BillOfMaterials.Period p1 = retro.timeDependent().get(0);
    assertThat(p1.allEvents()).isNull();
    assertThat(p1.matchedEvents())
        .extracting(BillOfMaterials.Matched::id)
        .containsExactly("Page/about", "Page/pricing");
    assertThat(p1.matchedEvents().get(0).eventCount()).isEqualTo(1);
    assertThat(p1.matchedEvents().get(1).files()).as("a removed page: delete only").isEmpty();
    assertThat(lake.exists(folder + "u-3/allevents_2026-11-20.avro")).isFalse();
    assertThat(read(lake, folder + "u-3/" + retro.trackTypeDefinitionsFile().get(0))).hasSize(2);
  }

  @Test
  void aDayWithMoreTrackTypesThanOpenFilesWritesEachMatchedFileWhole() throws Exception {
    FilesystemStagingStore archive = new FilesystemStagingStore(dir.resolve("many"));
    List<CanonicalEvent> events = new ArrayList<>();
    int names = ExportWriter.MAX_OPEN_SPOOLS * 3;
    for (int i = 0; i < names * 5; i++) {
      // Interleaved: every name is written to again after 2 * MAX_OPEN_SPOOLS others.
      events.add(
          event(
              "m" + i,
              CanonicalEvent.Type.track,
              "Event " + (i % names),
              "2026-11-20T10:00:00Z",
              null));
    }
    new BatchFileWriter(archive).write("c_shop", "c_shop-0-1", rows(events));
    FilesystemStagingStore lake = new FilesystemStagingStore(dir.resolve("many-lake"));
    String folder = ExportWriter.folderOf("ws", "c_shop");
    BillOfMaterials bill =
        new ExportWriter(archive, lake, folder, "ws", dir.resolve("scratch"), 1L << 30)
            .write(
                new ExportWriter.Source("c_shop", "Shop", ExportWriter.EVENT_TABLES, false),
                new ExportWriter.Plan("u-9", List.of(D1), null, List.of(), null),
                s -> {})
            .bill();
    List<BillOfMaterials.Matched> matched = bill.timeDependent().get(0).matchedEvents();
    assertThat(matched).hasSize(names);
    Set<String> all = new LinkedHashSet<>();
    for (BillOfMaterials.Matched m : matched) {
      assertThat(m.eventCount()).isEqualTo(5);
      List<GenericRecord> records = read(lake, folder + "u-9/" + m.files().get(0));
      assertThat(records).hasSize(5);
      records.forEach(r -> all.add(r.get("eventId").toString()));
    }
    assertThat(all).hasSize(names * 5);
  }

  @Test
  void exportsADataLakesAvroAndParquetArchivesAsItsNdjsonOne() throws Exception {
    List<CanonicalEvent> events =
        List.of(
            event("e1", CanonicalEvent.Type.track, "Order Completed", "2026-11-20T10:00:00Z", null),
            event(
                "e2",
                CanonicalEvent.Type.page,
                "Pricing",
                "2026-11-20T11:00:00Z",
                "https://shop.example/pricing"),
            event("e3", CanonicalEvent.Type.identify, null, "2026-11-20T12:00:00Z", null));
    for (String format : List.of("avro", "parquet")) {
      FilesystemStagingStore archive = new FilesystemStagingStore(dir.resolve("lake-" + format));
      new BatchFileWriter(
              archive,
              weir.loaders.files.FileFormat.parse(format, "snappy", 1L << 30),
              EventTables::specFor)
          .write("c_shop", "c_shop-0-1", rows(events));
      FilesystemStagingStore out = new FilesystemStagingStore(dir.resolve("out-" + format));
      String folder = ExportWriter.folderOf("ws", "c_shop");
      BillOfMaterials bill =
          new ExportWriter(archive, out, folder, "ws", dir.resolve("scratch"), 1L << 30)
              .write(
                  new ExportWriter.Source("c_shop", "Shop", ExportWriter.EVENT_TABLES, false),
                  new ExportWriter.Plan("u-" + format, List.of(D1), null, RULES, null),
                  s -> {})
              .bill();
      List<GenericRecord> all =
          read(
              out,
              folder
                  + "u-"
                  + format
                  + "/"
                  + bill.timeDependent().get(0).allEvents().files().get(0));
      assertThat(ids(all)).as(format).containsExactlyInAnyOrder("e1", "e2", "e3");
      GenericRecord page =
          all.stream()
              .filter(r -> r.get("eventId").toString().equals("e2"))
              .findFirst()
              .orElseThrow();
      assertThat(page.get("url").toString()).isEqualTo("https://shop.example/pricing");
      assertThat(page.get("browserTimestamp"))
          .isEqualTo(Instant.parse("2026-11-20T11:00:00Z").toEpochMilli());
      assertThat(page.get("remoteIp").toString()).isEqualTo("10.0.0.1");
      BillOfMaterials.Matched pricing =
          bill.timeDependent().get(0).matchedEvents().stream()
              .filter(m -> m.id().equals("Page/pricing"))
              .findFirst()
              .orElseThrow();
      assertThat(pricing.eventCount()).as(format).isEqualTo(1);
    }
  }
}
