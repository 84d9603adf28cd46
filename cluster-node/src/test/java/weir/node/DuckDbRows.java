package weir.node;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/** Reads a node's DuckDB warehouse read-only, as a user would between loads. */
public final class DuckDbRows {
  private DuckDbRows() {}

  /**
   * The rows of {@code sql} as "a|b|c" strings. A warehouse locked by a load is retried for a few seconds;
   * other errors (a table not created yet) are thrown.
   */
  public static List<String> query(Path warehouse, String sql) throws SQLException, InterruptedException {
    Properties p = new Properties();
    p.setProperty("duckdb.read_only", "true");
    for (int attempt = 0; ; attempt++) {
      try (Connection c = DriverManager.getConnection("jdbc:duckdb:" + warehouse, p);
          ResultSet rs = c.createStatement().executeQuery(sql)) {
        List<String> out = new ArrayList<>();
        int n = rs.getMetaData().getColumnCount();
        while (rs.next()) {
          List<String> cols = new ArrayList<>();
          for (int i = 1; i <= n; i++) cols.add(String.valueOf(rs.getString(i)));
          out.add(String.join("|", cols));
        }
        return out;
      } catch (SQLException e) {
        if (attempt > 30 || !String.valueOf(e.getMessage()).contains("lock")) throw e;
        Thread.sleep(100);
      }
    }
  }
}
