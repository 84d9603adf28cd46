package weir.loaders.warehouse;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.function.Predicate;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import weir.loaders.staging.StagedFile;
import weir.loaders.staging.StagingStore;
import weir.protocol.DeadLetters;
import weir.protocol.Json;
import weir.protocol.StagedRow;

/**
 * What every loader does with a row its warehouse cannot store (a number out of the warehouse's
 * range, an object over its size limit): that row becomes a dead letter — a row of {@code
 * _weir_dead_letters} with the warehouse's error as the reason and the row as the payload — and the
 * rest of its batch loads. A load that fails with an error about rows (the dialect says which
 * errors are) is rolled back; this class then finds the offending rows by trial loads that are
 * themselves rolled back: each file alone, then halves of a failing file, down to single rows
 * ({@code files + k·log n} trials for {@code k} bad rows). The load is then run again with the good
 * rows of the failing files in scratch files, and the dead letters loaded with them, in one
 * transaction.
 *
 * <p>A failure that every row of a table shares is no row's fault (a bug, a schema problem): it is
 * not made into dead letters but fails the load as it is.
 *
 * <p>Scratch files live in the loader's own staging store under {@code _weir_scratch/} (every
 * loader reads its files there, wherever it is), and are deleted when the load ends.
 */
public final class RowIsolation {
  /** The dead-letter code of rows a warehouse refused. */
  public static final String CODE = "rejected_by_warehouse";

  /**
   * Loads {@code file} into the table in a transaction that is rolled back; throws what the
   * warehouse said.
   */
  @FunctionalInterface
  public interface Trial {
    void load(StagedFile file) throws Exception;
  }

  /**
   * A table's rows once isolated: the files to load instead of the originals (unchanged ones, and
   * scratch copies of the failing ones without their bad rows), and the dead letters.
   */
  public record Isolated(
      List<StagedFile> files, List<StagedRow> deadLetters, List<String> scratch) {}

  private final StagingStore staging;
  private final String describe;

  /**
   * @param staging where the table's files are, and scratch files go
   * @param describe the warehouse in messages ("PostgreSQL")
   */
  public RowIsolation(StagingStore staging, String describe) {
    this.staging = staging;
    this.describe = describe;
  }

  /**
   * Finds the rows of {@code files} (of {@code table}) that {@code trial} cannot load.
   *
   * @param rowError whether a failure is about the rows loaded (else it is rethrown as it is)
   * @throws Exception the trial's failure when it is not about rows, or when every row fails alike
   */
  public Isolated isolate(
      String table, List<StagedFile> files, Trial trial, Predicate<Throwable> rowError)
      throws Exception {
    List<StagedFile> keep = new ArrayList<>();
    List<StagedRow> deadLetters = new ArrayList<>();
    List<String> scratch = new ArrayList<>();
    int rows = 0;
    Exception first = null;
    try {
      for (StagedFile f : files) {
        Exception failure;
        try {
          trial.load(f);
          keep.add(f);
          continue;
        } catch (Exception e) {
          if (!rowError.test(e)) throw e;
          failure = e;
          if (first == null) first = e;
        }
        List<String> lines = lines(f);
        rows += lines.size();
        Set<Integer> bad = new HashSet<>();
        List<String> reasons = new ArrayList<>();
        if (!lines.isEmpty())
          bisect(table, lines, 0, lines.size(), failure, trial, rowError, bad, reasons, scratch);
        List<String> good = new ArrayList<>(lines.size() - bad.size());
        int r = 0;
        for (int i = 0; i < lines.size(); i++) {
          if (!bad.contains(i)) {
            good.add(lines.get(i));
          } else {
            deadLetters.add(deadLetter(table, lines.get(i), reasons.get(r++)));
          }
        }
        if (!good.isEmpty()) keep.add(write(table, good, scratch));
      }
      if (!deadLetters.isEmpty() && keep.isEmpty() && rows > 1) {
        // Every row of the table failed alike: that is not about rows.
        throw first;
      }
      return new Isolated(List.copyOf(keep), List.copyOf(deadLetters), List.copyOf(scratch));
    } catch (Exception e) {
      discard(scratch);
      throw e;
    }
  }

  /** Deletes the scratch files of an isolation (after the load, whatever its outcome). */
  public void discard(List<String> scratch) {
    for (String key : scratch) {
      try {
        staging.delete(key);
      } catch (IOException | RuntimeException ignored) {
        // a leftover scratch file is never loaded: it is named by no batch
      }
    }
  }

  /** Marks the bad rows of lines[from, to), which fail together with {@code failure}. */
  private void bisect(
      String table,
      List<String> lines,
      int from,
      int to,
      Exception failure,
      Trial trial,
      Predicate<Throwable> rowError,
      Set<Integer> bad,
      List<String> reasons,
      List<String> scratch)
      throws Exception {
    if (to - from == 1) {
      bad.add(from);
      reasons.add(reason(failure));
      return;
    }
    int mid = (from + to) >>> 1;
    for (int[] half : new int[][] {{from, mid}, {mid, to}}) {
      StagedFile part = write(table, lines.subList(half[0], half[1]), scratch);
      try {
        trial.load(part);
      } catch (Exception e) {
        if (!rowError.test(e)) throw e;
        bisect(table, lines, half[0], half[1], e, trial, rowError, bad, reasons, scratch);
      }
    }
  }

  private String reason(Throwable e) {
    String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    return describe
        + " cannot store this row: "
        + Json.truncate(message.replaceAll("\\s+", " ").strip(), 2000);
  }

  private static StagedRow deadLetter(String table, String line, String reason) {
    return DeadLetters.rejectedRow(table, line, CODE, reason, Instant.now());
  }

  private List<String> lines(StagedFile f) throws IOException {
    List<String> out = new ArrayList<>();
    try (BufferedReader in =
        new BufferedReader(
            new InputStreamReader(
                new GZIPInputStream(staging.open(f.key()), 1 << 16), StandardCharsets.UTF_8))) {
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        if (!line.isEmpty()) out.add(line);
      }
    }
    return out;
  }

  /**
   * A scratch NDJSON.gz file of {@code lines} for {@code table}; its key is added to {@code
   * scratch}.
   */
  public StagedFile write(String table, List<String> lines, List<String> scratch) {
    String key = "_weir_scratch/" + UUID.randomUUID() + "/" + table + ".ndjson.gz";
    try (StagingStore.StagedOutput out = staging.create(key)) {
      OutputStream gz = new GZIPOutputStream(out.stream(), 1 << 16);
      for (String line : lines) {
        gz.write(line.getBytes(StandardCharsets.UTF_8));
        gz.write('\n');
      }
      gz.flush();
      ((GZIPOutputStream) gz).finish();
      long bytes = out.complete();
      scratch.add(key);
      return new StagedFile(table, key, lines.size(), 0, 0, bytes);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "writing a scratch file of " + table + " failed: " + e.getMessage(), e);
    }
  }
}
