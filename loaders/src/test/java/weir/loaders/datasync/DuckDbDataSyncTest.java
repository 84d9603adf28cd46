package weir.loaders.datasync;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import weir.loaders.staging.fs.FilesystemStagingStore;
import weir.loaders.warehouse.WarehouseLoader;
import weir.loaders.warehouse.duckdb.DuckDbLoader;

/** Data Sync loading into a real DuckDB file. */
class DuckDbDataSyncTest extends DataSyncLoadContract {
  private final Path db;

  DuckDbDataSyncTest() throws Exception {
    db = Files.createTempDirectory("weir-duck-datasync").resolve("wh.duckdb");
  }

  @Override
  protected WarehouseLoader loader(FilesystemStagingStore staging) {
    return new DuckDbLoader(db, staging);
  }

  /** A writable connection, closed before the next load (DuckDB allows one writer per file). */
  @Override
  protected Connection connect() throws Exception {
    return DriverManager.getConnection("jdbc:duckdb:" + db);
  }
}
