package weir.loaders.datasync;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.zip.GZIPOutputStream;
import weir.loaders.files.CountingOutputStream;
import weir.loaders.staging.StagedFile;
import weir.loaders.staging.StagingStore;
import weir.protocol.Json;

/**
 * The converted rows of one export, as NDJSON.gz files in the warehouse's own staging store under
 * {@code _weir_scratch/datasync/<uuid>/} (where every loader reads its files). One file is open per
 * table at a time; it is completed, and the next one started, once {@code maxBytes} compressed
 * bytes are written. {@link #close()} deletes every file (and aborts open ones): they are named by
 * no batch of the staging archive and are never needed after the load.
 *
 * <p>Not thread-safe: one export's conversion uses it.
 */
final class ScratchFiles implements AutoCloseable {
  private final StagingStore staging;
  private final long maxBytes;
  private final String prefix = "_weir_scratch/datasync/" + UUID.randomUUID() + "/";
  private final Map<String, Open> open = new LinkedHashMap<>();
  private final List<StagedFile> done = new ArrayList<>();
  private int parts;

  ScratchFiles(StagingStore staging, long maxBytes) {
    this.staging = staging;
    this.maxBytes = maxBytes;
  }

  /**
   * The JSON generator of {@code table}'s current file, for one row; call {@link #endRow} after.
   */
  JsonGenerator row(String table) throws IOException {
    Open file = open.get(table);
    if (file == null) {
      String key = prefix + table + "." + parts++ + ".ndjson.gz";
      file = new Open(table, key, staging.create(key));
      open.put(table, file);
    }
    return file.json;
  }

  /** Ends the row just written to {@code table}; completes the file once it is full. */
  void endRow(String table) throws IOException {
    Open file = open.get(table);
    file.json.writeRaw('\n');
    file.rows++;
    // The compressed size is looked at every 1024 rows: a flush per row would cost more than the
    // cap needs to be exact.
    if (file.rows % 1024 != 0) return;
    file.json.flush();
    if (file.counted.count() >= maxBytes) complete(open.remove(table));
  }

  /** Completes the open files; returns every file of the export. */
  List<StagedFile> finish() throws IOException {
    for (Open file : List.copyOf(open.values())) {
      open.remove(file.table);
      complete(file);
    }
    return List.copyOf(done);
  }

  private void complete(Open file) throws IOException {
    file.json.close();
    file.gzip.finish();
    long bytes = file.output.complete();
    done.add(new StagedFile(file.table, file.key, file.rows, 0, 0, bytes));
  }

  @Override
  public void close() {
    open.values().forEach(f -> f.output.abort());
    open.clear();
    for (StagedFile f : done) {
      try {
        staging.delete(f.key());
      } catch (IOException | RuntimeException ignored) {
        // A leftover scratch file is never loaded: no batch names it.
      }
    }
    done.clear();
  }

  private static final class Open {
    final String table;
    final String key;
    final StagingStore.StagedOutput output;
    final CountingOutputStream counted;
    final GZIPOutputStream gzip;
    final JsonGenerator json;
    long rows;

    Open(String table, String key, StagingStore.StagedOutput output) throws IOException {
      this.table = table;
      this.key = key;
      this.output = output;
      this.counted = new CountingOutputStream(output.stream());
      this.gzip = new GZIPOutputStream(counted, 1 << 16);
      this.json = Json.MAPPER.getFactory().createGenerator(gzip);
      json.disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
      json.setRootValueSeparator(null);
    }
  }
}
