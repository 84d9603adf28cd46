package weir.loaders.bench;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import org.postgresql.PGConnection;
import weir.loaders.staging.BatchFileWriter;
import weir.loaders.staging.StagedFile;
import weir.loaders.staging.fs.FilesystemStagingStore;
import weir.loaders.warehouse.WarehouseLoader;
import weir.loaders.warehouse.postgres.PostgresLoader;
import weir.protocol.StagedRow;
import weir.protocol.webhook.WebhookParser;

/**
 * Rows/s into PostgreSQL through Weir's loader versus a plain {@code COPY} of the same staged file
 * into a one-column jsonb table (the floor any JSON load pays). Not a test: run by
 * deploy/bench/pg-load-bench.sh. args: JDBC_URL USER ROWS
 */
public final class PostgresLoadBench {
  public static void main(String[] args) throws Exception {
    String url = args[0];
    String user = args[1];
    int rows = Integer.parseInt(args[2]);
    Path dir = Files.createTempDirectory("weir-pg-bench");
    FilesystemStagingStore staging = new FilesystemStagingStore(dir);
    List<StagedRow> batch = new ArrayList<>(rows);
    Instant t0 = Instant.parse("2026-11-21T10:00:00Z");
    for (int i = 0; i < rows; i++) {
      String id = "evt-" + i;
      String at = t0.plusMillis(i % 3_600_000).toString();
      batch.add(
          new StagedRow(
              "events",
              id,
              t0.toEpochMilli(),
              "{\"event_id\":\""
                  + id
                  + "\",\"received_at\":\""
                  + at
                  + "\",\"data\":{\"order\":"
                  + i
                  + ",\"total\":"
                  + (i % 1000)
                  + ".5,\"user\":{\"id\":\"u"
                  + (i % 5000)
                  + "\",\"plan\":\"pro\"},\"items\":[\"a\",\"b\"]}}"));
    }
    List<StagedFile> files = new BatchFileWriter(staging).write("bench", "bench-1", batch);
    batch.clear();
    String schema = "bench_" + System.nanoTime();
    try (Connection c = DriverManager.getConnection(url, user, "")) {
      c.createStatement().execute("DROP TABLE IF EXISTS weir_bench_plain");
      c.createStatement()
          .execute("CREATE UNLOGGED TABLE IF NOT EXISTS weir_bench_plain_probe (x int)");
      c.createStatement().execute("DROP TABLE weir_bench_plain_probe");
    }

    long start = System.nanoTime();
    try (Connection c = DriverManager.getConnection(url, user, "")) {
      c.createStatement().execute("CREATE TABLE weir_bench_plain (json jsonb)");
      var copy = c.unwrap(PGConnection.class).getCopyAPI();
      for (StagedFile f : files) {
        try (InputStream in = new GZIPInputStream(staging.open(f.key()), 1 << 16)) {
          copy.copyIn(
              "COPY weir_bench_plain (json) FROM STDIN WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')",
              in,
              1 << 16);
        }
      }
    }
    double plain = (System.nanoTime() - start) / 1e9;

    start = System.nanoTime();
    WarehouseLoader.LoadResult result =
        new PostgresLoader(url, user, "", "", staging)
            .load(
                new WarehouseLoader.LoadRequest(
                    schema,
                    Map.of("events", WebhookParser.tableSpec("events")),
                    List.of(new WarehouseLoader.LoadBatch("bench-1", files))));
    double weir = (System.nanoTime() - start) / 1e9;

    try (Connection c = DriverManager.getConnection(url, user, "")) {
      c.createStatement().execute("DROP TABLE weir_bench_plain");
      c.createStatement().execute("DROP SCHEMA \"" + schema + "\" CASCADE");
    }
    System.out.printf(
        "rows=%d staged=%.1f MB: plain COPY into jsonb %.2f s (%.0f rows/s); Weir load %.2f s "
            + "(%.0f rows/s, %d inserted); Weir/plain = %.2f%n",
        rows,
        files.stream().mapToLong(StagedFile::bytes).sum() / 1e6,
        plain,
        rows / plain,
        weir,
        rows / weir,
        result.totalRowsInserted(),
        (rows / weir) / (rows / plain));
  }

  private PostgresLoadBench() {}
}
