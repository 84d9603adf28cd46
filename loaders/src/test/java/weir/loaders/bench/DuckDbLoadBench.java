package weir.loaders.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import weir.loaders.files.FileFormat;
import weir.loaders.staging.BatchFileWriter;
import weir.loaders.staging.StagedFile;
import weir.loaders.staging.fs.FilesystemStagingStore;
import weir.loaders.warehouse.WarehouseLoader;
import weir.loaders.warehouse.duckdb.DuckDbLoader;
import weir.protocol.StagedRow;
import weir.protocol.TableSpec;
import weir.protocol.event.EventTables;

/**
 * Rows/s of Segment tracks into DuckDB through Weir's loader: ROWS track events staged as a
 * buffer's flush stages them (the {@code tracks} row and its {@code order_completed} row, NDJSON
 * gzip, the default format), then loaded in batches of BATCH_ROWS events (a sync's batches) into a
 * fresh DuckDB file: typed columns, a new column per property, {@code event_id} dedup, {@code
 * _weir_loads}, one transaction per load. Not a test: run by deploy/bench/duckdb-load-bench.sh.
 * args: ROWS BATCH_ROWS WORK_DIR
 */
public final class DuckDbLoadBench {
  public static void main(String[] args) throws Exception {
    int events = Integer.parseInt(args[0]);
    int batchEvents = Integer.parseInt(args[1]);
    Path work = Path.of(args[2]).toAbsolutePath();
    Files.createDirectories(work);
    Path stagingDir = Files.createTempDirectory(work, "staging");
    FilesystemStagingStore staging = new FilesystemStagingStore(stagingDir);
    BatchFileWriter writer =
        new BatchFileWriter(
            staging,
            FileFormat.parse("ndjson", "gzip", FileFormat.DEFAULT_MAX_FILE_BYTES),
            EventTables::specFor);
    List<StagedRow> tracks = StagingBench.rows(events);
    List<WarehouseLoader.LoadBatch> batches = new ArrayList<>();
    Map<String, TableSpec> specs = new HashMap<>();
    long rows = 0;
    for (int from = 0, n = 0; from < events; from += batchEvents, n++) {
      List<StagedRow> batch = new ArrayList<>();
      for (StagedRow track : tracks.subList(from, Math.min(events, from + batchEvents))) {
        batch.add(track);
        batch.addAll(EventTables.expand(track));
      }
      for (StagedRow r : batch) specs.computeIfAbsent(r.table(), EventTables::specFor);
      rows += batch.size();
      String id = "bench-" + n;
      batches.add(new WarehouseLoader.LoadBatch(id, writer.write("segment", id, batch)));
    }
    tracks = null;
    long staged =
        batches.stream().flatMap(b -> b.files().stream()).mapToLong(StagedFile::bytes).sum();
    System.out.printf(
        "%,d track events = %,d rows (tracks + order_completed) in %d batches, %.1f MB staged%n",
        events, rows, batches.size(), staged / 1e6);

    // warm-up: a small load into a throw-away file (JIT, DuckDB's extension load)
    Path warm = work.resolve("warmup-" + System.nanoTime() + ".duckdb");
    new DuckDbLoader(warm, staging)
        .load(new WarehouseLoader.LoadRequest("segment", specs, batches.subList(0, 1)));
    Files.deleteIfExists(warm);

    Path db = work.resolve("bench-" + System.nanoTime() + ".duckdb");
    DuckDbLoader loader = new DuckDbLoader(db, staging);
    long start = System.nanoTime();
    long inserted = 0;
    int perLoad = Math.max(1, Integer.parseInt(System.getProperty("batchesPerLoad", "10")));
    for (int i = 0; i < batches.size(); i += perLoad) {
      WarehouseLoader.LoadResult r =
          loader.load(
              new WarehouseLoader.LoadRequest(
                  "segment", specs, batches.subList(i, Math.min(batches.size(), i + perLoad))));
      inserted += r.totalRowsInserted();
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    System.out.printf(
        "DuckDB load: %,d rows inserted in %.2f s = %,.0f rows/s (%,.0f track events/s), %d loads of"
            + " up to %d batches%n",
        inserted,
        seconds,
        inserted / seconds,
        events / seconds,
        (batches.size() + perLoad - 1) / perLoad,
        perLoad);
    if (inserted != rows) {
      System.out.printf("MISMATCH: staged %d rows, inserted %d%n", rows, inserted);
      System.exit(1);
    }
    Files.deleteIfExists(db);
  }

  private DuckDbLoadBench() {}
}
