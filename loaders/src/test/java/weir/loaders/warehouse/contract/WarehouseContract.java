package weir.loaders.warehouse.contract;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.zip.GZIPInputStream;
import weir.loaders.staging.BatchFileWriter;
import weir.loaders.staging.StagedFile;
import weir.loaders.staging.StagingStore;
import weir.loaders.staging.fs.FilesystemStagingStore;
import weir.loaders.warehouse.WarehouseLoader;
import weir.protocol.ColumnType;
import weir.protocol.StagedRow;
import weir.protocol.TableSpec;
import weir.protocol.event.EventTables;

/**
 * The loads every contract test runs (append with new and widened dynamic columns, merge, replace,
 * period, a period reload) and the comparison with the recorded expectation in {@code
 * src/test/resources/contracts/}. Run with {@code -Dweir.contracts.record=true} to rewrite the
 * expectations after a reviewed change.
 */
public final class WarehouseContract {
  private WarehouseContract() {}

  /**
   * A filesystem store whose files are described as S3 objects (Redshift copies from s3:// URIs).
   */
  public static StagingStore s3Described(Path root) {
    return described(root, "s3://weir-staging/weir/");
  }

  /** A filesystem store whose files are described under {@code uriPrefix} (s3://..., gs://...). */
  public static StagingStore described(Path root, String uriPrefix) {
    FilesystemStagingStore fs = new FilesystemStagingStore(root);
    return new StagingStore() {
      public StagedOutput create(String key) throws IOException {
        return fs.create(key);
      }

      public List<String> list(String prefix) throws IOException {
        return fs.list(prefix);
      }

      public InputStream open(String key) throws IOException {
        return fs.open(key);
      }

      public boolean exists(String key) {
        return fs.exists(key);
      }

      public Optional<Path> localPath(String key) {
        return fs.localPath(key);
      }

      public void delete(String key) throws IOException {
        fs.delete(key);
      }

      public String describe(String key) {
        return uriPrefix + key;
      }
    };
  }

  /**
   * What the recording database answers: the existing columns of order_completed (its declared
   * columns, as the warehouse names their types in {@code information_schema}, then {@code
   * dynamicColumns}), two ranks for merges.
   */
  public static List<List<Object>> answers(
      String sql, Map<String, String> dynamicColumns, Function<ColumnType, String> dataType) {
    if (sql.contains("information_schema.columns") && sql.contains("'order_completed'")) {
      List<List<Object>> out = new ArrayList<>();
      for (TableSpec.Column c : spec("order_completed").columns())
        out.add(List.of(c.name(), dataType.apply(c.type())));
      dynamicColumns.forEach((name, type) -> out.add(List.of(name, type)));
      return out;
    }
    if (sql.contains("max(_weir_rank)")) return List.of(List.of(2));
    return null;
  }

  static StagedRow row(String table, String id, String json) {
    return new StagedRow(table, id, Instant.parse("2026-11-21T10:00:00Z").toEpochMilli(), json);
  }

  static final TableSpec SNAPSHOT =
      TableSpec.replaced(
          "plans",
          List.of(
              new TableSpec.Column("id", ColumnType.STRING),
              new TableSpec.Column("price", ColumnType.DOUBLE)),
          "id");
  static final TableSpec DAILY =
      TableSpec.periods(
          "daily",
          List.of(
              new TableSpec.Column("id", ColumnType.STRING),
              new TableSpec.Column("day", ColumnType.TIMESTAMP),
              new TableSpec.Column("n", ColumnType.LONG)),
          "id",
          "day");

  static TableSpec spec(String table) {
    return switch (table) {
      case "plans" -> SNAPSHOT;
      case "daily" -> DAILY;
      default -> EventTables.specFor(table);
    };
  }

