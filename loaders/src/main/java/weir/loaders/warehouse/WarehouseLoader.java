package weir.loaders.warehouse;

import java.time.Instant;
import java.time.LocalDate;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import weir.loaders.staging.StagedFile;
import weir.protocol.TableSpec;

/**
 * Loads staged batches into one warehouse destination. The load coordinator calls it; each
 * implementation knows only its own SQL and API.
 *
 * <p>One {@link #load} call: ensure the schema, tables and the {@code _weir_loads} ledger table
 * exist; skip batches already recorded in {@code _weir_loads}; insert the rows of the remaining
 * batches whose {@code event_id} is not in the target yet (and only one row per {@code event_id}
 * from the batch); record the batch ids in {@code _weir_loads}; all of the inserts and records
 * commit in one transaction. Re-running a load that failed, or that succeeded but whose
 * acknowledgement was lost, is harmless.
 *
 * <p>Threading: blocking; the coordinator runs at most one load per destination at a time, on a
 * blocking dispatcher. {@link #close()} releases the loader's clients once nobody uses it any more.
 */
public interface WarehouseLoader extends AutoCloseable {

  /** Releases the loader's clients and drivers (no effect for loaders that hold none). */
  @Override
  default void close() {}

  /** Loads {@code request}; throws when nothing was committed. */
  LoadResult load(LoadRequest request) throws LoadException;

  /**
   * Rebuilds tables (or one period of them) from the staging archive, in one transaction: deletes
   * the rows of {@code request.tables()} whose {@code timestampColumn} falls in {@code [from, to]}
   * (whole tables when both are null), then loads {@code request.batches()} as {@link #load} does,
   * without skipping batches already recorded in {@code _weir_loads}. Running it twice gives the
   * same tables.
   */
  LoadResult reload(LoadRequest request, String timestampColumn, LocalDate from, LocalDate to)
      throws LoadException;

  /**
   * Replaces parts of tables with the files of {@code request}, in one transaction: unless every
   * batch of the request is already recorded in {@code _weir_loads} (and {@code reload} is false),
   * runs {@code deletions}, loads the batches as {@link #load} does (replace-mode tables become
   * exactly their files' rows) and records the batch ids. A batch recorded before is loaded again
   * (its rows may be among those deleted). Every table a deletion names must be in {@code
   * request.tables()}: it is created first when missing. Running it twice with the same arguments
   * gives the same tables. Used by Data Sync imports ({@code weir.loaders.datasync}).
   *
   * <p>Default: a permanent failure, for warehouses that do not implement it.
   *
   * @param reload load even when every batch is recorded (a resync)
   */
  default LoadResult replace(LoadRequest request, List<Deletion> deletions, boolean reload)
      throws LoadException {
    throw new LoadException(
        "Data Sync loading is not available for this warehouse in this build", false, null);
  }

  /**
   * Deletes the rows of {@code table} whose columns equal the values of {@code where} (all of them;
   * no terms: every row). A value is a {@link String}, or a {@link LocalDate} meaning that day's
   * UTC midnight in a timestamp column.
   */
  record Deletion(String table, Map<String, Object> where) {
    public Deletion {
      for (Object v : where.values()) {
        if (!(v instanceof String) && !(v instanceof LocalDate))
          throw new IllegalArgumentException(
              "a deletion value is a String or a LocalDate, not " + v);
      }
      where = Collections.unmodifiableMap(new LinkedHashMap<>(where));
    }

    /** Every row of {@code table}. */
    public static Deletion all(String table) {
      return new Deletion(table, Map.of());
    }
  }

  /**
   * When each of {@code batchIds} was recorded as loaded in {@code schema}'s {@code _weir_loads};
   * batches not recorded there are absent. Staging retention deletes the files of a batch only when
   * it is found here, loaded longer ago than the retention (never by the event time of its files).
   */
  Map<String, Instant> loadedAt(String schema, Collection<String> batchIds) throws LoadException;

  /** A staged batch to load: its id and files. */
  record LoadBatch(String batchId, List<StagedFile> files) {
    public LoadBatch {
      files = List.copyOf(files);
    }
  }

  /**
   * The batches of one schema to load together.
   *
   * @param schema the target schema
   * @param tables the shape of every table the files name
   * @param batches the batches, oldest first
   */
  record LoadRequest(String schema, Map<String, TableSpec> tables, List<LoadBatch> batches) {
    public LoadRequest {
      tables = Map.copyOf(tables);
      batches = List.copyOf(batches);
    }
  }

  /**
   * What one load committed.
   *
   * @param loadedBatchIds batches recorded in {@code _weir_loads} by this load
   * @param skippedBatchIds batches that were already recorded (loaded before)
   * @param rowsInserted new rows per table
   * @param rejectedRows rows the warehouse could not store, loaded into {@code _weir_dead_letters}
   *     instead
   */
  record LoadResult(
      List<String> loadedBatchIds,
      List<String> skippedBatchIds,
      Map<String, Long> rowsInserted,
      long rejectedRows) {
    public LoadResult(
        List<String> loadedBatchIds, List<String> skippedBatchIds, Map<String, Long> rowsInserted) {
      this(loadedBatchIds, skippedBatchIds, rowsInserted, 0);
    }

    public long totalRowsInserted() {
      return rowsInserted.values().stream().mapToLong(Long::longValue).sum();
    }
  }

  /**
   * A load failed and committed nothing. {@link #transientFailure()} says whether a retry may
   * succeed.
   */
  final class LoadException extends Exception {
    private static final long serialVersionUID = 1L;
    private final boolean transientFailure;

    public LoadException(String message, boolean transientFailure, Throwable cause) {
      super(message, cause);
      this.transientFailure = transientFailure;
    }

    public boolean transientFailure() {
      return transientFailure;
    }
  }
}
