package weir.loaders.datasync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.Timestamp;
import java.sql.Types;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.apache.avro.Schema;
import org.apache.avro.file.CodecFactory;
import org.apache.avro.generic.GenericRecord;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import weir.loaders.staging.fs.FilesystemStagingStore;
import weir.loaders.warehouse.WarehouseLoader;
import weir.loaders.warehouse.WarehouseLoader.LoadException;

/**
 * Data Sync loading against a real warehouse: a Pendo-shaped folder ({@link PendoFolder}, written
 * without any Weir writer) loaded with {@link ExportLoader}. Subclasses give the warehouse.
 *
 * <p>The folder: counter 1 has days D1 and D2 (allevents, matched pages, page and track type
 * definitions); counter 2 is the finalized re-export of D1 (fewer and other events, a new field,
 * three pages); counter 3 is retroactive: no allEvents, page {@code pricing} for D1 (four events)
 * and for D2 with no files (delete only).
 */
public abstract class DataSyncLoadContract {
  private static final AtomicInteger ids = new AtomicInteger();
  static final LocalDate D1 = LocalDate.parse("2026-03-01");
  static final LocalDate D2 = LocalDate.parse("2026-03-02");

  @TempDir Path dir;
  private PendoFolder pendo;
  private FilesystemStagingStore source;
  private FilesystemStagingStore staging;
  protected final String schema = "ds" + ids.incrementAndGet() + "_" + System.nanoTime() % 100000;

  /** The warehouse under test, staging its files in {@code staging}. */
  protected abstract WarehouseLoader loader(FilesystemStagingStore staging);

  /** A connection to read the warehouse (closed by the caller). */
  protected abstract Connection connect() throws Exception;

  /** The schema as the warehouse names it (quoted). */
  protected String quoted() {
    return "\"" + schema + "\"";
  }

  @BeforeEach
  void setUp() {
    pendo = new PendoFolder(dir.resolve("bucket"));
    source = new FilesystemStagingStore(dir.resolve("bucket"));
    staging = new FilesystemStagingStore(dir.resolve("staging"));
  }

  private ExportLoader exportLoader() {
    return new ExportLoader(source, PendoFolder.FOLDER, staging, loader(staging));
  }

  private ExportLoader.Summary sync() throws LoadException {
    return exportLoader().sync(schema, false);
  }

  private static List<GenericRecord> events(Schema schema, LocalDate day, String prefix, int n) {
    List<GenericRecord> out = new ArrayList<>();
    for (int i = 0; i < n; i++) out.add(PendoFolder.event(schema, day, prefix + i, i + 1));
    return out;
  }

  private void publishCounter1() throws IOException {
    PendoFolder.Export e = pendo.export();
    String d1 =
        e.file(
            "allevents_2026-03-01.avro",
            PendoFolder.ALL_EVENTS,
            events(PendoFolder.ALL_EVENTS, D1, "/a1-", 3),
            CodecFactory.deflateCodec(6));
    String d2 =
        e.file(
            "allevents_2026-03-02.avro",
            PendoFolder.ALL_EVENTS,
            events(PendoFolder.ALL_EVENTS, D2, "/a2-", 2),
            CodecFactory.snappyCodec());
    String pricing1 =
        e.file(
            "matchedEvents/Page/pricing_2026-03-01.avro",
            PendoFolder.MATCHED,
            events(PendoFolder.MATCHED, D1, "/pricing-", 2),
            CodecFactory.nullCodec());
    String home1 =
        e.file(
            "matchedEvents/Page/home_2026-03-01.avro",
            PendoFolder.MATCHED,
            events(PendoFolder.MATCHED, D1, "/home-", 1),
            CodecFactory.nullCodec());
    String pricing2 =
        e.file(
            "matchedEvents/Page/pricing_2026-03-02.avro",
            PendoFolder.MATCHED,
            events(PendoFolder.MATCHED, D2, "/pricing-", 1),
            CodecFactory.snappyCodec());
    String pages =
        e.file(
            "allpages.avro",
            PendoFolder.PAGES,
            List.of(PendoFolder.page("pricing", "Pricing"), PendoFolder.page("home", "Home")),
            CodecFactory.nullCodec());
    String tracks =
        e.file(
            "alltracktypes.avro",
            PendoFolder.TRACK_TYPES,
            List.of(PendoFolder.trackType("t1")),
            CodecFactory.nullCodec());
    e.definitions("pageDefinitionsFile", pages)
        .definitions("trackTypeDefinitionsFile", tracks)
        .period(
            D1, List.of(d1), Map.of("Page/pricing", List.of(pricing1), "Page/home", List.of(home1)))
        .period(D2, List.of(d2), Map.of("Page/pricing", List.of(pricing2)))
        .publish(1, false);
  }

