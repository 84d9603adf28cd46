package weir.loaders.warehouse.duckdb;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import weir.loaders.staging.fs.FilesystemStagingStore;
import weir.loaders.warehouse.LoadModesContract;
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
    List<String> out = new ArrayList<>();
    try (Connection c = DriverManager.getConnection("jdbc:duckdb:" + db, p);
         ResultSet rs = c.createStatement().executeQuery(String.format(sql, "\"" + schema + "\""))) {
      int n = rs.getMetaData().getColumnCount();
      while (rs.next()) {
        List<String> cols = new ArrayList<>();
        for (int i = 1; i <= n; i++) cols.add(String.valueOf(rs.getString(i)));
        out.add(String.join("|", cols));
      }
    }
    return out;
  }
}
