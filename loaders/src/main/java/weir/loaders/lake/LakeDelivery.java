package weir.loaders.lake;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import weir.loaders.files.FileFormat;
import weir.loaders.staging.StagedFile;
import weir.loaders.staging.StagingStore;
import weir.loaders.warehouse.WarehouseLoader;
import weir.protocol.Json;

/**
 * The "load" of a data-lake destination ({@code s3}, {@code gcs}, {@code filesystem}): the batch's
 * files are already where the user wants them (staged there in the destination's format), so
 * delivering a batch means writing its manifest, {@code <connection>/_manifests/<batch-id>.json},
 * last: a reader that lists the manifests knows which files are complete and what they hold.
 * Folders starting with {@code _} are skipped by Hive, Spark, Presto and Athena table scans.
 *
 * <p>Idempotent: a batch whose manifest exists is skipped; a manifest is written atomically by the
 * store.
 */
public final class LakeDelivery implements WarehouseLoader {
  private static final Logger log = LoggerFactory.getLogger(LakeDelivery.class);
  public static final String MANIFESTS = "_manifests";

  private final StagingStore store;
  private final FileFormat format;

  public LakeDelivery(StagingStore store, FileFormat format) {
    this.store = store;
    this.format = format;
  }

  /** The key of a batch's manifest. */
  public static String manifestKey(String connectionId, String batchId) {
    return connectionId + "/" + MANIFESTS + "/" + batchId + ".json";
  }

  @Override
  public LoadResult load(LoadRequest request) throws LoadException {
    return deliver(request, true);
  }

  private LoadResult deliver(LoadRequest request, boolean countsKnown) throws LoadException {
    List<String> written = new ArrayList<>();
    List<String> skipped = new ArrayList<>();
    Map<String, Long> rows = new LinkedHashMap<>();
    Map<String, Set<String>> existing = new LinkedHashMap<>();
    try {
      for (LoadBatch batch : request.batches()) {
        if (batch.files().isEmpty()) continue;
        String connectionId = batch.files().get(0).key().split("/", 2)[0];
        Set<String> done = existing.get(connectionId);
        if (done == null) {
          done = new HashSet<>(store.list(connectionId + "/" + MANIFESTS));
          existing.put(connectionId, done);
        }
        String key = manifestKey(connectionId, batch.batchId());
        if (done.contains(key)) {
          skipped.add(batch.batchId());
          continue;
        }
        try (StagingStore.StagedOutput out = store.create(key)) {
          out.stream()
              .write(manifest(connectionId, batch, countsKnown).getBytes(StandardCharsets.UTF_8));
          out.complete();
        }
        done.add(key);
        written.add(batch.batchId());
        batch.files().forEach(f -> rows.merge(f.table(), f.rows(), Long::sum));
      }
    } catch (IOException e) {
      throw new LoadException(
          "Writing manifests to " + store.describe("") + " failed: " + e.getMessage(), true, e);
    }
    if (!written.isEmpty())
      log.debug("Delivered {} batches to {}", written.size(), store.describe(""));
    return new LoadResult(written, skipped, rows);
  }

  /**
   * The files are the archive: a resync writes the manifests that are missing (listing only the
   * files: row counts and timestamps, unknown from a listing, are left out), nothing is dropped.
   */
  @Override
  public LoadResult reload(
      LoadRequest request, String timestampColumn, LocalDate from, LocalDate to)
      throws LoadException {
    return deliver(request, false);
  }

  private String manifest(String connectionId, LoadBatch batch, boolean countsKnown) {
    ObjectNode m = Json.MAPPER.createObjectNode();
    m.put("batch_id", batch.batchId());
    m.put("connection_id", connectionId);
    m.put("format", format.format().name().toLowerCase(Locale.ROOT));
    m.put("compression", format.compression().name().toLowerCase(Locale.ROOT));
    m.put("written_at", Instant.now().toString());
    long total = 0;
    long min = Long.MAX_VALUE;
    long max = Long.MIN_VALUE;
    ArrayNode files = m.putArray("files");
    for (StagedFile f : batch.files()) {
      ObjectNode o = files.addObject();
      o.put("table", f.table());
      o.put("key", f.key());
      o.put("uri", store.describe(f.key()));
      if (!countsKnown) continue;
      o.put("rows", f.rows());
      o.put("bytes", f.bytes());
      if (f.rows() > 0) {
        o.put("min_timestamp", Instant.ofEpochMilli(f.minTimestampMillis()).toString());
        o.put("max_timestamp", Instant.ofEpochMilli(f.maxTimestampMillis()).toString());
        min = Math.min(min, f.minTimestampMillis());
        max = Math.max(max, f.maxTimestampMillis());
      }
      total += f.rows();
    }
    if (!countsKnown) return Json.write(m);
    m.put("rows", total);
    if (total > 0) {
      m.put("min_timestamp", Instant.ofEpochMilli(min).toString());
      m.put("max_timestamp", Instant.ofEpochMilli(max).toString());
    }
    return Json.write(m);
  }

  /**
   * A data lake's files are its delivery: retention never applies to them, so nothing is reported
   * loaded.
   */
  @Override
  public Map<String, Instant> loadedAt(String schema, Collection<String> batchIds) {
    return Map.of();
  }
}