  private PendoFolder.Export publishCounter2() throws IOException {
    PendoFolder.Export e = pendo.export();
    String d1 =
        e.file(
            "allevents_2026-03-01.avro",
            PendoFolder.ALL_EVENTS_V2,
            events(PendoFolder.ALL_EVENTS_V2, D1, "/final-", 2),
            CodecFactory.deflateCodec(1));
    String pricing =
        e.file(
            "matchedEvents/Page/pricing_2026-03-01.avro",
            PendoFolder.MATCHED,
            events(PendoFolder.MATCHED, D1, "/pricing-final-", 1),
            CodecFactory.nullCodec());
    String home =
        e.file(
            "matchedEvents/Page/home_2026-03-01.avro",
            PendoFolder.MATCHED,
            events(PendoFolder.MATCHED, D1, "/home-final-", 2),
            CodecFactory.nullCodec());
    String pages =
        e.file(
            "allpages.avro",
            PendoFolder.PAGES,
            List.of(
                PendoFolder.page("pricing", "Pricing"),
                PendoFolder.page("home", "Home"),
                PendoFolder.page("signup", "Sign up")),
            CodecFactory.nullCodec());
    e.definitions("pageDefinitionsFile", pages)
        .period(
            D1, List.of(d1), Map.of("Page/pricing", List.of(pricing), "Page/home", List.of(home)))
        .publish(2, false);
    return e;
  }

  private void publishCounter3() throws IOException {
    PendoFolder.Export e = pendo.export();
    String pricing =
        e.file(
            "matchedEvents/Page/pricing_2026-03-01.avro",
            PendoFolder.MATCHED,
            events(PendoFolder.MATCHED, D1, "/pricing-retro-", 4),
            CodecFactory.snappyCodec());
    e.period(D1, null, Map.of("Page/pricing", List.of(pricing)))
        .period(D2, null, Map.of("Page/pricing", List.of()))
        .publish(3, true);
  }

  /** Rows of {@code sql} ({@code %s} is the schema) as "a|b" strings; timestamps as instants. */
  protected List<String> query(String sql) throws Exception {
    List<String> out = new ArrayList<>();
    try (Connection c = connect();
        ResultSet rs = c.createStatement().executeQuery(String.format(sql, quoted()))) {
      ResultSetMetaData md = rs.getMetaData();
      while (rs.next()) {
        List<String> cols = new ArrayList<>();
        for (int i = 1; i <= md.getColumnCount(); i++) {
          int type = md.getColumnType(i);
          if (type == Types.TIMESTAMP || type == Types.TIMESTAMP_WITH_TIMEZONE) {
            Timestamp t = rs.getTimestamp(i);
            cols.add(t == null ? "null" : t.toInstant().toString());
          } else {
            cols.add(String.valueOf(rs.getString(i)));
          }
        }
        out.add(String.join("|", cols));
      }
    }
    return out;
  }

  private List<String> allEventsPerPeriod() throws Exception {
    return query(
        "SELECT period_id, count(*) FROM %s.allevents GROUP BY period_id ORDER BY period_id");
  }

  private List<String> matchedPerPeriodAndPage() throws Exception {
    return query(
        "SELECT period_id, matchable_id, count(*) FROM %s.matched_page_events "
            + "GROUP BY period_id, matchable_id ORDER BY period_id, matchable_id");
  }

  private void assertFinalCounts() throws Exception {
    assertThat(allEventsPerPeriod())
        .containsExactly("2026-03-01T00:00:00Z|2", "2026-03-02T00:00:00Z|2");
    assertThat(matchedPerPeriodAndPage())
        .containsExactly("2026-03-01T00:00:00Z|home|2", "2026-03-01T00:00:00Z|pricing|4");
    assertThat(query("SELECT id FROM %s.allpages ORDER BY id"))
        .containsExactly("home", "pricing", "signup");
    assertThat(query("SELECT id FROM %s.alltracktypes")).containsExactly("t1");
    for (String table : List.of("allevents", "matched_page_events", "allpages")) {
      assertThat(query("SELECT count(*) - count(DISTINCT _weir_row) FROM %s." + table))
          .as("rows of %s loaded twice", table)
          .containsExactly("0");
    }
  }

