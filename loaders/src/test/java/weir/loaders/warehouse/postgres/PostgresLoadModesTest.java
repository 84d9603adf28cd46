package weir.loaders.warehouse.postgres;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import weir.loaders.staging.fs.FilesystemStagingStore;
import weir.loaders.warehouse.LoadModesContract;
import weir.loaders.warehouse.WarehouseLoader;

class PostgresLoadModesTest extends LoadModesContract {
  private static EmbeddedPostgres pg;

  @BeforeAll
  static void start() throws Exception {
    pg = EmbeddedPostgres.builder().start();
  }

  @AfterAll
  static void stop() throws Exception {
    pg.close();
  }

  private static String url() {
    return "jdbc:postgresql://127.0.0.1:" + pg.getPort() + "/postgres";
  }

  @Override
  protected WarehouseLoader loader(FilesystemStagingStore staging) {
    return new PostgresLoader(url(), "postgres", "", "", staging);
  }

  @Override
  protected List<String> query(String schema, String sql) throws Exception {
    List<String> out = new ArrayList<>();
    try (Connection c = DriverManager.getConnection(url(), "postgres", "");
        ResultSet rs = c.createStatement().executeQuery(String.format(sql, "\"" + schema + "\""))) {
      int n = rs.getMetaData().getColumnCount();
      while (rs.next()) {
        List<String> cols = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
          String v = String.valueOf(rs.getString(i));
          // PostgreSQL prints whole doubles without ".0" and booleans as t/f: normalize to the
          // contract's form.
          if (rs.getMetaData().getColumnTypeName(i).equals("float8")
              && !v.contains(".")
              && !v.equals("null")) v += ".0";
          if (rs.getMetaData().getColumnTypeName(i).equals("bool"))
            v = v.equals("t") ? "true" : v.equals("f") ? "false" : v;
          cols.add(v);
        }
        out.add(String.join("|", cols));
      }
    }
    return out;
  }
}
