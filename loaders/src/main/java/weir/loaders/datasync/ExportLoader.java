package weir.loaders.datasync;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.InvalidAvroMagicException;
import org.apache.avro.file.DataFileStream;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import weir.loaders.files.FileFormat;
import weir.loaders.staging.StagingStore;
import weir.loaders.warehouse.ColumnEvolution;
import weir.loaders.warehouse.WarehouseLoader;
import weir.loaders.warehouse.WarehouseLoader.Deletion;
import weir.loaders.warehouse.WarehouseLoader.LoadBatch;
import weir.loaders.warehouse.WarehouseLoader.LoadException;
import weir.loaders.warehouse.WarehouseLoader.LoadRequest;
import weir.loaders.warehouse.WarehouseLoader.LoadResult;
import weir.protocol.ColumnType;
import weir.protocol.TableSpec;
import weir.protocol.datasync.BillOfMaterials;
import weir.protocol.datasync.ExportManifest;

/**
 * Loads the Data Sync exports of one folder (Weir's or real Pendo ones, DESIGN.md "Data Sync
 * exports") from a store into a warehouse schema.
 *
 * <p>One {@link #sync}: read {@code <folder>/exportmanifest.json}; the watermark is the highest
 * counter recorded in the schema's {@code _weir_loads} (batch id {@code datasync-<counter>}), so a
 * rebuilt warehouse loads from the start; load every listed export above it in counter order (every
 * listed one with {@code resync}). An export's files are found at {@code <folder>/<last segment of
 * rootUrl>/<file>} (a Pendo manifest names gs:// URLs where the folder may have been copied
 * anywhere). Each export is one {@link WarehouseLoader#replace} transaction with its watermark: the
 * definition tables it lists files for become exactly those files' rows; for each period with
 * {@code allEvents}, that {@code period_id} of {@code allevents} is deleted and its files appended;
 * for each matched entry, that ({@code period_id}, {@code matchable_id}) of its {@code
 * matched_<type>_events} table is deleted and its files appended; an empty file list deletes only.
 * Tables and columns: {@link DataSyncTables} and {@link AvroColumns}.
 *
 * <p>The Avro files (any codec) are read with their own schemas and streamed into NDJSON.gz scratch
 * files of the warehouse's staging store (bounded memory, at most {@code maxScratchBytes} a file),
 * deleted after the export's load whatever its outcome. Exports that are no longer listed above the
 * watermark (aged out of the manifest's 30 days) are warnings in the {@link Summary}, never skipped
 * silently.
 *
 * <p>Idempotent: an export whose batch is recorded is not loaded again; a failed export committed
 * nothing, and the sync stops there (later exports wait for it). Blocking: run it on a blocking
 * dispatcher, at most one sync per schema at a time.
 */
public final class ExportLoader {
  private static final Logger log = LoggerFactory.getLogger(ExportLoader.class);

  /** The batch id prefix of exports in {@code _weir_loads}. */
  public static final String BATCH_PREFIX = "datasync-";

  /** How many counters below the manifest's last one are looked up for the watermark. */
  static final long WATERMARK_WINDOW = 10_000;

  private final StagingStore source;
  private final String prefix;
  private final StagingStore staging;
  private final WarehouseLoader warehouse;
  private final long maxScratchBytes;

  /**
   * @param source where the exports are
   * @param folder the key prefix of the folder holding {@code exportmanifest.json} (empty: the
   *     store's root)
   * @param staging the warehouse's own staging store (where it reads files; scratch files go there)
   * @param warehouse the warehouse
   * @param maxScratchBytes a scratch file is completed once this many compressed bytes are written
   */
  public ExportLoader(
      StagingStore source,
      String folder,
      StagingStore staging,
      WarehouseLoader warehouse,
      long maxScratchBytes) {
    if (maxScratchBytes < 1) throw new IllegalArgumentException("maxScratchBytes must be positive");
    this.source = source;
    String f = folder == null ? "" : folder.replaceAll("/+$", "");
    this.prefix = f.isEmpty() ? "" : f + "/";
    this.staging = staging;
    this.warehouse = warehouse;
    this.maxScratchBytes = maxScratchBytes;
  }

  /** With scratch files of at most the staging size cap ({@link FileFormat#NDJSON_GZIP}). */
  public ExportLoader(
      StagingStore source, String folder, StagingStore staging, WarehouseLoader warehouse) {
    this(source, folder, staging, warehouse, FileFormat.NDJSON_GZIP.maxFileBytes());
  }

