package weir.loaders.warehouse;

import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import weir.loaders.staging.StagedFile;
import weir.protocol.DeadLetters;
import weir.protocol.Json;
import weir.protocol.StagedRow;
import weir.protocol.ColumnType;
import weir.protocol.TableSpec;

/**
 * The load transaction every SQL warehouse shares, with the dialect left to subclasses: open a connection,
 * ensure the schema and {@code _weir_loads}, (for a reload) drop the tables' rows of the period and forget
 * the batches, skip batches already recorded, load each table's files ({@link #loadTable}), record the
 * batch ids, commit — or roll everything back and throw a {@link LoadException} that says whether a retry
 * may succeed ({@link #isTransient}).
 *
 * <p>A table whose load fails with an error about its rows ({@link #isRowError}) never stops the load: the
 * transaction is rolled back, {@link RowIsolation} finds the rows the warehouse cannot store, and the load runs
 * again with those rows as dead letters in {@code _weir_dead_letters} (the warehouse's error as the reason).
 */
public abstract class SqlWarehouseLoader implements WarehouseLoader {
  private static final Logger log = LoggerFactory.getLogger(SqlWarehouseLoader.class);

  @Override
  public final LoadResult load(LoadRequest request) throws LoadException {
    return run(request, null);
  }

  @Override
  public final LoadResult reload(LoadRequest request, String timestampColumn, LocalDate from, LocalDate to)
      throws LoadException {
    return run(request, new Period(timestampColumn, from, to));
  }

