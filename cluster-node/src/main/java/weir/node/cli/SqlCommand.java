package weir.node.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;

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
    SQLException last = null;
    for (int attempt = 0; attempt < 20; attempt++) {
      // Attached under a fixed name, as the loader does: the file's own name could clash with a schema's.
      try (Connection c = DriverManager.getConnection("jdbc:duckdb:");
           java.sql.Statement s = c.createStatement()) {
        s.execute("ATTACH '" + db.toString().replace("'", "''") + "' AS weir_warehouse (READ_ONLY)");
        s.execute("USE weir_warehouse");
        try (ResultSet rs = s.executeQuery(sql)) {
          print(rs);
        }
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