  /**
   * What one sync did.
   *
   * @param loadedCounters exports loaded by this sync, in order
   * @param skippedCounters exports found already recorded (loaded by an earlier sync)
   * @param rowsInserted rows inserted per table (summed over the exports)
   * @param watermark the highest counter recorded after the sync (0: none)
   * @param warnings what the user should know: exports no longer listed, rows refused, no manifest
   */
  public record Summary(
      List<Long> loadedCounters,
      List<Long> skippedCounters,
      Map<String, Long> rowsInserted,
      long watermark,
      List<String> warnings) {
    public Summary {
      loadedCounters = List.copyOf(loadedCounters);
      skippedCounters = List.copyOf(skippedCounters);
      rowsInserted = Map.copyOf(rowsInserted);
      warnings = List.copyOf(warnings);
    }
  }

  /**
   * Loads the exports above the watermark into {@code schema} ({@code resync}: every listed one,
   * whatever is recorded). Throws when an export fails; the exports before it stay loaded.
   */
  public Summary sync(String schema, boolean resync) throws LoadException {
    String manifestKey = prefix + ExportManifest.FILE;
    byte[] json;
    try {
      if (!source.exists(manifestKey))
        return new Summary(
            List.of(),
            List.of(),
            Map.of(),
            watermark(schema, 0),
            List.of("no " + ExportManifest.FILE + " at " + source.describe(manifestKey) + " yet"));
      try (InputStream in = source.open(manifestKey)) {
        json = in.readAllBytes();
      }
    } catch (IOException e) {
      throw new LoadException(
          "reading " + source.describe(manifestKey) + " failed: " + e.getMessage(), true, e);
    }
    ExportManifest manifest;
    try {
      manifest = ExportManifest.parse(json);
    } catch (IOException | RuntimeException e) {
      throw new LoadException(
          source.describe(manifestKey) + " is not a readable export manifest: " + e.getMessage(),
          false,
          e);
    }
    long watermark = watermark(schema, manifest.lastCounter());
    List<String> warnings = new ArrayList<>();
    long from = resync ? 0 : watermark;
    List<ExportManifest.Entry> todo =
        manifest.exports().stream().filter(e -> e.counter() > from).toList();
    long recorded = watermark;
    // Counters the warehouse has not recorded that the manifest no longer lists (on a resync too:
    // what was loaded before is not missing).
    missing(
            manifest,
            recorded,
            manifest.exports().stream().filter(e -> e.counter() > recorded).toList())
        .ifPresent(warnings::add);
    for (ExportManifest.Entry entry : todo) validate(entry);
    List<Long> loaded = new ArrayList<>();
    List<Long> skipped = new ArrayList<>();
    Map<String, Long> rows = new LinkedHashMap<>();
    for (ExportManifest.Entry entry : todo) {
      LoadResult r = load(schema, entry, resync);
      if (r.loadedBatchIds().isEmpty()) skipped.add(entry.counter());
      else loaded.add(entry.counter());
      r.rowsInserted().forEach((t, n) -> rows.merge(t, n, Long::sum));
      if (r.rejectedRows() > 0)
        warnings.add(
            "export "
                + entry.counter()
                + ": the warehouse refused "
                + r.rejectedRows()
                + " rows; they are in _weir_dead_letters");
      watermark = Math.max(watermark, entry.counter());
    }
    return new Summary(loaded, skipped, rows, watermark, warnings);
  }

  /**
   * The highest counter recorded in {@code schema}'s {@code _weir_loads}, up to {@code last}: among
   * the counters of the last {@link #WATERMARK_WINDOW} exports (a manifest lists 30 days of them; a
   * watermark further back counts as none, and its exports as aged out).
   */
  private long watermark(String schema, long last) throws LoadException {
    List<String> ids = new ArrayList<>();
    for (long c = Math.max(1, last - WATERMARK_WINDOW); c <= last; c++) ids.add(BATCH_PREFIX + c);
    return warehouse.loadedAt(schema, ids).keySet().stream()
        .mapToLong(id -> Long.parseLong(id.substring(BATCH_PREFIX.length())))
        .max()
        .orElse(0);
  }

