package weir.loaders.warehouse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import weir.loaders.staging.BatchFileWriter;
import weir.loaders.staging.fs.FilesystemStagingStore;
import weir.protocol.ColumnType;
import weir.protocol.StagedRow;
import weir.protocol.TableSpec;
import weir.protocol.connector.ColumnPolicy;
import weir.protocol.connector.ConnectorOps;
import weir.protocol.connector.ConnectorTables;

/**
 * The load modes every warehouse loader implements (replace, period drop-and-replace, merge with
 * soft deletes), checked through the loader's own SQL against the real database. Subclasses give
 * the loader.
 */
public abstract class LoadModesContract {
  private static final AtomicInteger ids = new AtomicInteger();
  private static final List<TableSpec.Column> PRODUCT =
      List.of(
          new TableSpec.Column("id", ColumnType.STRING, TableSpec.Merge.KEY),
          new TableSpec.Column("name", ColumnType.STRING, TableSpec.Merge.LATEST),
          new TableSpec.Column("price", ColumnType.DOUBLE, TableSpec.Merge.LATEST),
          new TableSpec.Column("updated_at", ColumnType.TIMESTAMP, TableSpec.Merge.MAX));

  protected abstract WarehouseLoader loader(FilesystemStagingStore staging);

  /**
   * Rows of {@code sql} as "a|b|c" strings; {@code schema} is the logical schema the loader wrote
   * to.
   */
  protected abstract List<String> query(String schema, String sql) throws Exception;

  private final Path root = newRoot();
  private final FilesystemStagingStore staging = new FilesystemStagingStore(root);
  private final String schema = "modes" + ids.incrementAndGet() + "_" + System.nanoTime() % 100000;