  /**
   * Runs the contract's loads through {@code loader} (recording into {@code db}) and checks the
   * SQL.
   */
  public static void check(String name, WarehouseLoader loader, List<String> log, Path root)
      throws Exception {
    BatchFileWriter writer = new BatchFileWriter(new FilesystemStagingStore(root));
    String track =
        "{\"event_id\":\"e1\",\"type\":\"track\",\"event\":\"Order Completed\",\"anonymous_id\":\"a1\","
            + "\"user_id\":\"u1\",\"timestamp\":\"2026-11-21T10:00:00Z\",\"received_at\":\"2026-11-21T10:00:01Z\","
            + "\"context\":{\"ip\":\"10.0.0.1\"},\"properties\":{\"revenue\":9.5,\"coupon\":\"X\"},\"traits\":{},"
            + "\"connection_id\":\"c1\"";
    List<StagedFile> events =
        writer.write(
            "c1",
            "c1-0-00000001",
            List.of(
                row("tracks", "e1", track + "}"),
                row(
                    "order_completed",
                    "e1",
                    track + ",\"revenue\":9.5,\"coupon\":\"X\",\"items\":3}"),
                row(
                    "users",
                    "e2",
                    "{\"event_id\":\"e2\",\"user_id\":\"u1\",\"anonymous_id\":\"a1\",\"traits\":{\"plan\":\"pro\"},"
                        + "\"first_seen\":\"2026-11-21T10:00:00Z\",\"last_seen\":\"2026-11-21T10:00:00Z\"}")));
    List<StagedFile> other =
        writer.write(
            "c1",
            "c1-0-00000002",
            List.of(
                row("plans", "p1", "{\"id\":\"p1\",\"price\":10.0}"),
                row("daily", "d1", "{\"id\":\"d1\",\"day\":\"2026-11-21T00:00:00Z\",\"n\":4}")));

    log.add(
        "-- load: append (tracks, order_completed with a new and a widened column), merge (users)");
    loader.load(request(List.of(new WarehouseLoader.LoadBatch("c1-0-00000001", events))));
    log.add("-- load: replace (plans), period (daily)");
    loader.load(request(List.of(new WarehouseLoader.LoadBatch("c1-0-00000002", other))));
    log.add("-- reload of 2026-11-21 (tracks)");
    loader.reload(
        new WarehouseLoader.LoadRequest(
            "app",
            Map.of("tracks", spec("tracks")),
            List.of(
                new WarehouseLoader.LoadBatch(
                    "c1-0-00000001",
                    events.stream().filter(f -> f.table().equals("tracks")).toList()))),
        "timestamp",
        LocalDate.parse("2026-11-21"),
        LocalDate.parse("2026-11-21"));

    matchesRecording(name, log, root);
  }

  /**
   * A Data Sync replace (one export: a day of {@code allevents} and one page's matched events
   * deleted and appended, with the watermark), then the same again (recorded: skipped): the SQL,
   * compared with {@code name}.
   */
  private static final List<TableSpec.Column> EXPORT_EVENT_COLUMNS =
      List.of(
          new TableSpec.Column("_weir_row", ColumnType.STRING),
          new TableSpec.Column("period_id", ColumnType.TIMESTAMP),
          new TableSpec.Column("visitor_id", ColumnType.STRING),
          new TableSpec.Column("num_events", ColumnType.LONG));

  static final TableSpec ALL_EVENTS =
      new TableSpec(
          "allevents", EXPORT_EVENT_COLUMNS, "_weir_row", TableSpec.Mode.APPEND, true, true, null);

  static final TableSpec MATCHED_PAGES;

  static {
    List<TableSpec.Column> matched = new ArrayList<>(EXPORT_EVENT_COLUMNS);
    matched.add(new TableSpec.Column("matchable_id", ColumnType.STRING));
    MATCHED_PAGES =
        new TableSpec(
            "matched_page_events", matched, "_weir_row", TableSpec.Mode.APPEND, true, true, null);
  }

  /**
   * What the warehouse answers in {@link #checkReplace}: the columns of the tables just created (as
   * {@code information_schema.columns} would list them), else as {@link #answers}.
   */
  public static List<List<Object>> replaceAnswers(
      String sql, Function<ColumnType, String> dataType) {
    for (TableSpec t : List.of(ALL_EVENTS, MATCHED_PAGES)) {
      if (sql.contains("information_schema.columns") && sql.contains("'" + t.name() + "'")) {
        List<List<Object>> out = new ArrayList<>();
        for (TableSpec.Column c : t.columns()) out.add(List.of(c.name(), dataType.apply(c.type())));
        out.add(List.of("loaded_at", dataType.apply(ColumnType.TIMESTAMP)));
        return out;
      }
    }
    return answers(sql, Map.of(), dataType);
  }

  private static Map<String, Object> pageOfDay() {
    Map<String, Object> where = new LinkedHashMap<>();
    where.put("period_id", LocalDate.parse("2026-11-20"));
    where.put("matchable_id", "pricing");
    return where;
  }