  /** The warning for counters above {@code from} that the manifest no longer lists. */
  private static Optional<String> missing(
      ExportManifest manifest, long from, List<ExportManifest.Entry> todo) {
    if (todo.isEmpty()) return Optional.empty();
    TreeSet<Long> listed = new TreeSet<>();
    todo.forEach(e -> listed.add(e.counter()));
    List<String> ranges = new ArrayList<>();
    long expected = from + 1;
    for (long c : listed) {
      if (c > expected) ranges.add(expected == c - 1 ? "" + expected : expected + "–" + (c - 1));
      expected = c + 1;
    }
    if (ranges.isEmpty()) return Optional.empty();
    boolean one = ranges.size() == 1 && !ranges.get(0).contains("–");
    return Optional.of(
        (one ? "export " : "exports ")
            + String.join(", ", ranges)
            + (one ? " is" : " are")
            + " no longer listed in the manifest (aged out of its "
            + ExportManifest.LISTED_FOR.toDays()
            + " days); "
            + (one ? "its" : "their")
            + " periods were not loaded");
  }

  /**
   * Refuses, naming the export, a bill whose days or matched ids cannot be read: it would fail the
   * same way on every retry.
   */
  private static void validate(ExportManifest.Entry entry) throws LoadException {
    for (BillOfMaterials.Period p : entry.bill().timeDependent()) {
      try {
        if (p.periodId() == null) throw new IllegalArgumentException("a period has no periodId");
        p.day();
      } catch (RuntimeException e) {
        throw new LoadException(
            "export "
                + entry.counter()
                + ": its bill of materials has an unreadable periodId ("
                + (p.periodId() == null ? "none" : "'" + p.periodId() + "'")
                + "); fix the export or remove it from the manifest",
            false,
            e);
      }
      for (BillOfMaterials.Matched m : p.matchedEvents()) {
        if (m.id() == null || m.id().isBlank())
          throw new LoadException(
              "export "
                  + entry.counter()
                  + ": a matchedEvents entry of period "
                  + p.periodId()
                  + " has no id",
              false,
              null);
      }
    }
  }

  /** Converts one export's files and loads them with its deletions, in one transaction. */
  private LoadResult load(String schema, ExportManifest.Entry entry, boolean reload)
      throws LoadException {
    String folder = prefix + entry.folder() + "/";
    BillOfMaterials bill = entry.bill();
    try (ScratchFiles scratch = new ScratchFiles(staging, maxScratchBytes)) {
      Conversion conversion = new Conversion(entry, folder, scratch);
      conversion.definitions("allpages", bill.pageDefinitionsFile());
      conversion.definitions("allfeatures", bill.featureDefinitionsFile());
      conversion.definitions("alltracktypes", bill.trackTypeDefinitionsFile());
      conversion.definitions("allguides", bill.guideDefinitionsFile());
      for (BillOfMaterials.Period period : bill.timeDependent()) {
        LocalDate day = period.day();
        if (period.allEvents() != null) {
          conversion.deletions.add(
              new Deletion(DataSyncTables.ALL_EVENTS, Map.of(DataSyncTables.PERIOD, day)));
          conversion.convert(
              DataSyncTables.ALL_EVENTS,
              DataSyncTables.Kind.ALL_EVENTS,
              period.allEvents().files(),
              day,
              null);
        }
        for (BillOfMaterials.Matched m : period.matchedEvents()) {
          String table = DataSyncTables.matched(typeOf(m));
          Map<String, Object> where = new LinkedHashMap<>();
          where.put(DataSyncTables.PERIOD, day);
          where.put(DataSyncTables.MATCHABLE, m.matchableId());
          conversion.deletions.add(new Deletion(table, where));
          conversion.convert(table, DataSyncTables.Kind.MATCHED, m.files(), day, m.matchableId());
        }
      }
      List<Deletion> deletions = new ArrayList<>(conversion.deletions);
      Map<String, TableSpec> specs = new LinkedHashMap<>();
      conversion.tables.forEach(
          (name, t) -> {
            specs.put(name, DataSyncTables.spec(name, t.kind, t.columns));
            // A definition table listed with files that hold no rows becomes empty.
            if (t.kind == DataSyncTables.Kind.DEFINITIONS && t.rows == 0)
              deletions.add(Deletion.all(name));
          });
      LoadBatch batch = new LoadBatch(BATCH_PREFIX + entry.counter(), scratch.finish());
      LoadResult result =
          warehouse.replace(new LoadRequest(schema, specs, List.of(batch)), deletions, reload);
      log.info(
          "Data Sync export {} ({}) into {}: {}",
          entry.counter(),
          entry.folder(),
          schema,
          result.loadedBatchIds().isEmpty() ? "already loaded" : result.rowsInserted());
      return result;
    } catch (IOException e) {
      throw new LoadException(
          "converting export "
              + entry.counter()
              + " ("
              + entry.folder()
              + ") failed: "
              + e.getMessage(),
          true,
          e);
    }
  }

