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
}