  @Test
  void exportsLoadInCounterOrderReplacingPeriodsAndMatchables() throws Exception {
    publishCounter1();
    ExportLoader.Summary first = sync();
    assertThat(first.loadedCounters()).containsExactly(1L);
    assertThat(first.watermark()).isEqualTo(1);
    assertThat(first.warnings()).isEmpty();
    assertThat(first.rowsInserted())
        .containsEntry("allevents", 5L)
        .containsEntry("matched_page_events", 4L)
        .containsEntry("allpages", 2L)
        .containsEntry("alltracktypes", 1L);
    assertThat(allEventsPerPeriod())
        .containsExactly("2026-03-01T00:00:00Z|3", "2026-03-02T00:00:00Z|2");
    assertThat(matchedPerPeriodAndPage())
        .containsExactly(
            "2026-03-01T00:00:00Z|home|1",
            "2026-03-01T00:00:00Z|pricing|2",
            "2026-03-02T00:00:00Z|pricing|1");

    publishCounter2();
    publishCounter3();
    ExportLoader.Summary next = sync();
    assertThat(next.loadedCounters()).containsExactly(2L, 3L);
    assertThat(next.watermark()).isEqualTo(3);
    assertThat(next.warnings()).isEmpty();
    assertFinalCounts();
    // The finalized D1 replaced counter 1's D1 events; D2 kept counter 1's.
    assertThat(query("SELECT url FROM %s.allevents ORDER BY url"))
        .containsExactly("/a2-0", "/a2-1", "/final-0", "/final-1");
    assertThat(query("SELECT batch_id FROM %s._weir_loads ORDER BY batch_id"))
        .containsExactly("datasync-1", "datasync-2", "datasync-3");
    assertThat(scratchFiles()).isEmpty();
  }

  @Test
  void aRebuiltWarehouseLoadsEveryListedExportInOneSync() throws Exception {
    publishCounter1();
    publishCounter2();
    publishCounter3();
    ExportLoader.Summary s = sync();
    assertThat(s.loadedCounters()).containsExactly(1L, 2L, 3L);
    assertFinalCounts();
  }

  @Test
  void loadingAgainChangesNothing() throws Exception {
    publishCounter1();
    publishCounter2();
    publishCounter3();
    sync();
    List<String> before = query("SELECT _weir_row FROM %s.allevents ORDER BY _weir_row");
    ExportLoader.Summary again = sync();
    assertThat(again.loadedCounters()).isEmpty();
    assertThat(again.watermark()).isEqualTo(3);
    assertFinalCounts();
    assertThat(query("SELECT _weir_row FROM %s.allevents ORDER BY _weir_row")).isEqualTo(before);
  }

  @Test
  void columnsComeFromEachFilesOwnSchemaAndANewFieldAddsAColumn() throws Exception {
    publishCounter1();
    sync();
    assertThat(columns("allevents")).doesNotContainKey("hostname");
    publishCounter2();
    sync();
    Map<String, String> all = columns("allevents");
    assertThat(all)
        .containsKeys(
            "_weir_row",
            "period_id",
            "browser_time",
            "visitor_id",
            "account_id",
            "remote_ip",
            "server",
            "url",
            "user_agent",
            "num_events",
            "hostname",
            "num_minutes",
            "loaded_at");
    assertThat(all.get("browser_time")).containsIgnoringCase("timestamp");
    assertThat(all.get("period_id")).containsIgnoringCase("timestamp");
    assertThat(all.get("num_events")).isEqualToIgnoringCase("bigint");
    assertThat(all.get("num_minutes")).containsIgnoringCase("double");
    assertThat(query("SELECT url, hostname, browser_time FROM %s.allevents ORDER BY url"))
        .containsExactly(
            "/a2-0|null|2026-03-02T01:00:00Z",
            "/a2-1|null|2026-03-02T01:00:00Z",
            "/final-0|host-/final-0|2026-03-01T01:00:00Z",
            "/final-1|host-/final-1|2026-03-01T01:00:00Z");
    // The bill's matchable id wins over the file's own field.
    assertThat(query("SELECT DISTINCT matchable_id FROM %s.matched_page_events ORDER BY 1"))
        .containsExactly("home", "pricing");
    Map<String, String> pages = columns("allpages");
    assertThat(pages.get("rules")).containsIgnoringCase("json");
    assertThat(pages.get("created_at")).containsIgnoringCase("timestamp");
    assertThat(pages.get("dirty")).containsIgnoringCase("bool");
    assertThat(query("SELECT kind, color, created_at FROM %s.allpages WHERE id = 'home'"))
        .containsExactly("Page|AQID|2023-11-14T22:13:20Z");
    assertThat(String.join("", query("SELECT rules FROM %s.allpages WHERE id = 'home'")))
        .contains("\"rule\"")
        .contains("//*/home");
  }

