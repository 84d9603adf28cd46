package weir.node.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code java -jar weir-node.jar sql "SELECT ..." [DB]}: runs one query against a DuckDB warehouse
 * file (default {@code <data-dir>/warehouse.duckdb}), read-only, and prints an aligned table. The
 * node opens the file only while it loads, so this works while the node runs (a query that meets a
 * load is retried).
 */
@Command(
    name = "sql",
    description = {
      "Query a DuckDB warehouse file read-only and print the result as a table.",
      "Works while the node runs: a query that meets a load is retried."
    },
    showEndOfOptionsDelimiterInUsageHelp = true,
    exitCodeListHeading = "%nExit status:%n",
    exitCodeList = {
      WeirNodeCommand.EXIT_OK,
      WeirNodeCommand.EXIT_FAILED,
      WeirNodeCommand.EXIT_USAGE
    })
final class SqlCommand implements Callable<Integer> {
  private static final int ATTEMPTS = 20;
  private static final long RETRY_MILLIS = 250;

  @ParentCommand WeirNodeCommand node;

  @Spec CommandSpec spec;

  @Parameters(
      index = "0",
      paramLabel = "QUERY",
      description = "The SQL query, e.g. \"SELECT count(*) FROM demo.events\".")
  String query;

  @Parameters(
      index = "1",
      arity = "0..1",
      paramLabel = "DB",
      defaultValue = "warehouse.duckdb",
      description =
          "The DuckDB file; a relative path is in the node's data directory (WEIR_DATA_DIR). "
              + "Default: ${DEFAULT-VALUE}.")
  Path db;

  @Override
  public Integer call() throws CommandFailure {
    Path file = node.defaultDataDir().resolve(db);
    if (!Files.exists(file))
      throw CommandFailure.failed("No warehouse yet at " + file + " (nothing has been loaded).");
    SQLException last = null;
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
      // Attached under a fixed name, as the loader does: the file's own name could clash with a
      // schema's.
      try (Connection c = DriverManager.getConnection("jdbc:duckdb:");
          Statement s = c.createStatement()) {
        s.execute(
            "ATTACH '" + file.toString().replace("'", "''") + "' AS weir_warehouse (READ_ONLY)");
        s.execute("USE weir_warehouse");
        try (ResultSet rs = s.executeQuery(query)) {
          table(rs).print(spec.commandLine().getOut());
        }
        return 0;
      } catch (SQLException e) {
        last = e;
        if (!String.valueOf(e.getMessage()).contains("lock")) break;
        try {
          Thread.sleep(RETRY_MILLIS);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw CommandFailure.failed("Query failed: interrupted");
        }
      }
    }
    throw CommandFailure.failed("Query failed: " + last.getMessage());
  }

  private static TextTable table(ResultSet rs) throws SQLException {
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
    return table;
  }
}