  private static Path newRoot() {
    try {
      return Files.createTempDirectory("weir-modes");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static StagedRow product(
      String id, String name, Double price, String at, Boolean deleted) {
    StringBuilder json = new StringBuilder("{\"id\":\"" + id + "\",\"updated_at\":\"" + at + "\"");
    if (name != null) json.append(",\"name\":\"").append(name).append('"');
    if (price != null) json.append(",\"price\":").append(price);
    if (deleted != null) json.append(",\"_weir_deleted\":").append(deleted);
    return new StagedRow(
        "products", id, Instant.parse(at).toEpochMilli(), json.append('}').toString());
  }

  private WarehouseLoader.LoadResult load(TableSpec spec, StagedRow... rows) throws Exception {
    String batchId = "m" + ids.incrementAndGet();
    var files = new BatchFileWriter(staging).write("c", batchId, List.of(rows));
    return loader(staging)
        .load(
            new WarehouseLoader.LoadRequest(
                schema,
                Map.of(spec.name(), spec),
                List.of(new WarehouseLoader.LoadBatch(batchId, files))));
  }

  @Test
  void replaceSwapsInTheLoadsRowsAsTheWholeTable() throws Exception {
    TableSpec spec = TableSpec.replaced("products", PRODUCT, "id");
    load(
        spec,
        product("p1", "Pen", 1.5, "2026-11-20T10:00:00Z", null),
        product("p2", "Ink", 4.0, "2026-11-20T10:00:00Z", null));
    load(
        spec,
        product("p2", "Ink", 4.5, "2026-11-21T10:00:00Z", null),
        product("p3", "Pad", 2.0, "2026-11-21T10:00:00Z", null),
        product("p3", "Pad", 2.0, "2026-11-21T10:00:00Z", null));
    assertThat(query(schema, "SELECT id, price FROM %s.products ORDER BY id"))
        .containsExactly("p2|4.5", "p3|2.0");
    assertThat(query(schema, "SELECT count(*) FROM %s.products WHERE loaded_at IS NOT NULL"))
        .containsExactly("2");
  }

  @Test
  void aFailedReplaceLeavesTheOldTableWhole() throws Exception {
    TableSpec spec = TableSpec.replaced("products", PRODUCT, "id");
    load(spec, product("p1", "Pen", 1.5, "2026-11-20T10:00:00Z", null));
    String batchId = "bad" + ids.incrementAndGet();
    var files =
        new BatchFileWriter(staging)
            .write("c", batchId, List.of(product("p9", "X", 1.0, "2026-11-21T10:00:00Z", null)));
    Files.delete(staging.localPath(files.get(0).key()).orElseThrow());
    assertThatThrownBy(
            () ->
                loader(staging)
                    .load(
                        new WarehouseLoader.LoadRequest(
                            schema,
                            Map.of("products", spec),
                            List.of(new WarehouseLoader.LoadBatch(batchId, files)))))
        .isInstanceOf(WarehouseLoader.LoadException.class);
    assertThat(query(schema, "SELECT id FROM %s.products")).containsExactly("p1");
  }

  @Test
  void aPeriodLoadReplacesOnlyTheDaysItContains() throws Exception {
    TableSpec spec = TableSpec.periods("products", PRODUCT, "id", "updated_at");
    load(
        spec,
        product("a1", "A1", 1.0, "2026-11-20T01:00:00Z", null),
        product("a2", "A2", 1.0, "2026-11-20T23:59:59Z", null),
        product("b1", "B1", 1.0, "2026-11-21T00:00:00Z", null));
    // A re-export of the 20th: a1 changed, a2 gone, a3 new; the 21st is untouched.
    load(
        spec,
        product("a1", "A1", 9.0, "2026-11-20T05:00:00Z", null),
        product("a3", "A3", 1.0, "2026-11-20T06:00:00Z", null));
    assertThat(query(schema, "SELECT id, price FROM %s.products ORDER BY id"))
        .containsExactly("a1|9.0", "a3|1.0", "b1|1.0");
  }

  @Test
  void mergeUpsertsPartialUpdatesAndSoftDeletesByKey() throws Exception {
    TableSpec spec = TableSpec.merged("products", PRODUCT, "updated_at").withSoftDelete();
    load(
        spec,
        product("p1", "Pen", 1.5, "2026-11-20T10:00:00Z", null),
        product("p2", "Ink", 4.0, "2026-11-20T10:00:00Z", null));
    load(
        spec,
        product("p1", null, 2.0, "2026-11-21T10:00:00Z", false),
        product("p2", null, null, "2026-11-21T11:00:00Z", true),
        product("p1", "Pen XL", null, "2026-11-21T12:00:00Z", null));
    assertThat(query(schema, "SELECT id, name, price, _weir_deleted FROM %s.products ORDER BY id"))
        .containsExactly("p1|Pen XL|2.0|false", "p2|Ink|4.0|true");
  }

  /**
   * One connector sync through {@link ConnectorOps}, each group of rows loaded as its own batch (so
   * operations of one key meet across loads as well as within one).
   */
  private final class Sync implements ConnectorOps.Sink {
    final ConnectorOps ops;
    // What the registry would know: the columns of every earlier sync.
    final Map<String, Map<String, ColumnType>> columns = connectorColumns;
    Map<String, Object> state = Map.of();

    Sync(List<weir.sdk.Table> tables, Map<String, ColumnPolicy> policies, long epoch, int group) {
      ops =
          new ConnectorOps(
              tables,
              policies,
              "salt".getBytes(java.nio.charset.StandardCharsets.UTF_8),
              connectorColumns,
              epoch,
              Instant.EPOCH,
              this,
              group);
    }

    @Override
    public void write(List<StagedRow> rows, Map<String, Map<String, ColumnType>> changed)
        throws Exception {
      columns.putAll(changed);
      if (rows.isEmpty()) return;
      String batchId = "k" + ids.incrementAndGet();
      var files = new BatchFileWriter(staging).write("c", batchId, rows);
      Map<String, TableSpec> specs = new java.util.TreeMap<>();
      rows.forEach(
          r ->
              specs.put(
                  r.table(),
                  ConnectorTables.spec(r.table(), columns.getOrDefault(r.table(), Map.of()))));
      loader(staging)
          .load(
              new WarehouseLoader.LoadRequest(
                  schema, specs, List.of(new WarehouseLoader.LoadBatch(batchId, files))));
    }

    @Override
    public void checkpoint(Map<String, Object> next, long epoch, Instant synced) {
      state = next;
    }
  }

  private final Map<String, Map<String, ColumnType>> connectorColumns = new java.util.TreeMap<>();

  private static Map<String, Object> row(Object... kv) {
    Map<String, Object> out = new java.util.LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) out.put((String) kv[i], kv[i + 1]);
    return out;
  }

  @Test
  void connectorOperationsMergeByKeyWithUpdatesDeletesAndTruncates() throws Exception {
    List<weir.sdk.Table> tables =
        List.of(
            weir.sdk.Table.of("Items", "id")
                .withColumn("seen_at", weir.sdk.ColumnType.UTC_DATETIME));
    Sync first = new Sync(tables, Map.of(), 0, 2);
    first.ops.upsert(
        "Items",
        row(
            "id",
            1,
            "name",
            "Pen",
            "price",
            1.5,
            "seen_at",
            Instant.parse("2026-11-20T10:00:00Z")));
    first.ops.upsert("Items", row("id", 2, "name", "Ink", "price", 4.0));
    first.ops.update("Items", row("id", 9, "name", "Ghost")); // a missing key: ignored
    first.ops.update("Items", row("id", 1, "name", "Pen XL")); // price kept
    first.ops.upsert("Items", row("id", 3, "name", "Pad", "price", 2.0));
    first.ops.delete("Items", row("id", 2));
    first.ops.checkpoint(Map.of("cursor", 5));
    assertThat(first.state).containsEntry("cursor", 5);
    assertThat(
            query(
                schema,
                "SELECT _weir_id, name, price, _weir_deleted FROM %s.items ORDER BY _weir_id"))
        .containsExactly("[1]|Pen XL|1.5|false", "[2]|Ink|4.0|true", "[3]|Pad|2.0|false");
    assertThat(query(schema, "SELECT count(*) FROM %s.items WHERE seen_at IS NOT NULL"))
        .containsExactly("1");

    // An upsert is a whole row (price null), a new column arrives, a value widens a column.
    Sync second = new Sync(tables, Map.of(), 1, 100);
    second.ops.upsert("Items", row("id", 3, "name", "Pad", "colour", "red"));
    second.ops.upsert("Items", row("id", 4, "name", 42));
    second.ops.checkpoint(Map.of());
    assertThat(
            query(schema, "SELECT _weir_id, name, price, colour FROM %s.items ORDER BY _weir_id"))
        .containsExactly(
            "[1]|Pen XL|1.5|null", "[2]|Ink|4.0|null", "[3]|Pad|null|red", "[4]|42|null|null");

    // A truncate soft-deletes what was synced before it, not what comes after.
    Sync third = new Sync(tables, Map.of(), 2, 1);
    third.ops.upsert("Items", row("id", 5, "name", "Old"));
    third.ops.truncate("Items");
    third.ops.upsert("Items", row("id", 1, "name", "Pen again", "price", 1.0));
    third.ops.checkpoint(Map.of());
    assertThat(
            query(schema, "SELECT _weir_id, name, _weir_deleted FROM %s.items ORDER BY _weir_id"))
        .containsExactly(
            "[1]|Pen again|false", "[2]|Ink|true", "[3]|Pad|true", "[4]|42|true", "[5]|Old|true");
    assertThat(third.ops.counts().get("items")).isEqualTo(new ConnectorOps.Counts(2, 0, 0, 1));
  }

  @Test
  void connectorTruncateThenChangeInOneLoadEndsAsInTwoLoads() throws Exception {
    List<weir.sdk.Table> tables = List.of(weir.sdk.Table.of("tickets", "id"));
    Sync first = new Sync(tables, Map.of(), 0, 100);
    first.ops.upsert("tickets", row("id", 1, "state", "open", "event_id", 7));
    first.ops.upsert("tickets", row("id", 2, "state", "open", "event_id", 7));
    first.ops.checkpoint(Map.of());
    // Rows sharing a source column named event_id are distinct operations, not one event.
    assertThat(query(schema, "SELECT count(*) FROM %s.tickets")).containsExactly("2");
    Sync second = new Sync(tables, Map.of(), 1, 100);
    second.ops.truncate("tickets");
    second.ops.update("tickets", row("id", 1, "state", "closed"));
    second.ops.upsert("tickets", row("id", 3, "state", "new"));
    second.ops.checkpoint(Map.of());
    // As the harness: the update changes the truncated row, which stays deleted.
    assertThat(query(schema, "SELECT _weir_id, state, _weir_deleted FROM %s.tickets ORDER BY 1"))
        .containsExactly("[1]|closed|true", "[2]|open|true", "[3]|new|false");
  }

  @Test
  void connectorSnapshotsKeepOnlyTheLastSyncsRowsAndAppendsAreNotDoubledOnReplay()
      throws Exception {
    List<weir.sdk.Table> tables =
        List.of(
            weir.sdk.Table.of("plans", "code").withExtractMode(weir.sdk.ExtractMode.SNAPSHOT),
            new weir.sdk.Table(
                "clicks", List.of(), Map.of(), weir.sdk.ExtractMode.INCREMENTAL_APPENDS));
    Instant start1 = Instant.now();
    Sync first = new Sync(tables, Map.of(), 0, 100);
    first.ops.upsert("plans", row("code", "a", "seats", 1));
    first.ops.upsert("plans", row("code", "b", "seats", 2));
    first.ops.upsert("clicks", row("page", "/x"));
    first.ops.finish(start1);
    first.ops.checkpoint(Map.of());
    // A sync that crashed after its rows were written, resumed from the same checkpoint (epoch 1):
    // the appended rows get the same ids and are not appended twice.
    for (int attempt = 0; attempt < 2; attempt++) {
      Sync resumed = new Sync(tables, Map.of(), 1, 100);
      resumed.ops.upsert("clicks", row("page", "/y"));
      resumed.ops.upsert("clicks", row("page", "/z"));
      resumed.ops.flush();
    }
    Thread.sleep(2);
    Instant start2 = Instant.now();
    Sync second = new Sync(tables, Map.of(), 1, 100);
    second.ops.upsert("plans", row("code", "a", "seats", 5));
    second.ops.finish(start2);
    second.ops.checkpoint(Map.of());
    assertThat(query(schema, "SELECT code, seats, _weir_deleted FROM %s.plans ORDER BY code"))
        .containsExactly("a|5|false", "b|2|true");
    assertThat(query(schema, "SELECT page FROM %s.clicks ORDER BY page"))
        .containsExactly("/x", "/y", "/z");
  }

  @Test
  void connectorColumnsBlockedNeverLoadAndHashedLoadSalted() throws Exception {
    List<weir.sdk.Table> tables = List.of(weir.sdk.Table.of("users", "id"));
    Sync sync =
        new Sync(
            tables,
            Map.of(
                "users.password", new ColumnPolicy(false, false),
                "users.email", new ColumnPolicy(true, true)),
            0,
            100);
    sync.ops.upsert("users", row("id", 1, "email", "ann@example.com", "password", "hunter2"));
    sync.ops.checkpoint(Map.of());
    String expected =
        java.util.HexFormat.of()
            .formatHex(
                java.security.MessageDigest.getInstance("SHA-256")
                    .digest(
                        "saltann@example.com".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    assertThat(query(schema, "SELECT email FROM %s.users")).containsExactly(expected);
    assertThat(
            query(
                schema,
                "SELECT count(*) FROM information_schema.columns WHERE column_name = 'password' AND table_schema = '"
                    + schema
                    + "'"))
        .containsExactly("0");
  }
}
