package weir.loaders.warehouse.duckdb;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.util.List;
import java.util.Properties;
import weir.loaders.staging.fs.FilesystemStagingStore;
import weir.loaders.warehouse.LoadModesContract;
import weir.loaders.warehouse.Rows;
import weir.loaders.warehouse.WarehouseLoader;

class DuckDbLoadModesTest extends LoadModesContract {
  private final Path db;

  DuckDbLoadModesTest() throws Exception {
    db = Files.createTempDirectory("weir-duck-modes").resolve("wh.duckdb");
  }

  @Override
  protected WarehouseLoader loader(FilesystemStagingStore staging) {
    return new DuckDbLoader(db, staging);
  }

  @Override
  protected List<String> query(String schema, String sql) throws Exception {
    Properties p = new Properties();
    p.setProperty("duckdb.read_only", "true");
    try (Connection c = DriverManager.getConnection("jdbc:duckdb:" + db, p)) {
      return Rows.of(c, String.format(sql, "\"" + schema + "\""));
    }
  }
}