  @Test
  void exportsThatAgedOutOfTheManifestAreAWarning() throws Exception {
    publishCounter1();
    publishCounter2();
    sync();
    publishCounter3();
    PendoFolder.Export four = pendo.export();
    four.period(D2, List.of(), Map.of()).publish(4, false);
    PendoFolder.Export five = pendo.export();
    five.period(D2, List.of(), Map.of()).publish(5, false);
    pendo.keepOnly(List.of(4L, 5L));
    ExportLoader.Summary s = sync();
    assertThat(s.warnings())
        .containsExactly(
            "export 3 is no longer listed in the manifest (aged out of its 30 days); its periods "
                + "were not loaded");
    assertThat(s.loadedCounters()).containsExactly(4L, 5L);
    assertThat(s.watermark()).isEqualTo(5);
    // Counter 4 listed D2's allEvents with no files: that period is deleted only.
    assertThat(allEventsPerPeriod()).containsExactly("2026-03-01T00:00:00Z|2");
  }

  @Test
  void resyncReloadsEverythingListedToTheSameCounts() throws Exception {
    publishCounter1();
    publishCounter2();
    publishCounter3();
    sync();
    try (Connection c = connect()) {
      c.createStatement().execute("DELETE FROM " + quoted() + ".allevents");
    }
    ExportLoader.Summary plain = sync();
    assertThat(plain.loadedCounters()).isEmpty();
    ExportLoader.Summary resync = exportLoader().sync(schema, true);
    assertThat(resync.loadedCounters()).containsExactly(1L, 2L, 3L);
    assertThat(resync.watermark()).isEqualTo(3);
    assertFinalCounts();
    assertThat(query("SELECT count(*) FROM %s._weir_loads")).containsExactly("3");
  }

  @Test
  void aBillListingAMissingFileFailsNamingItAndCommitsNothing() throws Exception {
    publishCounter1();
    sync();
    PendoFolder.Export two = publishCounter2();
    Files.delete(
        dir.resolve("bucket")
            .resolve(PendoFolder.FOLDER)
            .resolve(two.uuid)
            .resolve("matchedEvents/Page/home_2026-03-01.avro"));
    assertThatThrownBy(this::sync)
        .isInstanceOf(LoadException.class)
        .hasMessageContaining("export 2")
        .hasMessageContaining("matchedEvents/Page/home_2026-03-01.avro");
    assertThat(allEventsPerPeriod())
        .containsExactly("2026-03-01T00:00:00Z|3", "2026-03-02T00:00:00Z|2");
    assertThat(query("SELECT batch_id FROM %s._weir_loads")).containsExactly("datasync-1");
    assertThat(scratchFiles()).isEmpty();
  }

  @Test
  void largeExportsAreSplitIntoScratchFilesAndLoadWhole() throws Exception {
    PendoFolder.Export e = pendo.export();
    String d1 =
        e.file(
            "allevents_2026-03-01.avro",
            PendoFolder.ALL_EVENTS,
            events(PendoFolder.ALL_EVENTS, D1, "/bulk-", 2500),
            CodecFactory.deflateCodec(6));
    e.period(D1, List.of(d1), Map.of()).publish(1, false);
    ExportLoader.Summary s =
        new ExportLoader(source, PendoFolder.FOLDER, staging, loader(staging), 1)
            .sync(schema, false);
    assertThat(s.rowsInserted()).containsEntry("allevents", 2500L);
    assertThat(query("SELECT count(*), count(DISTINCT _weir_row) FROM %s.allevents"))
        .containsExactly("2500|2500");
    assertThat(query("SELECT row_count FROM %s._weir_loads")).containsExactly("2500");
    assertThat(scratchFiles()).isEmpty();
  }

  private List<Path> scratchFiles() throws IOException {
    Path scratch = dir.resolve("staging").resolve("_weir_scratch");
    if (!Files.exists(scratch)) return List.of();
    try (Stream<Path> files = Files.walk(scratch)) {
      return files.filter(Files::isRegularFile).toList();
    }
  }

  /** Column name → data type of a table, from information_schema. */
  private Map<String, String> columns(String table) throws Exception {
    Map<String, String> out = new LinkedHashMap<>();
    for (String row :
        query(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = '"
                + schema
                + "' AND table_name = '"
                + table
                + "'")) {
      String[] parts = row.split("\\|", 2);
      out.put(parts[0], parts[1]);
    }
    return out;
  }
}