  /** The matchable type of an entry: its {@code type}, else the {@code <Type>/} of its id. */
  private static String typeOf(BillOfMaterials.Matched m) {
    if (m.type() != null && !m.type().isBlank()) return m.type();
    int slash = m.id().indexOf('/');
    return slash > 0 ? m.id().substring(0, slash) : "unknown";
  }

  /** The tables of one export being converted: their columns, rows and deletions. */
  private final class Conversion {
    final ExportManifest.Entry entry;
    final String folder;
    final Map<String, Table> tables = new LinkedHashMap<>();
    final List<Deletion> deletions = new ArrayList<>();
    final ScratchFiles scratch;

    Conversion(ExportManifest.Entry entry, String folder, ScratchFiles scratch) {
      this.entry = entry;
      this.folder = folder;
      this.scratch = scratch;
    }

    void definitions(String table, List<String> files) throws IOException, LoadException {
      if (!files.isEmpty()) convert(table, DataSyncTables.Kind.DEFINITIONS, files, null, null);
    }

    /** Streams {@code files} into scratch rows of {@code table}, with the bill's values. */
    void convert(
        String table,
        DataSyncTables.Kind kind,
        List<String> files,
        LocalDate period,
        String matchable)
        throws IOException, LoadException {
      Table t = tables.computeIfAbsent(table, n -> new Table(kind));
      String periodText =
          period == null ? null : period.atStartOfDay(ZoneOffset.UTC).toInstant().toString();
      for (String file : files) {
        String key = folder + file;
        if (!source.exists(key))
          throw new LoadException(
              "export "
                  + entry.counter()
                  + " ("
                  + entry.folder()
                  + ") lists "
                  + file
                  + ", which is not at "
                  + source.describe(key),
              true,
              null);
        try (InputStream in = new BufferedInputStream(source.open(key), 1 << 16);
            DataFileStream<GenericRecord> avro =
                new DataFileStream<>(in, new GenericDatumReader<>())) {
          List<AvroColumns.Column> columns =
              AvroColumns.columns(
                  avro.getSchema(),
                  DataSyncTables.base(kind).keySet().stream()
                      .filter(c -> !c.equals(DataSyncTables.ROW))
                      .toList(),
                  DataSyncTables.TAKEN);
          for (AvroColumns.Column c : columns)
            t.columns.merge(c.name(), c.type(), ColumnEvolution::widen);
          String rowPrefix = entry.folder() + "/" + file + ":";
          GenericRecord row = null;
          long index = 0;
          while (avro.hasNext()) {
            row = avro.next(row);
            JsonGenerator g = scratch.row(table);
            g.writeStartObject();
            g.writeStringField(DataSyncTables.ROW, rowPrefix + index++);
            if (periodText != null) g.writeStringField(DataSyncTables.PERIOD, periodText);
            if (matchable != null) g.writeStringField(DataSyncTables.MATCHABLE, matchable);
            for (AvroColumns.Column c : columns) {
              g.writeFieldName(c.name());
              AvroColumns.write(g, c, row);
            }
            g.writeEndObject();
            scratch.endRow(table);
          }
          t.rows += index;
        } catch (InvalidAvroMagicException | AvroRuntimeException | IllegalArgumentException e) {
          throw new LoadException(
              "export "
                  + entry.counter()
                  + " ("
                  + entry.folder()
                  + "): "
                  + file
                  + " is not a readable Avro file of records: "
                  + e.getMessage(),
              false,
              e);
        }
      }
    }
  }

  /** One table of an export: its columns (base first) and rows converted. */
  private static final class Table {
    final DataSyncTables.Kind kind;
    final Map<String, ColumnType> columns;
    long rows;

    Table(DataSyncTables.Kind kind) {
      this.kind = kind;
      this.columns = DataSyncTables.base(kind);
    }
  }
}
