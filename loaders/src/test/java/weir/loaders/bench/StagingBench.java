package weir.loaders.bench;

import akka.actor.ActorSystem;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.cloud.storage.contrib.nio.testing.LocalStorageHelper;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import weir.loaders.files.FileFormat;
import weir.loaders.staging.BatchFileWriter;
import weir.loaders.staging.StagedFile;
import weir.loaders.staging.StagingStore;
import weir.loaders.staging.fs.FilesystemStagingStore;
import weir.loaders.staging.gcs.GcsStagingStore;
import weir.loaders.staging.s3.S3Location;
import weir.loaders.staging.s3.S3StagingStore;
import weir.loaders.testing.S3TestServer;
import weir.protocol.Json;
import weir.protocol.StagedRow;
import weir.protocol.event.CanonicalEvent;
import weir.protocol.event.EventTables;

/**
 * MB/s of staging writes per store and format: ROWS canonical track rows (one table, one hour, so
 * one batch file unless the size cap splits it) written through {@link BatchFileWriter} into the
 * local filesystem, S3 (Alpakka S3 to an S3Mock server in this JVM) and GCS (google-cloud-storage
 * on Google's in-memory fake). MB/s counts the rows' NDJSON bytes (the input), so formats compare
 * on the same work. Not a test: run by deploy/bench/staging-bench.sh. args: ROWS WORK_DIR
 */
public final class StagingBench {
  public static void main(String[] args) throws Exception {
    int rows = Integer.parseInt(args[0]);
    Path work = Path.of(args[1]).toAbsolutePath();
    Files.createDirectories(work);
    List<StagedRow> data = rows(rows);
    long inputBytes = data.stream().mapToLong(r -> r.json().length() + 1).sum();
    System.out.printf("%,d track rows, %.1f MB of NDJSON%n", rows, inputBytes / 1e6);

    ActorSystem system =
        ActorSystem.create(
            "staging-bench",
            ConfigFactory.parseString("akka.loglevel = WARNING")
                .withFallback(ConfigFactory.load()));
    S3TestServer s3 = S3TestServer.start(Files.createTempDirectory(work, "s3"), "bench");
    try {
      Map<String, Supplier<StagingStore>> stores = new LinkedHashMap<>();
      stores.put("filesystem", () -> new FilesystemStagingStore(work.resolve("fs")));
      stores.put(
          "s3 (S3Mock)",
          () ->
              new S3StagingStore(
                  new S3Location("bench", "p", "us-east-1", s3.endpoint(), "k", "s"), system));
      stores.put(
          "gcs (in-memory fake)",
          () -> new GcsStagingStore(LocalStorageHelper.getOptions().getService(), "bench", "p"));
      List<FileFormat> formats =
          List.of(
              FileFormat.parse("ndjson", "gzip", FileFormat.DEFAULT_MAX_FILE_BYTES),
              FileFormat.parse("ndjson", "none", FileFormat.DEFAULT_MAX_FILE_BYTES),
              FileFormat.parse("avro", "deflate", FileFormat.DEFAULT_MAX_FILE_BYTES),
              FileFormat.parse("avro", "snappy", FileFormat.DEFAULT_MAX_FILE_BYTES),
              FileFormat.parse("parquet", "snappy", FileFormat.DEFAULT_MAX_FILE_BYTES));
      System.out.printf(
          "%-22s %-16s %10s %12s %10s%n", "store", "format", "MB/s in", "rows/s", "file MB");
      int batch = 0;
      for (Map.Entry<String, Supplier<StagingStore>> store : stores.entrySet()) {
        for (FileFormat format : formats) {
          StagingStore s = store.getValue().get();
          BatchFileWriter writer = new BatchFileWriter(s, format, EventTables::specFor);
          writer.write(
              "warmup", "warmup-0-" + batch++, data.subList(0, Math.min(20_000, data.size())));
          long start = System.nanoTime();
          List<StagedFile> files = writer.write("bench", "bench-0-" + batch++, data);
          double seconds = (System.nanoTime() - start) / 1e9;
          long out = files.stream().mapToLong(StagedFile::bytes).sum();
          System.out.printf(
              "%-22s %-16s %10.1f %,12.0f %10.1f%n",
              store.getKey(), format, inputBytes / 1e6 / seconds, rows / seconds, out / 1e6);
          for (StagedFile f : files) s.delete(f.key());
        }
      }
    } finally {
      s3.close();
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  static List<StagedRow> rows(int n) {
    List<StagedRow> out = new ArrayList<>(n);
    Instant base = Instant.parse("2026-11-21T10:00:00Z");
    for (int i = 0; i < n; i++) {
      ObjectNode props =
          Json.MAPPER
              .createObjectNode()
              .put("revenue", i + 0.25)
              .put("sku", "sku-" + (i % 5000))
              .put("currency", "EUR");
      ObjectNode context =
          Json.MAPPER
              .createObjectNode()
              .put("ip", "10.0." + (i % 250) + "." + (i % 200))
              .put("userAgent", "Mozilla/5.0 (X11; Linux x86_64) Weir bench");
      context.putObject("page").put("url", "https://shop.example.com/p/" + (i % 10_000));
      Instant ts = base.plusMillis(i % 3_600_000);
      CanonicalEvent e =
          new CanonicalEvent(
              "ev-" + i,
              CanonicalEvent.Type.track,
              "Order Completed",
              "anon-" + (i % 90_000),
              "user-" + (i % 40_000),
              ts,
              ts,
              ts.plusMillis(30),
              ts.plusMillis(20),
              context,
              props,
              Json.MAPPER.createObjectNode(),
              "bench");
      out.add(EventTables.rows(e).get(0));
    }
    return out;
  }
}