  public static void checkReplace(String name, WarehouseLoader loader, List<String> log, Path root)
      throws Exception {
    BatchFileWriter writer = new BatchFileWriter(new FilesystemStagingStore(root));
    TableSpec all = ALL_EVENTS;
    TableSpec pages = MATCHED_PAGES;
    String day = "\"period_id\":\"2026-11-20T00:00:00Z\"";
    List<StagedFile> files =
        writer.write(
            "_weir_scratch",
            "datasync-7",
            List.of(
                row(
                    "allevents",
                    "u/allevents.avro:0",
                    "{\"_weir_row\":\"u/allevents.avro:0\","
                        + day
                        + ",\"visitor_id\":\"v1\",\"num_events\":2}"),
                row(
                    "matched_page_events",
                    "u/m.avro:0",
                    "{\"_weir_row\":\"u/m.avro:0\","
                        + day
                        + ",\"visitor_id\":\"v1\",\"num_events\":1,\"matchable_id\":\"pricing\"}")));
    WarehouseLoader.LoadRequest request =
        new WarehouseLoader.LoadRequest(
            "pendo",
            Map.of("allevents", all, "matched_page_events", pages),
            List.of(new WarehouseLoader.LoadBatch("datasync-7", files)));
    List<WarehouseLoader.Deletion> deletions =
        List.of(
            new WarehouseLoader.Deletion(
                "allevents", Map.of("period_id", LocalDate.parse("2026-11-20"))),
            new WarehouseLoader.Deletion("matched_page_events", pageOfDay()));
    log.add("-- replace: export 7 (a day of allevents, a page of the day)");
    loader.replace(request, deletions, false);
    matchesRecording(name, log, root);
  }

  /** The text of a staged file (gzip NDJSON) under {@code root}. */
  public static String content(Path root, String key) {
    try (InputStream in = new GZIPInputStream(Files.newInputStream(root.resolve(key)))) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * A load of one file of three tracks, the second of which ({@code "poison"}) the warehouse
   * refuses (the test's recording database fails the statement that reads it): the SQL of finding
   * it and of loading the other two with a dead letter, compared with {@code name}.
   */
  public static void checkDeadLetters(
      String name, WarehouseLoader loader, List<String> log, Path root) throws Exception {
    BatchFileWriter writer = new BatchFileWriter(new FilesystemStagingStore(root));
    String base =
        "\"type\":\"track\",\"event\":\"Order Completed\",\"anonymous_id\":\"a1\","
            + "\"timestamp\":\"2026-11-21T10:00:00Z\",\"properties\":{},\"context\":{},\"traits\":{}}";
    List<StagedFile> files =
        writer.write(
            "c1",
            "c1-0-00000009",
            List.of(
                row("tracks", "e1", "{\"event_id\":\"e1\"," + base),
                row("tracks", "poison", "{\"event_id\":\"poison\",\"user_id\":\"poison\"," + base),
                row("tracks", "e3", "{\"event_id\":\"e3\"," + base)));
    log.add("-- load: append (tracks), one row refused");
    WarehouseLoader.LoadResult result =
        loader.load(request(List.of(new WarehouseLoader.LoadBatch("c1-0-00000009", files))));
    assertThat(result.rejectedRows()).isEqualTo(1);
    assertThat(result.loadedBatchIds()).containsExactly("c1-0-00000009");
    matchesRecording(name, log, root);
  }

  /**
   * The statements of {@code log}, with what differs between runs (the staging root, uuids, ids)
   * made neutral, equal to the reviewed recording {@code contracts/<name>} (written instead with
   * {@code -Dweir.contracts.record=true}).
   */
  private static void matchesRecording(String name, List<String> log, Path root)
      throws IOException {
    String actual =
        String.join(";\n", log)
                .replace(root.toString(), "<staging>")
                .replaceAll(
                    "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<uuid>")
                .replaceAll("staged-[0-9]+-", "staged-<n>-")
                .replaceAll("(_weir_stage_[a-z_]+?)_[0-9a-f]{12}", "$1_<id>")
            + ";\n";
    Path expected = Path.of("src/test/resources/contracts/" + name);
    if (Boolean.getBoolean("weir.contracts.record"))
      Files.writeString(expected, actual, StandardCharsets.UTF_8);
    assertThat(actual).isEqualTo(Files.readString(expected, StandardCharsets.UTF_8));
  }

  private static WarehouseLoader.LoadRequest request(List<WarehouseLoader.LoadBatch> batches) {
    Map<String, TableSpec> specs = new LinkedHashMap<>();
    batches.forEach(b -> b.files().forEach(f -> specs.put(f.table(), spec(f.table()))));
    return new WarehouseLoader.LoadRequest("app", specs, batches);
  }
}
