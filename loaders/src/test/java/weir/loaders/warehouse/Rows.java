package weir.loaders.warehouse;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/** Query results as "a|b|c" strings (null as "null"), for assertions. */
public final class Rows {
  private Rows() {}

  public static List<String> of(Connection c, String sql) throws SQLException {
    List<String> out = new ArrayList<>();
    try (ResultSet rs = c.createStatement().executeQuery(sql)) {
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
