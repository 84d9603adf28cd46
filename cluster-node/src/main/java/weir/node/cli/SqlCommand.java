package weir.node.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.util.Properties;

/**
 * {@code java -jar weir-node.jar sql "SELECT ..." [db]}: runs one query against a DuckDB warehouse file
 * (default {@code <data-dir>/warehouse.duckdb}), read-only, and prints an aligned table. The node opens the file
 * only while it loads, so this works while the node runs (a query that meets a load is retried).
 */
public final class SqlCommand {
  private SqlCommand() {}

  public static int run(Path db, String sql) {
    if (!Files.exists(db)) {
      System.err.println("No warehouse yet at " + db + " (nothing has been loaded).");
      return 1;
    }
    Properties readOnly = new Properties();
    readOnly.setProperty("duckdb.read_only", "true");
    SQLException last = null;
    for (int attempt = 0; attempt < 20; attempt++) {
      try (Connection c = DriverManager.getConnection("jdbc:duckdb:" + db, readOnly);
           ResultSet rs = c.createStatement().executeQuery(sql)) {
        print(rs);
        return 0;
      } catch (SQLException e) {
        last = e;
        if (!String.valueOf(e.getMessage()).contains("lock")) break;
        try {
          Thread.sleep(250);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          break;
        }
      }
    }
    System.err.println("Query failed: " + (last == null ? "interrupted" : last.getMessage()));
    return 1;
  }

  private static void print(ResultSet rs) throws SQLException {
    ResultSetMetaData md = rs.getMetaData();
    int n = md.getColumnCount();
    String[] header = new String[n];
    for (int i = 0; i < n; i++) header[i] = md.getColumnLabel(i + 1);
    TextTable table = new TextTable(header);
    while (rs.next()) {
      Object[] row = new Object[n];
      for (int i = 0; i < n; i++) row[i] = rs.getString(i + 1);
      table.row(row);
    }
    table.print(System.out);
  }
}
