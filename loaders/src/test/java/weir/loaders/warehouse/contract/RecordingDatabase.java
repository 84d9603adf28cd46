package weir.loaders.warehouse.contract;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * A JDBC connection that executes nothing: it records every statement a loader sends (with the
 * parameters of prepared statements) and answers queries from {@code answers} (SQL → rows; no rows
 * when it returns null). For contract tests of warehouses that cannot run here: the recorded SQL is
 * compared with a reviewed, recorded expectation.
 */
public final class RecordingDatabase {
  public final List<String> statements = new ArrayList<>();
  private final Function<String, List<List<Object>>> answers;

  /**
   * The error a statement fails with (recorded with it), or null: how tests make a warehouse refuse
   * rows.
   */
  public volatile Function<String, SQLException> failWith = sql -> null;

  public RecordingDatabase(Function<String, List<List<Object>>> answers) {
    this.answers = answers;
  }

  public Connection connect() {
    return proxy(
        Connection.class,
        (p, m, a) ->
            switch (m.getName()) {
              case "createStatement" -> statement(null);
              case "prepareStatement" -> statement((String) a[0]);
              case "commit" -> record("COMMIT");
              case "rollback" -> record("ROLLBACK");
              case "unwrap" -> throw new SQLFeatureNotSupportedException("recording connection");
              case "isClosed" -> false;
              case "toString" -> "RecordingDatabase";
              default -> null;
            });
  }

  private Object record(String sql) {
    statements.add(sql);
    return null;
  }

  private Statement statement(String prepared) {
    Map<Integer, Object> params = new TreeMap<>();
    List<String> batch = new ArrayList<>();
    Class<? extends Statement> type = prepared == null ? Statement.class : PreparedStatement.class;
    return proxy(
        type,
        (p, m, a) -> {
          String name = m.getName();
          if (name.startsWith("set") && a != null && a.length == 2 && a[0] instanceof Integer i) {
            params.put(i, a[1] instanceof Timestamp ? "<now>" : a[1]);
            return null;
          }
          switch (name) {
            case "execute", "executeUpdate", "executeQuery" -> {
              String sql =
                  a != null && a.length > 0
                      ? (String) a[0]
                      : prepared + (params.isEmpty() ? "" : " -- " + params.values());
              SQLException failure = failWith.apply(sql);
              if (failure != null) {
                statements.add(
                    sql + " -- FAILS (" + failure.getSQLState() + "): " + failure.getMessage());
                throw failure;
              }
              statements.add(sql);
              if (name.equals("executeQuery")) return resultSet(answers.apply(sql));
              return name.equals("execute") ? Boolean.FALSE : (Object) 1;
            }
            case "addBatch" -> {
              batch.add(prepared + " -- " + params.values());
              return null;
            }
            case "executeBatch" -> {
              statements.addAll(batch);
              int[] counts = new int[batch.size()];
              Arrays.fill(counts, 1);
              batch.clear();
              return counts;
            }
            case "close" -> {
              return null;
            }
            default -> {
              return m.getReturnType() == boolean.class
                  ? false
                  : m.getReturnType() == int.class ? 0 : null;
            }
          }
        });
  }

  private static ResultSet resultSet(List<List<Object>> rows) {
    List<List<Object>> data = rows == null ? List.of() : rows;
    int[] at = {-1};
    return proxy(
        ResultSet.class,
        (p, m, a) ->
            switch (m.getName()) {
              case "next" -> ++at[0] < data.size();
              case "getString" -> String.valueOf(data.get(at[0]).get((Integer) a[0] - 1));
              case "getInt" -> ((Number) data.get(at[0]).get((Integer) a[0] - 1)).intValue();
              case "getLong" -> ((Number) data.get(at[0]).get((Integer) a[0] - 1)).longValue();
              case "getBoolean" -> (Boolean) data.get(at[0]).get((Integer) a[0] - 1);
              default -> null;
            });
  }

  @SuppressWarnings("unchecked")
  private static <T> T proxy(Class<T> type, InvocationHandler handler) {
    return (T)
        Proxy.newProxyInstance(
            RecordingDatabase.class.getClassLoader(), new Class<?>[] {type}, handler);
  }
}
