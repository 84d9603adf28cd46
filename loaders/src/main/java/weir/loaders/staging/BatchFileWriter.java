package weir.loaders.staging;

import java.io.IOException;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import weir.loaders.files.FileFormat;
import weir.loaders.files.RowFileWriter;
import weir.protocol.StagedRow;
import weir.protocol.TableSpec;

/**
 * Writes one flushed batch into a {@link StagingStore}, one file per table and UTC hour of the
 * event time, Hive-style: {@code
 * <connection>/<table>/year=YYYY/month=MM/day=DD/hour=HH/<batch-id><ext>}. A file that reaches the
 * format's size cap is closed and the rows go on in {@code <batch-id>.1<ext>}, {@code .2}, ...
 *
 * <p>Files are named after the batch id, so writing the same batch again replaces its files instead
 * of adding new ones (the split is deterministic for the same rows). Each file is completed
 * atomically; if any write fails, the file being written is aborted and the exception propagates
 * (the caller retries the whole batch).
 */
public final class BatchFileWriter {
  /** The file name of a staged part: batch id, optional part number, extension. */
  private static final Pattern FILE =
      Pattern.compile(
          "/year=(\\d{4})/month=(\\d{2})/day=(\\d{2})/hour=(\\d{2})/([^/.]+)(?:\\.(\\d+))?(\\.ndjson\\.gz|\\.ndjson|\\.avro|\\.parquet)$");

  private final StagingStore store;
  private final FileFormat format;
  private final Function<String, TableSpec> specs;

  /** Writes gzip NDJSON, the format every warehouse loader reads. */
  public BatchFileWriter(StagingStore store) {
    this(
        store,
        FileFormat.NDJSON_GZIP,
        table -> {
          throw new IllegalStateException("NDJSON needs no table spec");
        });
  }

  /**
   * @param specs the shape of each table, for formats with a schema (Avro, Parquet)
   */
  public BatchFileWriter(StagingStore store, FileFormat format, Function<String, TableSpec> specs) {
    this.store = store;
    this.format = format;
    this.specs = specs;
  }

  /**
   * Writes {@code rows} (in order) and returns the completed files.
   *
   * @param connectionId the connection the rows belong to (first path segment)
   * @param batchId unique id of the batch (file name); must not contain '.' or '/'
   */
  public List<StagedFile> write(String connectionId, String batchId, List<StagedRow> rows)
      throws IOException {
    if (batchId.contains(".") || batchId.contains("/"))
      throw new IllegalArgumentException("bad batch id " + batchId);
    Map<String, List<StagedRow>> byPartition = new LinkedHashMap<>();
    // Rows of a batch come mostly in runs of one table and hour: their folder is reused, not
    // formatted again per row (it was an eighth of a node's CPU under a stream source's load).
    String lastTable = null;
    long lastHour = Long.MIN_VALUE;
    List<StagedRow> last = null;
    for (StagedRow row : rows) {
      long hour = Math.floorDiv(row.timestampMillis(), 3_600_000L);
      if (last == null || hour != lastHour || !row.table().equals(lastTable)) {
        last = byPartition.computeIfAbsent(partition(connectionId, row), k -> new ArrayList<>());
        lastTable = row.table();
        lastHour = hour;
      }
      last.add(row);
    }
    List<StagedFile> files = new ArrayList<>(byPartition.size());
    for (Map.Entry<String, List<StagedRow>> e : byPartition.entrySet()) {
      writeParts(e.getKey(), batchId, e.getValue(), files);
    }
    return List.copyOf(files);
  }

  private void writeParts(
      String folder, String batchId, List<StagedRow> rows, List<StagedFile> files)
      throws IOException {
    int next = 0;
    int part = 0;
    while (next < rows.size()) {
      String key = folder + batchId + (part == 0 ? "" : "." + part) + format.extension();
      String table = rows.get(next).table();
      long min = Long.MAX_VALUE;
      long max = Long.MIN_VALUE;
      int first = next;
      try (StagingStore.StagedOutput out = store.create(key)) {
        RowFileWriter writer = RowFileWriter.open(format, table, specs, out.stream());
        do {
          StagedRow row = rows.get(next++);
          writer.write(row);
          min = Math.min(min, row.timestampMillis());
          max = Math.max(max, row.timestampMillis());
        } while (next < rows.size() && writer.size() < format.maxFileBytes());
        writer.finish();
        long bytes = out.complete();
        files.add(new StagedFile(table, key, next - first, min, max, bytes));
      }
      part++;
    }
  }

  /**
   * The staged files of {@code table} in the archive whose day partition is within {@code [from,
   * to]} (either bound may be null), grouped by batch id, oldest batch first. Row counts and
   * timestamps of files found this way are unknown (0).
   */
  public static Map<String, List<StagedFile>> archivedBatches(
      StagingStore store, String connectionId, String table, LocalDate from, LocalDate to)
      throws IOException {
    Map<String, List<StagedFile>> byBatch = new TreeMap<>();
    for (String key : store.list(connectionId + "/" + table)) {
      Matcher m = FILE.matcher(key);
      if (!m.find()) continue;
      LocalDate d = day(m);
      if ((from != null && d.isBefore(from)) || (to != null && d.isAfter(to))) continue;
      byBatch
          .computeIfAbsent(m.group(5), b -> new ArrayList<>())
          .add(new StagedFile(table, key, 0, 0, 0, 0));
    }
    return byBatch;
  }

  /** The batch id a staged file's key names; empty when the key is not a staged file's. */
  public static Optional<String> batchIdOf(String key) {
    Matcher m = FILE.matcher(key);
    return m.find() ? Optional.of(m.group(5)) : Optional.empty();
  }

  private static LocalDate day(Matcher m) {
    return LocalDate.of(
        Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3)));
  }

  /** The folder of a row's file: {@code <connection>/<table>/year=/month=/day=/hour=/}. */
  static String partition(String connectionId, StagedRow row) {
    ZonedDateTime t = Instant.ofEpochMilli(row.timestampMillis()).atZone(ZoneOffset.UTC);
    StringBuilder b = new StringBuilder(connectionId.length() + row.table().length() + 40);
    b.append(connectionId).append('/').append(row.table()).append("/year=");
    padded(b, t.getYear(), 4).append("/month=");
    padded(b, t.getMonthValue(), 2).append("/day=");
    padded(b, t.getDayOfMonth(), 2).append("/hour=");
    return padded(b, t.getHour(), 2).append('/').toString();
  }

  /** {@code value} with leading zeros to {@code width} digits (as {@code %0<width>d}). */
  private static StringBuilder padded(StringBuilder b, int value, int width) {
    String digits = Integer.toString(Math.abs(value));
    if (value < 0) b.append('-');
    for (int i = digits.length() + (value < 0 ? 1 : 0); i < width; i++) b.append('0');
    return b.append(digits);
  }
}
