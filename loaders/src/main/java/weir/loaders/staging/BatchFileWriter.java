package weir.loaders.staging;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.Deflater;
import java.util.zip.GZIPOutputStream;
import weir.protocol.StagedRow;

/**
 * Writes one flushed batch into a {@link StagingStore} as gzip-compressed NDJSON, one file per table and
 * UTC hour of the event time, Hive-style:
 * {@code <connection>/<table>/year=YYYY/month=MM/day=DD/hour=HH/<batch-id>.ndjson.gz}.
 *
 * <p>Files are named after the batch id, so writing the same batch again replaces its files instead of
 * adding new ones. Each file is completed atomically; if any write fails, the files not yet completed are
 * aborted and the exception propagates (the caller retries the whole batch).
 */
public final class BatchFileWriter {
  public static final String EXTENSION = ".ndjson.gz";

  private final StagingStore store;

  public BatchFileWriter(StagingStore store) {
    this.store = store;
  }

  /**
   * Writes {@code rows} (in order) and returns the completed files.
   *
   * @param connectionId the connection the rows belong to (first path segment)
   * @param batchId unique id of the batch (file name)
   */
  public List<StagedFile> write(String connectionId, String batchId, List<StagedRow> rows) throws IOException {
    Map<String, List<StagedRow>> byPartition = new LinkedHashMap<>();
    for (StagedRow row : rows) {
      byPartition.computeIfAbsent(partitionKey(connectionId, row, batchId), k -> new ArrayList<>()).add(row);
    }
    List<StagedFile> files = new ArrayList<>(byPartition.size());
    for (Map.Entry<String, List<StagedRow>> e : byPartition.entrySet()) {
      files.add(writeFile(e.getKey(), e.getValue()));
    }
    return List.copyOf(files);
  }

  private StagedFile writeFile(String key, List<StagedRow> rows) throws IOException {
    long min = Long.MAX_VALUE;
    long max = Long.MIN_VALUE;
    try (StagingStore.StagedOutput out = store.create(key)) {
      CountingStream counting = new CountingStream(out.stream());
      GZIPOutputStream gzip = new GZIPOutputStream(counting, 1 << 16) {
        {
          def.setLevel(Deflater.BEST_SPEED);
        }
      };
      Writer writer = new OutputStreamWriter(new BufferedOutputStream(gzip, 1 << 16), StandardCharsets.UTF_8);
      for (StagedRow row : rows) {
        writer.write(row.json());
        writer.write('\n');
        min = Math.min(min, row.timestampMillis());
        max = Math.max(max, row.timestampMillis());
      }
      writer.flush();
      gzip.finish();
      gzip.flush();
      out.complete();
      return new StagedFile(rows.get(0).table(), key, rows.size(), min, max, counting.count);
    }
  }

  /**
   * The staged files of {@code table} in the archive whose day partition is within {@code [from, to]}
   * (either bound may be null), grouped by batch id, oldest batch first. Row counts and timestamps of
   * files found this way are unknown (0).
   */
  public static java.util.Map<String, List<StagedFile>> archivedBatches(StagingStore store, String connectionId,
      String table, java.time.LocalDate from, java.time.LocalDate to) throws IOException {
    java.util.Map<String, List<StagedFile>> byBatch = new java.util.TreeMap<>();
    java.util.regex.Pattern day = java.util.regex.Pattern.compile(
        "/year=(\\d{4})/month=(\\d{2})/day=(\\d{2})/hour=\\d{2}/([^/]+)" + java.util.regex.Pattern.quote(EXTENSION) + "$");
    for (String key : store.list(connectionId + "/" + table)) {
      java.util.regex.Matcher m = day.matcher(key);
      if (!m.find()) continue;
      java.time.LocalDate d = java.time.LocalDate.of(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)),
          Integer.parseInt(m.group(3)));
      if ((from != null && d.isBefore(from)) || (to != null && d.isAfter(to))) continue;
      byBatch.computeIfAbsent(m.group(4), b -> new ArrayList<>()).add(new StagedFile(table, key, 0, 0, 0, 0));
    }
    return byBatch;
  }

  static String partitionKey(String connectionId, StagedRow row, String batchId) {
    ZonedDateTime t = Instant.ofEpochMilli(row.timestampMillis()).atZone(ZoneOffset.UTC);
    return String.format("%s/%s/year=%04d/month=%02d/day=%02d/hour=%02d/%s%s", connectionId, row.table(),
        t.getYear(), t.getMonthValue(), t.getDayOfMonth(), t.getHour(), batchId, EXTENSION);
  }

  /** Counts bytes written through it, without closing the underlying stream. */
  private static final class CountingStream extends OutputStream {
    private final OutputStream out;
    long count;

    CountingStream(OutputStream out) {
      this.out = out;
    }

    @Override
    public void write(int b) throws IOException {
      out.write(b);
      count++;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      out.write(b, off, len);
      count += len;
    }

    @Override
    public void flush() throws IOException {
      out.flush();
    }
  }
}