  @Override
  public final Map<String, Instant> loadedAt(String schema, java.util.Collection<String> batchIds)
      throws LoadException {
    Map<String, Instant> out = new HashMap<>();
    if (batchIds.isEmpty()) return out;
    String quoted = schema(schema);
    try (Connection c = open(); Statement s = c.createStatement()) {
      s.execute("CREATE SCHEMA IF NOT EXISTS " + quoted);
      s.execute("CREATE TABLE IF NOT EXISTS " + quoted + "._weir_loads (batch_id VARCHAR PRIMARY KEY, "
          + "loaded_at TIMESTAMPTZ NOT NULL, row_count BIGINT NOT NULL)");
      List<String> ids = List.copyOf(batchIds);
      for (int from = 0; from < ids.size(); from += 500) {
        List<String> chunk = ids.subList(from, Math.min(ids.size(), from + 500));
        String marks = chunk.stream().map(b -> "?").collect(Collectors.joining(","));
        try (PreparedStatement ps = c.prepareStatement("SELECT batch_id, loaded_at FROM " + quoted
            + "._weir_loads WHERE batch_id IN (" + marks + ")")) {
          for (int i = 0; i < chunk.size(); i++) ps.setString(i + 1, chunk.get(i));
          try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) out.put(rs.getString(1), rs.getTimestamp(2).toInstant());
          }
        }
      }
      if (!c.getAutoCommit()) c.commit();
      return out;
    } catch (SQLException e) {
      throw new LoadException(describe() + " could not read _weir_loads (" + e.getSQLState() + "): " + e.getMessage(),
          isTransient(e), e);
    } catch (IOException e) {
      throw new LoadException(describe() + " could not read _weir_loads: " + e.getMessage(), true, e);
    }
  }

  /** Opens a connection to the warehouse (auto-commit is turned off by the caller). */
  protected abstract Connection open() throws SQLException, IOException;

  /** Whether a retry of a load that failed with {@code e} may succeed. */
  protected abstract boolean isTransient(SQLException e);

  /**
   * Whether {@code e} is about the rows being loaded (a value out of range, an invalid one), not about the
   * warehouse or the connection: such rows become dead letters. Default: SQLSTATE class 22 (data exception) and
   * 54 (program limit exceeded: a row too large).
   */
  protected boolean isRowError(SQLException e) {
    String state = e.getSQLState();
    return state != null && (state.startsWith("22") || state.startsWith("54"));
  }

  /** The staging store the loader reads its files from (and where scratch files go). */
  protected abstract weir.loaders.staging.StagingStore staging();

  /**
   * The SQLSTATE classes worth retrying in every SQL warehouse: no state (a driver or network failure),
   * connection (08), resources (53), operator intervention and shutdown (57), transaction rollback,
   * serialization and deadlock (40), system errors (58). Credentials (28), permissions and syntax (42) and
   * missing objects are not.
   */
  protected static boolean transientSqlState(String state) {
    return state == null || state.startsWith("08") || state.startsWith("53") || state.startsWith("57")
        || state.startsWith("40") || state.startsWith("58");
  }

  /** The warehouse in messages, e.g. "PostgreSQL" (never credentials). */
  protected abstract String describe();

  /** The quoted schema a logical schema name maps to. */
  protected String schema(String logical) {
    return ident(logical);
  }

  /** Prepares the load's session (temporary tables and the like). */
  protected void prepare(Statement s) throws SQLException {}

  /** {@code CREATE TABLE IF NOT EXISTS} for {@code spec} in {@code schema} (quoted). */
  protected abstract String createTable(String schema, TableSpec spec);

  /** Loads one table's files by the table's mode; returns the rows inserted or merged. */
  protected abstract long loadTable(Connection c, Statement s, String schema, TableSpec spec, List<StagedFile> files)
      throws SQLException, IOException, LoadException;

  /** The SQL that merges JSON object {@code patch} over {@code base} (either may be null). */
  protected abstract String jsonMerge(String base, String patch);

  /**
   * Merge mode, once the dialect has put the load's rows in the temporary table {@code _weir_merge} with a
   * {@code _weir_rank} per key (1 = oldest by {@code orderColumn}): upserts one rank per statement (a
   * statement may update a row only once), each column by its {@link TableSpec.Merge} rule.
   *
   * @param insertTarget the target as written after {@code INSERT INTO} (may carry an alias)
   * @param existing how the existing row is named inside {@code DO UPDATE} (the table or its alias)
   */
  protected final long mergeRounds(Statement s, String insertTarget, String existing, TableSpec spec, String names)
      throws SQLException {
    int rounds = mergeRankCount(s, "_weir_merge");
    String updates = mergeUpdates(spec, existing, "excluded", "now()");
    long total = 0;
    for (int round = 1; round <= rounds; round++) {
      total += s.executeUpdate("INSERT INTO " + insertTarget + " (" + names + ") SELECT " + names
          + " FROM _weir_merge WHERE _weir_rank = " + round + " ON CONFLICT (" + ident(spec.keyColumn())
          + ") DO UPDATE SET " + updates);
    }
    return total;
  }

  /**
   * Merge mode for warehouses with a SQL {@code MERGE} statement (Redshift, Snowflake): the same rounds as
   * {@link #mergeRounds}, from {@code source} (rows with a {@code _weir_rank} per key), one {@code MERGE} per rank.
   */
  protected final long mergeStatementRounds(Statement s, String target, String source, TableSpec spec,
      List<String> columns, String now) throws SQLException {
    int rounds = mergeRankCount(s, source);
    String key = ident(spec.keyColumn());
    String names = columns.stream().map(SqlWarehouseLoader::ident).collect(Collectors.joining(", "));
    String values = columns.stream().map(n -> "s." + ident(n)).collect(Collectors.joining(", "));
    String updates = mergeUpdates(spec, "t", "s", now);
    long total = 0;
    for (int round = 1; round <= rounds; round++) {
      total += s.executeUpdate("MERGE INTO " + target + " AS t USING (SELECT " + names + " FROM " + source
          + " WHERE _weir_rank = " + round + ") AS s ON t." + key + " = s." + key + " WHEN MATCHED THEN UPDATE SET "
          + updates + " WHEN NOT MATCHED THEN INSERT (" + names + ") VALUES (" + values + ")");
    }
    return total;
  }

  private static int mergeRankCount(Statement s, String table) throws SQLException {
    try (ResultSet rs = s.executeQuery("SELECT coalesce(max(_weir_rank), 0) FROM " + table)) {
      rs.next();
      return rs.getInt(1);
    }
  }

  private String mergeUpdates(TableSpec spec, String mine, String theirs, String now) {
    return MergeRules.updates(spec, mine, theirs, now, SqlWarehouseLoader::ident, this::jsonMerge);
  }

  /** How a dialect adds and widens the dynamic columns of {@link #evolveColumns}. */
  protected interface ColumnDdl {
    /** The column type of a type name from {@code information_schema.columns.data_type}. */
    ColumnType columnType(String dataType);

    /** The statement that adds {@code column} of {@code type} to {@code target}. */
    String add(String target, String column, ColumnType type);

    /** The statements that change {@code column} to {@code type}, existing values cast. */
    List<String> widen(String target, String column, ColumnType type);
  }

  /**
   * Adds the dynamic columns a load brings (keys found in its rows, with the kinds of their values) and widens
   * existing ones by the {@link ColumnEvolution} rules; returns the dynamic columns with their types.
   */
  protected final Map<String, ColumnType> evolveColumns(Statement s, String schema, TableSpec spec,
      Map<String, Set<ColumnEvolution.JsonKind>> kinds, ColumnDdl ddl) throws SQLException {
    Map<String, ColumnType> existing = new HashMap<>();
    try (ResultSet rs = s.executeQuery("SELECT column_name, data_type FROM information_schema.columns WHERE "
        + "table_schema = " + literal(unquote(schema)) + " AND table_name = " + literal(spec.name()))) {
      while (rs.next()) existing.put(rs.getString(1), ddl.columnType(rs.getString(2)));
    }
    String target = schema + "." + ident(spec.name());
    Map<String, ColumnType> out = new LinkedHashMap<>();
    for (Map.Entry<String, Set<ColumnEvolution.JsonKind>> e : kinds.entrySet()) {
      String col = e.getKey();
      ColumnType incoming = ColumnEvolution.typeOf(e.getValue());
      ColumnType current = existing.get(col);
      if (current == null) {
        s.execute(ddl.add(target, col, incoming));
        out.put(col, incoming);
        continue;
      }
      ColumnType wanted = ColumnEvolution.widen(current, incoming);
      if (wanted != current) {
        for (String sql : ddl.widen(target, col, wanted)) s.execute(sql);
        log.info("Widened {}.{} from {} to {}", target, col, current, wanted);
      }
      out.put(col, wanted);
    }
    return out;
  }

  /** A timestamp-with-time-zone literal of {@code text} ("2026-11-21 00:00:00+00") in this dialect. */
  protected String timestampLiteral(String text) {
    return "TIMESTAMPTZ " + literal(text);
  }

  /** What a reload replaces: rows whose timestamp column is within [from, to] UTC days (null: unbounded). */
  protected record Period(String column, LocalDate from, LocalDate to) {
    boolean whole() {
      return from == null && to == null;
    }

    String where(java.util.function.UnaryOperator<String> timestamp) {
      List<String> terms = new ArrayList<>();
      if (from != null) terms.add(ident(column) + " >= " + timestamp.apply(from + " 00:00:00+00"));
      if (to != null) terms.add(ident(column) + " < " + timestamp.apply(to.plusDays(1) + " 00:00:00+00"));
      return terms.isEmpty() ? "" : " WHERE " + String.join(" AND ", terms);
    }
  }

  /** A table's load failed: which table, with which files. */
  private static final class TableFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final transient TableSpec spec;
    final transient List<StagedFile> files;

    TableFailure(TableSpec spec, List<StagedFile> files, Exception cause) {
      super(cause.getMessage(), cause, false, false);
      this.spec = spec;
      this.files = files;
    }
  }

  private LoadResult run(LoadRequest request, Period reload) throws LoadException {
    RowIsolation isolation = new RowIsolation(staging(), describe());
    Map<String, RowIsolation.Isolated> isolated = new LinkedHashMap<>();
    try (Connection c = open()) {
      c.setAutoCommit(false);
      while (true) {
        try {
          LoadResult result = load(c, request, reload, isolated, isolation);
          c.commit();
          if (result.rejectedRows() > 0) {
            log.warn("{} refused {} rows of schema {}; they are dead letters in _weir_dead_letters: {}", describe(),
                result.rejectedRows(), request.schema(), isolated.values().stream().flatMap(i -> i.deadLetters()
                    .stream()).findFirst().map(StagedRow::json).map(j -> Json.truncate(j, 300)).orElse(""));
          }
          return result;
        } catch (SQLException | IOException | LoadException | RuntimeException e) {
          rollback(c, e);
          if (!(e instanceof TableFailure f) || isolated.containsKey(f.spec.name())
              || !(f.getCause() instanceof SQLException sql) || !isRowError(sql)) {
            throw e instanceof TableFailure f2 ? unwrap(f2) : e;
          }
          log.info("{} refused rows of {}.{} ({}); finding them", describe(), request.schema(), f.spec.name(),
              sql.getMessage());
          String schema = schema(request.schema());
          isolated.put(f.spec.name(), isolation.isolate(f.spec.name(), f.files, file -> trial(c, schema, f.spec, file),
              t -> t instanceof SQLException x && isRowError(x)));
        }
      }
    } catch (SQLException e) {
      throw new LoadException(describe() + " load failed (" + e.getSQLState() + "): " + e.getMessage(), isTransient(e),
          e);
    } catch (IOException e) {
      throw new LoadException(describe() + " load failed reading or writing a file: " + e.getMessage(), true, e);
    } catch (LoadException | RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new LoadException(describe() + " load failed: " + e.getMessage(), true, e);
    } finally {
      isolated.values().forEach(i -> isolation.discard(i.scratch()));
    }
  }

  private static Exception unwrap(TableFailure f) {
    return f.getCause() instanceof Exception e ? e : f;
  }

  private static void rollback(Connection c, Exception e) {
    try {
      c.rollback();
    } catch (SQLException rollback) {
      e.addSuppressed(rollback);
    }
  }

  /** Loads one file into the table, then rolls back: throws what the warehouse says of its rows. */
  private void trial(Connection c, String schema, TableSpec spec, StagedFile file) throws Exception {
    try (Statement s = c.createStatement()) {
      s.execute("CREATE SCHEMA IF NOT EXISTS " + schema);
      prepare(s);
      s.execute(createTable(schema, spec));
      loadTable(c, s, schema, spec, List.of(file));
    } finally {
      c.rollback();
    }
  }

  private LoadResult load(Connection c, LoadRequest request, Period reload, Map<String, RowIsolation.Isolated> isolated,
      RowIsolation isolation) throws SQLException, IOException, LoadException {
    String schema = schema(request.schema());
    try (Statement s = c.createStatement()) {
      s.execute("CREATE SCHEMA IF NOT EXISTS " + schema);
      s.execute("CREATE TABLE IF NOT EXISTS " + schema + "._weir_loads (batch_id VARCHAR PRIMARY KEY, "
          + "loaded_at TIMESTAMPTZ NOT NULL, row_count BIGINT NOT NULL)");
      prepare(s);
      if (reload != null) {
        for (TableSpec spec : request.tables().values()) {
          s.execute(createTable(schema, spec));
          boolean hasColumn = spec.columns().stream().anyMatch(col -> col.name().equals(reload.column()));
          if (hasColumn) {
            s.execute("DELETE FROM " + schema + "." + ident(spec.name()) + reload.where(this::timestampLiteral));
          } else if (reload.whole()) {
            s.execute("DELETE FROM " + schema + "." + ident(spec.name()));
          }
          // A table without the period column (users: merged from identifies) keeps its rows in a period
          // reload; merging the period's files again is idempotent.
        }
        forget(c, schema, request.batches());
      }
      Set<String> already = alreadyLoaded(c, schema, request.batches());
      List<StagedBatchFiles> todo = request.batches().stream().filter(b -> !already.contains(b.batchId())).toList();
      Map<String, List<StagedFile>> filesByTable = new LinkedHashMap<>();
      for (StagedBatchFiles b : todo) {
        for (StagedFile f : b.files()) filesByTable.computeIfAbsent(f.table(), t -> new ArrayList<>()).add(f);
      }
      Map<String, Long> inserted = new LinkedHashMap<>();
      List<StagedRow> deadLetters = new ArrayList<>();
      for (Map.Entry<String, List<StagedFile>> e : filesByTable.entrySet()) {
        TableSpec spec = request.tables().get(e.getKey());
        if (spec == null) throw new LoadException("No table spec for table " + e.getKey(), false, null);
        RowIsolation.Isolated rows = isolated.get(spec.name());
        List<StagedFile> files = rows == null ? e.getValue() : rows.files();
        if (rows != null) deadLetters.addAll(rows.deadLetters());
        s.execute(createTable(schema, spec));
        if (files.isEmpty()) continue;
        try {
          inserted.put(spec.name(), loadTable(c, s, schema, spec, files));
        } catch (SQLException | IOException ex) {
          throw new TableFailure(spec, e.getValue(), ex);
        }
      }
      if (!deadLetters.isEmpty()) {
        TableSpec spec = DeadLetters.tableSpec();
        List<String> scratch = new ArrayList<>();
        StagedFile file = isolation.write(spec.name(), deadLetters.stream().map(StagedRow::json).toList(), scratch);
        try {
          s.execute(createTable(schema, spec));
          inserted.merge(spec.name(), loadTable(c, s, schema, spec, List.of(file)), Long::sum);
        } finally {
          isolation.discard(scratch);
        }
      }
      record(c, schema, todo);
      List<String> loaded = todo.stream().map(StagedBatchFiles::batchId).toList();
      log.debug("Loaded {} batches into {} {} ({} skipped): {}", loaded.size(), describe(), schema, already.size(),
          inserted);
      return new LoadResult(loaded, List.copyOf(already), Map.copyOf(inserted), deadLetters.size());
    }
  }

  private static Set<String> alreadyLoaded(Connection c, String schema, List<StagedBatchFiles> batches)
      throws SQLException {
    Set<String> out = new HashSet<>();
    if (batches.isEmpty()) return out;
    String marks = batches.stream().map(b -> "?").collect(Collectors.joining(","));
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT batch_id FROM " + schema + "._weir_loads WHERE batch_id IN (" + marks + ")")) {
      for (int i = 0; i < batches.size(); i++) ps.setString(i + 1, batches.get(i).batchId());
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) out.add(rs.getString(1));
      }
    }
    return out;
  }

  private static void forget(Connection c, String schema, List<StagedBatchFiles> batches) throws SQLException {
    if (batches.isEmpty()) return;
    try (PreparedStatement ps = c.prepareStatement("DELETE FROM " + schema + "._weir_loads WHERE batch_id = ?")) {
      for (StagedBatchFiles b : batches) {
        ps.setString(1, b.batchId());
        ps.addBatch();
      }
      ps.executeBatch();
    }
  }

  private static void record(Connection c, String schema, List<StagedBatchFiles> batches) throws SQLException {
    if (batches.isEmpty()) return;
    try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + schema + "._weir_loads VALUES (?, ?, ?)")) {
      Timestamp now = Timestamp.from(Instant.now());
      for (StagedBatchFiles b : batches) {
        ps.setString(1, b.batchId());
        ps.setTimestamp(2, now);
        ps.setLong(3, b.files().stream().mapToLong(StagedFile::rows).sum());
        ps.addBatch();
      }
      ps.executeBatch();
    }
  }

  /** A double-quoted SQL identifier. */
  public static String ident(String name) {
    return "\"" + name.replace("\"", "\"\"") + "\"";
  }

  /** The name inside a quoted identifier. */
  protected static String unquote(String quoted) {
    return quoted.substring(1, quoted.length() - 1).replace("\"\"", "\"");
  }

  /** A single-quoted SQL string literal. */
  protected static String literal(String s) {
    return "'" + s.replace("'", "''") + "'";
  }
}
