package weir.loaders.warehouse.duckdb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import weir.loaders.staging.BatchFileWriter;
import weir.loaders.staging.StagedFile;
import weir.loaders.staging.fs.FilesystemStagingStore;
import weir.loaders.warehouse.Rows;
import weir.loaders.warehouse.WarehouseLoader;
import weir.loaders.warehouse.WarehouseLoader.LoadBatch;
import weir.protocol.DeadLetters;
import weir.protocol.StagedRow;
import weir.protocol.TableSpec;
import weir.protocol.webhook.WebhookParser;

class DuckDbLoaderTest {
  @TempDir Path dir;
  private FilesystemStagingStore staging;
  private DuckDbLoader loader;
  private final Map<String, TableSpec> tables = Map.of("events", WebhookParser.tableSpec("events"));

  @BeforeEach
  void setUp() {
    staging = new FilesystemStagingStore(dir.resolve("staging"));
    loader = new DuckDbLoader(dir.resolve("warehouse.duckdb"), staging);
  }

  private LoadBatch stage(String batchId, String... ids) throws Exception {
    List<StagedRow> rows = new ArrayList<>();
    for (String id : ids) rows.add(rowOf(id));
    List<StagedFile> files = new BatchFileWriter(staging).write("c1", batchId, rows);
    return new LoadBatch(batchId, files);
  }

  private static StagedRow rowOf(String id) {
    return new StagedRow(
        "events",
        id,
        1_700_000_000_000L,
        "{\"event_id\":\""
            + id
            + "\",\"received_at\":\"2023-11-14T22:13:20Z\",\"data\":{\"id\":\""
            + id
            + "\",\"nested\":{\"n\":1}}}");
  }

  private WarehouseLoader.LoadResult load(LoadBatch... batches) throws Exception {
    return loader.load(new WarehouseLoader.LoadRequest("demo", tables, List.of(batches)));
  }

  @Test
  void createsSchemaAndTableAndLoadsRowsWithTheirJson() throws Exception {
    WarehouseLoader.LoadResult result = load(stage("b1", "e1", "e2"));
    assertThat(result.loadedBatchIds()).containsExactly("b1");
    assertThat(result.rowsInserted()).containsEntry("events", 2L);
    assertThat(
            query(
                "SELECT event_id, data->>'$.id', CAST(data->'$.nested'->>'$.n' AS INT), "
                    + "epoch_ms(received_at) FROM demo.events ORDER BY event_id"))
        .containsExactly("e1|e1|1|1700000000000", "e2|e2|1|1700000000000");
    assertThat(query("SELECT batch_id, row_count FROM demo._weir_loads")).containsExactly("b1|2");
  }

  @Test
  void eventIdsAlreadyLoadedOrRepeatedInABatchAreInsertedOnce() throws Exception {
    load(stage("b1", "e1", "e2"));
    WarehouseLoader.LoadResult second =
        load(stage("b2", "e2", "e3", "e3"), stage("b3", "e3", "e4"));
    assertThat(second.rowsInserted()).containsEntry("events", 2L);
    assertThat(query("SELECT event_id FROM demo.events ORDER BY 1"))
        .containsExactly("e1", "e2", "e3", "e4");
  }

  @Test
  void reloadingABatchRecordedInWeirLoadsIsSkipped() throws Exception {
    LoadBatch b1 = stage("b1", "e1");
    load(b1);
    WarehouseLoader.LoadResult again = load(b1);
    assertThat(again.loadedBatchIds()).isEmpty();
    assertThat(again.skippedBatchIds()).containsExactly("b1");
    assertThat(query("SELECT count(*) FROM demo.events")).containsExactly("1");
  }

  @Test
  void aFailingLoadCommitsNothingAndCanBeRetried() throws Exception {
    LoadBatch good = stage("b1", "e1");
    LoadBatch broken = stage("b2", "e2");
    Path brokenFile = staging.localPath(broken.files().get(0).key()).orElseThrow();
    byte[] saved = Files.readAllBytes(brokenFile);
    Files.delete(brokenFile);

    assertThatThrownBy(() -> load(good, broken))
        .isInstanceOf(WarehouseLoader.LoadException.class)
        .satisfies(
            e -> assertThat(((WarehouseLoader.LoadException) e).transientFailure()).isTrue());
    assertThat(query("SELECT count(*) FROM information_schema.tables WHERE table_name = 'events'"))
        .containsExactly("0");

    Files.write(brokenFile, saved);
    assertThat(load(good, broken).loadedBatchIds()).containsExactly("b1", "b2");
    assertThat(query("SELECT event_id FROM demo.events ORDER BY 1")).containsExactly("e1", "e2");
  }

  @Test
  void aRowDuckDbCannotStoreBecomesADeadLetterAndTheRestOfItsBatchLoads() throws Exception {
    List<StagedRow> rows = new ArrayList<>();
    for (int i = 0; i < 50; i++) rows.add(rowOf("g" + i));
    // DuckDB reads JSON objects of at most 16 MiB (maximum_object_size; 32 in practice): a 40 MB
    // one cannot load.
    rows.add(
        new StagedRow(
            "events",
            "big",
            1_700_000_000_000L,
            "{\"event_id\":\"big\",\"received_at\":"
                + "\"2023-11-14T22:13:20Z\",\"data\":{\"blob\":\""
                + "x".repeat(40 << 20)
                + "\"}}"));
    for (int i = 50; i < 60; i++) rows.add(rowOf("g" + i));
    List<StagedFile> files = new BatchFileWriter(staging).write("c1", "b1", rows);
    Map<String, TableSpec> withDeadLetters =
        Map.of(
            "events",
            WebhookParser.tableSpec("events"),
            DeadLetters.TABLE,
            DeadLetters.tableSpec());
    WarehouseLoader.LoadResult r =
        loader.load(
            new WarehouseLoader.LoadRequest(
                "demo", withDeadLetters, List.of(new LoadBatch("b1", files))));
    assertThat(r.loadedBatchIds()).containsExactly("b1");
    assertThat(r.rejectedRows()).isEqualTo(1);
    assertThat(query("SELECT count(*) FROM demo.events")).containsExactly("60");
    assertThat(query("SELECT count(*) FROM demo.events WHERE event_id = 'big'"))
        .containsExactly("0");
    assertThat(
            query(
                "SELECT code, message LIKE '%maximum_object_size%', length(payload) FROM demo._weir_dead_letters"))
        .containsExactly("rejected_by_warehouse|true|65536");
    assertThat(staging.list("_weir_scratch")).as("scratch files are gone").isEmpty();
  }

  private List<String> query(String sql) throws Exception {
    Properties readOnly = new Properties();
    readOnly.setProperty("duckdb.read_only", "true");
    try (Connection c =
        DriverManager.getConnection("jdbc:duckdb:" + dir.resolve("warehouse.duckdb"), readOnly)) {
      return Rows.of(c, sql);
    }
  }
}
