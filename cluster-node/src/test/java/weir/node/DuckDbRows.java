package weir.node;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/** Reads a node's DuckDB warehouse read-only, as a user would between loads. */
public final class DuckDbRows {
  private DuckDbRows() {}

  /**
   * A statement on {@code warehouse} attached read-only as the default catalog (as the loader
   * attaches it).
   */
  private static Statement attached(Connection c, Path warehouse) throws SQLException {
    Statement s = c.createStatement();
    s.execute("ATTACH '" + warehouse + "' AS wh (READ_ONLY)");
    s.execute("USE wh");
    return s;
  }

  /**
   * The rows of {@code sql} as "a|b|c" strings. A warehouse locked by a load is retried for a few
   * seconds; other errors (a table not created yet) are thrown.
   */
  public static List<String> query(Path warehouse, String sql)
      throws SQLException, InterruptedException {
    for (int attempt = 0; ; attempt++) {
      try (Connection c = DriverManager.getConnection("jdbc:duckdb:");
          ResultSet rs = attached(c, warehouse).executeQuery(sql)) {
        List<String> out = new ArrayList<>();
        int n = rs.getMetaData().getColumnCount();
        while (rs.next()) {
          List<String> cols = new ArrayList<>();
          for (int i = 1; i <= n; i++) cols.add(String.valueOf(rs.getString(i)));
          out.add(String.join("|", cols));
        }
        return out;
      } catch (SQLException e) {
        String m = String.valueOf(e.getMessage());
        if (attempt > 30 || !(m.contains("lock") || m.contains("already attached"))) throw e;
        Thread.sleep(100);
      }
    }
  }
}
