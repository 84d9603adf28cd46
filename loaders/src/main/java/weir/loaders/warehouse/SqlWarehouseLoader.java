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
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import weir.loaders.staging.StagedFile;
import weir.loaders.staging.StagingStore;
import weir.protocol.ColumnType;
import weir.protocol.DeadLetters;
import weir.protocol.Json;
import weir.protocol.StagedRow;
import weir.protocol.TableSpec;

/**
 * The load transaction every SQL warehouse shares, with the dialect left to subclasses: open a
 * connection, ensure the schema and {@code _weir_loads}, (for a reload) drop the tables' rows of
 * the period and forget the batches, (for a replace) stop if every batch is recorded, else run its
 * deletions and forget the batches, skip batches already recorded, load each table's files ({@link
 * #loadTable}), record the batch ids, commit — or roll everything back and throw a {@link
 * LoadException} that says whether a retry may succeed ({@link #isTransient}).
 *
 * <p>A table whose load fails with an error about its rows ({@link #isRowError}) never stops the
 * load: the transaction is rolled back, {@link RowIsolation} finds the rows the warehouse cannot
 * store, and the load runs again with those rows as dead letters in {@code _weir_dead_letters} (the
 * warehouse's error as the reason).
 */
public abstract class SqlWarehouseLoader implements WarehouseLoader {
  private static final Logger log = LoggerFactory.getLogger(SqlWarehouseLoader.class);

  private final String schemaPrefix;

  /**
   * @param schemaPrefix prepended to every connection's schema name (null or empty: none)
   */
  protected SqlWarehouseLoader(String schemaPrefix) {
    this.schemaPrefix = schemaPrefix == null ? "" : schemaPrefix;
  }

  @Override
  public final LoadResult load(LoadRequest request) throws LoadException {
    return run(request, Plan.LOAD);
  }

  @Override
  public final LoadResult reload(
      LoadRequest request, String timestampColumn, LocalDate from, LocalDate to)
      throws LoadException {
    return run(request, new Plan(new Period(timestampColumn, from, to), null, true));
  }

  @Override
  public final LoadResult replace(LoadRequest request, List<Deletion> deletions, boolean reload)
      throws LoadException {
    return run(request, new Plan(null, List.copyOf(deletions), reload));
  }

  @Override
  public final Map<String, Instant> loadedAt(String schema, Collection<String> batchIds)
      throws LoadException {
    Map<String, Instant> out = new HashMap<>();
    if (batchIds.isEmpty()) return out;
    String quoted = schema(schema);
    try (Connection c = open();
        Statement s = c.createStatement()) {
      s.execute("CREATE SCHEMA IF NOT EXISTS " + quoted);
      s.execute(
          "CREATE TABLE IF NOT EXISTS "
              + quoted
              + "._weir_loads (batch_id VARCHAR PRIMARY KEY, "
              + "loaded_at TIMESTAMPTZ NOT NULL, row_count BIGINT NOT NULL)");
      List<String> ids = List.copyOf(batchIds);
      for (int from = 0; from < ids.size(); from += 500) {
        List<String> chunk = ids.subList(from, Math.min(ids.size(), from + 500));
        String marks = chunk.stream().map(b -> "?").collect(Collectors.joining(","));
        try (PreparedStatement ps =
            c.prepareStatement(
                "SELECT batch_id, loaded_at FROM "
                    + quoted
                    + "._weir_loads WHERE batch_id IN ("
                    + marks
                    + ")")) {
          for (int i = 0; i < chunk.size(); i++) ps.setString(i + 1, chunk.get(i));
          try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) out.put(rs.getString(1), rs.getTimestamp(2).toInstant());
          }
        }
      }
      if (!c.getAutoCommit()) c.commit();
      return out;
    } catch (SQLException e) {
      throw new LoadException(
          describe() + " could not read _weir_loads (" + e.getSQLState() + "): " + e.getMessage(),
          isTransient(e),
          e);
    } catch (IOException e) {
      throw new LoadException(
          describe() + " could not read _weir_loads: " + e.getMessage(), true, e);
    }
  }

  /**
   * Whether a DDL statement commits the open transaction (Snowflake). Then {@link #replace} stages
   * every table first (its temporary tables, renamed apart), swaps its replaced tables, and only
   * then runs the deletions, the appends and the watermark, DML alone in one transaction.
   */
  protected boolean ddlCommits() {
    return false;
  }

  /** Renames a temporary table (a prepared source kept apart for a later statement). */
  protected String renameTemporary(String from, String to) {
    return "ALTER TABLE " + from + " RENAME TO " + to;
  }

  /** Opens a connection to the warehouse (auto-commit is turned off by the caller). */
  protected abstract Connection open() throws SQLException, IOException;

  /** Whether a retry of a load that failed with {@code e} may succeed. */
  protected abstract boolean isTransient(SQLException e);

  /**
   * Whether {@code e} is about the rows being loaded (a value out of range, an invalid one), not
   * about the warehouse or the connection: such rows become dead letters. Default: SQLSTATE class
   * 22 (data exception) and 54 (program limit exceeded: a row too large).
   */
  protected boolean isRowError(SQLException e) {
    String state = e.getSQLState();
    return state != null && (state.startsWith("22") || state.startsWith("54"));
  }

  /** The staging store the loader reads its files from (and where scratch files go). */
  protected abstract StagingStore staging();

  /**
   * The SQLSTATE classes worth retrying in every SQL warehouse: no state (a driver or network
   * failure), connection (08), resources (53), operator intervention and shutdown (57), transaction
   * rollback, serialization and deadlock (40), system errors (58). Credentials (28), permissions
   * and syntax (42) and missing objects are not.
   */
  protected static boolean transientSqlState(String state) {
    return state == null
        || state.startsWith("08")
        || state.startsWith("53")
        || state.startsWith("57")
        || state.startsWith("40")
        || state.startsWith("58");
  }

  /** The warehouse in messages, e.g. "PostgreSQL" (never credentials). */
  protected abstract String describe();

  /**
   * The quoted schema a logical schema name maps to: the destination's {@code schema_prefix} and
   * the name.
   */
  protected final String schema(String logical) {
    return ident(schemaPrefix + logical);
  }

  /** Prepares the load's session (temporary tables and the like). */
  protected void prepare(Statement s) throws SQLException {}

  /** {@code CREATE TABLE IF NOT EXISTS} for {@code spec} in {@code schema} (quoted). */
  protected abstract String createTable(String schema, TableSpec spec);

  /** The SQL that merges JSON object {@code patch} over {@code base} (either may be null). */
  protected abstract String jsonMerge(String base, String patch);

  // The load of one table: the template below, and the dialect's steps it calls.

  /**
   * The temporary table of a load's rows with their typed columns and {@code _weir_rank} (1, 2, ...
   * per key in the order of the table's {@code orderColumn}), made by {@link #rankRows}.
   */
  protected static final String SOURCE = "_weir_src";

  /**
   * Loads one table's files, the same way in every SQL warehouse: the dialect reads the files
   * ({@link #readFiles}), the dynamic columns they bring are added or widened ({@link
   * #dynamicKeys}, {@link #evolveColumns}), the dialect puts the rows, typed, in a ranked source
   * ({@link #rankRows}); then by the table's mode: append the first row of each new key; drop the
   * UTC days the load covers and append (period); fill a new table and swap it in (replace); or
   * upsert rank by rank, each column by its merge rule (merge). Returns the rows inserted or
   * merged.
   */
  protected final long loadTable(
      Connection c, Statement s, String schema, TableSpec spec, List<StagedFile> files)
      throws SQLException, IOException {
    return apply(s, schema, prepare(c, s, schema, spec, files));
  }

  /** A table's rows ready to go in: the relation they are selected from, and their columns. */
  private record Prepared(TableSpec spec, String source, List<String> names) {}

  /** Steps 1 to 3 of {@link #loadTable}: the files read, columns evolved, rows ranked. */
  private Prepared prepare(
      Connection c, Statement s, String schema, TableSpec spec, List<StagedFile> files)
      throws SQLException, IOException {
    readFiles(c, s, spec, files);
    Map<String, ColumnType> columns = new LinkedHashMap<>();
    for (TableSpec.Column col : spec.columns()) columns.put(col.name(), col.type());
    if (spec.dynamicColumns()) {
      columns.putAll(
          evolveColumns(
              s, schema, spec, dynamicKeys(s, spec, files, ColumnEvolution.declared(spec))));
    }
    List<String> names = List.copyOf(columns.keySet());
    return new Prepared(spec, rankRows(s, spec, columns, files), names);
  }

  /** The last step of {@link #loadTable}: the prepared rows into the table by its mode. */
  private long apply(Statement s, String schema, Prepared p) throws SQLException {
    TableSpec spec = p.spec();
    String target = schema + "." + ident(spec.name());
    String source = p.source();
    List<String> names = p.names();
    switch (spec.mode()) {
      case APPEND -> {
        return s.executeUpdate(appendNew(target, source, spec, names));
      }
      case PERIOD -> {
        String day = utcDate(ident(spec.orderColumn()));
        s.execute(
            "DELETE FROM "
                + target
                + " WHERE "
                + day
                + " IN (SELECT DISTINCT "
                + day
                + " FROM "
                + source
                + ")");
        return s.executeUpdate(appendNew(target, source, spec, names));
      }
      case REPLACE -> {
        // Build the new table next to the old one (same columns, so none is ever dropped), then
        // swap.
        String freshName = spec.name() + "__weir_new";
        String fresh = schema + "." + ident(freshName);
        s.execute("DROP TABLE IF EXISTS " + fresh);
        for (String sql : createTableLike(fresh, target, spec)) s.execute(sql);
        long n = s.executeUpdate(insertFirstOfEachKey(fresh, source, spec, names));
        for (String sql : swap(schema, freshName, spec.name())) s.execute(sql);
        return n;
      }
      case MERGE -> {
        if (spec.hasOps()) {
          s.execute(dropOrphanChanges(target, source, spec));
          // The table's rows are all older than the load's: a truncate in it deletes them first,
          // so that a later change of the load merges into a deleted row (as it would one load
          // later).
          applyTruncates(s, target, source, spec, false);
        }
        int rounds;
        try (ResultSet rs = s.executeQuery("SELECT coalesce(max(_weir_rank), 0) FROM " + source)) {
          rs.next();
          rounds = rs.getInt(1);
        }
        long total = 0;
        for (int round = 1; round <= rounds; round++)
          total += s.executeUpdate(mergeRound(target, source, spec, names, round));
        if (spec.hasOps()) applyTruncates(s, target, source, spec, true);
        return total;
      }
      default -> throw new IllegalStateException("unknown mode " + spec.mode());
    }
  }

  /**
   * Merge with ops: drops the {@code update} and {@code delete} rows of keys the table does not
   * have and no earlier {@code upsert} of the load brings (a change of a missing row is ignored).
   */
  private String dropOrphanChanges(String target, String source, TableSpec spec) {
    String key = ident(spec.keyColumn());
    String op = ident(TableSpec.OP);
    return "DELETE FROM "
        + source
        + " WHERE "
        + op
        + " IN ('update', 'delete') AND NOT EXISTS (SELECT 1 FROM "
        + target
        + " AS t WHERE t."
        + key
        + " = "
        + source
        + "."
        + key
        + ") AND NOT EXISTS (SELECT 1 FROM "
        + source
        + " AS u WHERE u."
        + key
        + " = "
        + source
        + "."
        + key
        + " AND u."
        + op
        + " = 'upsert' AND u._weir_rank < "
        + source
        + "._weir_rank)";
  }

  /**
   * Merge with ops: the latest {@code truncate} marker of the load soft-deletes every live row
   * older than itself (by the order column), before the rounds (the table's rows) and after them
   * (the load's rows older than the marker); after them the markers, merged in as rows of their own
   * key, are removed. Rows of this load newer than the marker stay live.
   */
  private void applyTruncates(
      Statement s, String target, String source, TableSpec spec, boolean removeMarkers)
      throws SQLException {
    String op = ident(TableSpec.OP);
    String order = ident(spec.orderColumn());
    String deleted = ident(TableSpec.SOFT_DELETE);
    try (ResultSet rs =
        s.executeQuery("SELECT count(*) FROM " + source + " WHERE " + op + " = 'truncate'")) {
      rs.next();
      if (rs.getLong(1) == 0) return;
    }
    String at = "(SELECT max(" + order + ") FROM " + source + " WHERE " + op + " = 'truncate')";
    s.executeUpdate(
        "UPDATE "
            + target
            + " SET "
            + deleted
            + " = true, "
            + order
            + " = "
            + at
            + " WHERE "
            + order
            + " < "
            + at
            + " AND NOT coalesce("
            + deleted
            + ", false) AND "
            + op
            + " <> 'truncate'");
    if (removeMarkers) s.executeUpdate("DELETE FROM " + target + " WHERE " + op + " = 'truncate'");
  }

  /**
   * Step 1: makes the files' rows readable by SQL (a raw JSON table); nothing when {@link
   * #rankRows} copies them.
   */
  protected void readFiles(Connection c, Statement s, TableSpec spec, List<StagedFile> files)
      throws SQLException, IOException {}

  /**
   * Step 2, for tables with dynamic columns: the top-level keys of the rows beyond {@code
   * declared}, with the kinds of their values. Default: read from the staged files.
   */
  protected Map<String, Set<ColumnEvolution.JsonKind>> dynamicKeys(
      Statement s, TableSpec spec, List<StagedFile> files, Set<String> declared)
      throws SQLException, IOException {
    return ColumnEvolution.scanKeys(staging(), files, declared);
  }

  /**
   * Step 3: the rows with their {@code columns} (name → type), rows without a key left out, as a
   * relation to select from — normally {@link #SOURCE}, ranked per key; a dialect whose {@link
   * #appendNew} needs no rank may give a subquery instead, except in merge mode.
   */
  protected abstract String rankRows(
      Statement s, TableSpec spec, Map<String, ColumnType> columns, List<StagedFile> files)
      throws SQLException, IOException;

  /**
   * Append and period: inserts the first row of each key not in {@code target} yet. Default: rank 1
   * where no row of the key exists.
   */
  protected String appendNew(String target, String source, TableSpec spec, List<String> names) {
    String list = list(names);
    String key = ident(spec.keyColumn());
    return "INSERT INTO "
        + target
        + " ("
        + list
        + ") SELECT "
        + list
        + " FROM "
        + source
        + " AS s WHERE s._weir_rank = 1"
        + " AND NOT EXISTS (SELECT 1 FROM "
        + target
        + " AS t WHERE t."
        + key
        + " = s."
        + key
        + ")";
  }

  /** Replace: inserts the first row of each key into the new, empty table. */
  protected String insertFirstOfEachKey(
      String fresh, String source, TableSpec spec, List<String> names) {
    String list = list(names);
    return "INSERT INTO "
        + fresh
        + " ("
        + list
        + ") SELECT "
        + list
        + " FROM "
        + source
        + " WHERE _weir_rank = 1";
  }

  /** The UTC date of a timestamp expression. */
  protected abstract String utcDate(String expr);

  /**
   * Replace: the statements that create {@code fresh}, empty, with the columns (and defaults) of
   * {@code target}.
   */
  protected abstract List<String> createTableLike(String fresh, String target, TableSpec spec);

  /**
   * Replace: the statements that make {@code fresh} (same schema) the table {@code name}, dropping
   * the old one.
   */
  protected List<String> swap(String schema, String fresh, String name) {
    return List.of(
        "DROP TABLE " + schema + "." + ident(name),
        "ALTER TABLE " + schema + "." + ident(fresh) + " RENAME TO " + ident(name));
  }

  /**
   * Merge: the statement that upserts the rows of rank {@code round} (a statement may update a row
   * only once), each column by its {@link TableSpec.Merge} rule ({@link #mergeUpdates}). Default:
   * {@code INSERT ... ON CONFLICT DO UPDATE}, the existing row named by the table.
   */
  protected String mergeRound(
      String target, String source, TableSpec spec, List<String> names, int round) {
    String list = list(names);
    return "INSERT INTO "
        + target
        + " ("
        + list
        + ") SELECT "
        + list
        + " FROM "
        + source
        + " WHERE _weir_rank = "
        + round
        + " ON CONFLICT ("
        + ident(spec.keyColumn())
        + ") DO UPDATE SET "
        + mergeUpdates(spec, names, target, "excluded", now());
  }

  /**
   * Merge as one standard {@code MERGE} statement for rank {@code round}: matched rows updated by
   * their merge rules, new keys inserted. For dialects without {@code ON CONFLICT}, or tables
   * without a unique key.
   */
  protected final String mergeInto(
      String target, String source, TableSpec spec, List<String> names, int round) {
    String list = list(names);
    String key = ident(spec.keyColumn());
    String values = names.stream().map(n -> "s." + ident(n)).collect(Collectors.joining(", "));
    return "MERGE INTO "
        + target
        + " AS t USING (SELECT "
        + list
        + " FROM "
        + source
        + " WHERE _weir_rank = "
        + round
        + ") AS s ON t."
        + key
        + " = s."
        + key
        + " WHEN MATCHED THEN UPDATE SET "
        + mergeUpdates(spec, names, "t", "s", now())
        + " WHEN NOT MATCHED THEN INSERT ("
        + list
        + ") VALUES ("
        + values
        + ")";
  }

  /**
   * The SET list of a merge: each column of {@code spec} by its rule, {@code mine} the existing
   * row.
   */
  protected final String mergeUpdates(
      TableSpec spec, List<String> names, String mine, String theirs, String now) {
    return MergeRules.updates(
        spec, names, mine, theirs, now, SqlWarehouseLoader::ident, this::jsonMerge);
  }

  /** The current time in this dialect. */
  protected String now() {
    return "now()";
  }

  /** The SQL type of a column type. */
  protected abstract String sqlType(ColumnType type);

  /** The column type of a type name from {@code information_schema.columns.data_type}. */
  protected abstract ColumnType columnType(String dataType);

  /** The statement that adds a dynamic {@code column} of {@code type} to {@code target}. */
  protected String addColumn(String target, String column, ColumnType type) {
    return "ALTER TABLE " + target + " ADD COLUMN " + ident(column) + " " + sqlType(type);
  }

  /**
   * The statements that change {@code column} to {@code type}, existing values cast. Default: a new
   * column of the wide type, filled, swapped in by rename (for warehouses that cannot change a
   * column's type in place).
   */
  protected List<String> widenColumn(String target, String column, ColumnType type) {
    String tmp = ident(column + "__weir_wide");
    return List.of(
        "ALTER TABLE " + target + " ADD COLUMN " + tmp + " " + sqlType(type),
        "UPDATE "
            + target
            + " SET "
            + tmp
            + " = CAST("
            + ident(column)
            + " AS "
            + sqlType(type)
            + ")",
        "ALTER TABLE " + target + " DROP COLUMN " + ident(column),
        "ALTER TABLE " + target + " RENAME COLUMN " + tmp + " TO " + ident(column));
  }

  /**
   * The column evolution of tables with dynamic columns, one mechanism for declared and dynamic
   * columns: a column the table does not have yet is added (a declared one with its declared type,
   * a dynamic one with the type of the kinds of its values); an existing column whose type cannot
   * take the incoming values is widened by the {@link ColumnEvolution} rules. So a table created by
   * an earlier load gains the columns a later spec declares (a Data Sync file with a new field).
   * Returns the columns with the types they are loaded as (declared ones may have been widened).
   */
  private Map<String, ColumnType> evolveColumns(
      Statement s, String schema, TableSpec spec, Map<String, Set<ColumnEvolution.JsonKind>> kinds)
      throws SQLException {
    Map<String, ColumnType> existing = new HashMap<>();
    try (ResultSet rs =
        s.executeQuery(
            "SELECT column_name, data_type FROM information_schema.columns WHERE "
                + "table_schema = "
                + literal(unquote(schema))
                + " AND table_name = "
                + literal(spec.name()))) {
      while (rs.next()) existing.put(rs.getString(1), columnType(rs.getString(2)));
    }
    String target = schema + "." + ident(spec.name());
    Map<String, ColumnType> incomingTypes = new LinkedHashMap<>();
    for (TableSpec.Column col : spec.columns()) incomingTypes.put(col.name(), col.type());
    kinds.forEach((col, seen) -> incomingTypes.put(col, ColumnEvolution.typeOf(seen)));
    Map<String, ColumnType> out = new LinkedHashMap<>();
    for (Map.Entry<String, ColumnType> e : incomingTypes.entrySet()) {
      String col = e.getKey();
      ColumnType incoming = e.getValue();
      ColumnType current = existing.get(col);
      if (current == null) {
        s.execute(addColumn(target, col, incoming));
        out.put(col, incoming);
        continue;
      }
      // A declared column that exists keeps its type unless it is a number or boolean whose values
      // no longer fit (a Data Sync field whose type changed): a timestamp or JSON column is never
      // rewritten because a dialect names its type differently from what it was declared as.
      boolean declared = spec.columns().stream().anyMatch(c -> c.name().equals(col));
      if (declared
          && current != ColumnType.LONG
          && current != ColumnType.DOUBLE
          && current != ColumnType.BOOLEAN) {
        out.put(col, current == ColumnType.STRING ? current : incoming);
        continue;
      }
      ColumnType wanted = ColumnEvolution.widen(current, incoming);
      if (wanted != current) {
        for (String sql : widenColumn(target, col, wanted)) s.execute(sql);
        log.info("Widened {}.{} from {} to {}", target, col, current, wanted);
      }
      out.put(col, wanted);
    }
    return out;
  }

  /** Quoted column names, comma-separated. */
  protected static String list(List<String> names) {
    return names.stream().map(SqlWarehouseLoader::ident).collect(Collectors.joining(", "));
  }

  /**
   * A timestamp-with-time-zone literal of {@code text} ("2026-11-21 00:00:00+00") in this dialect.
   */
  protected String timestampLiteral(String text) {
    return "TIMESTAMPTZ " + literal(text);
  }

  /**
   * What a reload replaces: rows whose timestamp column is within [from, to] UTC days (null:
   * unbounded).
   */
  protected record Period(String column, LocalDate from, LocalDate to) {
    boolean whole() {
      return from == null && to == null;
    }

    String where(UnaryOperator<String> timestamp) {
      List<String> terms = new ArrayList<>();
      if (from != null) terms.add(ident(column) + " >= " + timestamp.apply(from + " 00:00:00+00"));
      if (to != null)
        terms.add(ident(column) + " < " + timestamp.apply(to.plusDays(1) + " 00:00:00+00"));
      return terms.isEmpty() ? "" : " WHERE " + String.join(" AND ", terms);
    }
  }

  /**
   * What a load does besides loading: nothing ({@link #LOAD}); a reload drops {@code period}'s
   * rows; a replace runs {@code deletions} unless every batch is recorded and {@code force} is
   * false. Reloads and replaces forget the batches first, so they are all loaded.
   */
  private record Plan(Period period, List<Deletion> deletions, boolean force) {
    static final Plan LOAD = new Plan(null, null, false);
  }

  /** A replace's deletions, and its batches forgotten (they are recorded again when loaded). */
  private void deleteAndForget(
      Connection c, Statement s, String schema, LoadRequest request, Plan plan)
      throws SQLException {
    for (Deletion d : plan.deletions())
      s.execute("DELETE FROM " + schema + "." + ident(d.table()) + where(d));
    forget(c, schema, request.batches());
  }

  /**
   * A prepared source moved to a name of its own ({@code _weir_src_<n>}), so that the next table's
   * preparation does not replace it.
   */
  private Prepared keepApart(Statement s, Prepared p, int n) throws SQLException {
    if (!p.source().equals(SOURCE)) return p;
    String apart = SOURCE + "_" + n;
    s.execute("DROP TABLE IF EXISTS " + apart);
    s.execute(renameTemporary(SOURCE, apart));
    return new Prepared(p.spec(), apart, p.names());
  }

  /** The WHERE clause of a deletion (empty for all rows). */
  private String where(Deletion d) {
    List<String> terms = new ArrayList<>();
    d.where()
        .forEach(
            (column, value) ->
                terms.add(
                    ident(column)
                        + " = "
                        + (value instanceof LocalDate day
                            ? timestampLiteral(day + " 00:00:00+00")
                            : literal((String) value))));
    return terms.isEmpty() ? "" : " WHERE " + String.join(" AND ", terms);
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

  private LoadResult run(LoadRequest request, Plan plan) throws LoadException {
    RowIsolation isolation = new RowIsolation(staging(), describe());
    Map<String, RowIsolation.Isolated> isolated = new LinkedHashMap<>();
    try (Connection c = open()) {
      c.setAutoCommit(false);
      while (true) {
        try {
          LoadResult result = load(c, request, plan, isolated, isolation);
          c.commit();
          if (result.rejectedRows() > 0) {
            log.warn(
                "{} refused {} rows of schema {}; they are dead letters in _weir_dead_letters: {}",
                describe(),
                result.rejectedRows(),
                request.schema(),
                isolated.values().stream()
                    .flatMap(i -> i.deadLetters().stream())
                    .findFirst()
                    .map(StagedRow::json)
                    .map(j -> Json.truncate(j, 300))
                    .orElse(""));
          }
          return result;
        } catch (SQLException | IOException | LoadException | RuntimeException e) {
          rollback(c, e);
          if (!(e instanceof TableFailure f)
              || isolated.containsKey(f.spec.name())
              || !(f.getCause() instanceof SQLException sql)
              || !isRowError(sql)) {
            throw e instanceof TableFailure f2 ? unwrap(f2) : e;
          }
          log.info(
              "{} refused rows of {}.{} ({}); finding them",
              describe(),
              request.schema(),
              f.spec.name(),
              sql.getMessage());
          String schema = schema(request.schema());
          isolated.put(
              f.spec.name(),
              isolation.isolate(
                  f.spec.name(),
                  f.files,
                  file -> trial(c, schema, f.spec, file),
                  t -> t instanceof SQLException x && isRowError(x)));
        }
      }
    } catch (SQLException e) {
      throw new LoadException(
          describe() + " load failed (" + e.getSQLState() + "): " + e.getMessage(),
          isTransient(e),
          e);
    } catch (IOException e) {
      throw new LoadException(
          describe() + " load failed reading or writing a file: " + e.getMessage(), true, e);
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
  private void trial(Connection c, String schema, TableSpec spec, StagedFile file)
      throws Exception {
    try (Statement s = c.createStatement()) {
      s.execute("CREATE SCHEMA IF NOT EXISTS " + schema);
      prepare(s);
      s.execute(createTable(schema, spec));
      loadTable(c, s, schema, spec, List.of(file));
    } finally {
      c.rollback();
    }
  }

  private LoadResult load(
      Connection c,
      LoadRequest request,
      Plan plan,
      Map<String, RowIsolation.Isolated> isolated,
      RowIsolation isolation)
      throws SQLException, IOException, LoadException {
    String schema = schema(request.schema());
    try (Statement s = c.createStatement()) {
      s.execute("CREATE SCHEMA IF NOT EXISTS " + schema);
      s.execute(
          "CREATE TABLE IF NOT EXISTS "
              + schema
              + "._weir_loads (batch_id VARCHAR PRIMARY KEY, "
              + "loaded_at TIMESTAMPTZ NOT NULL, row_count BIGINT NOT NULL)");
      prepare(s);
      Period reload = plan.period();
      if (reload != null) {
        for (TableSpec spec : request.tables().values()) {
          s.execute(createTable(schema, spec));
          boolean hasColumn =
              spec.columns().stream().anyMatch(col -> col.name().equals(reload.column()));
          if (hasColumn) {
            s.execute(
                "DELETE FROM "
                    + schema
                    + "."
                    + ident(spec.name())
                    + reload.where(this::timestampLiteral));
          } else if (reload.whole()) {
            s.execute("DELETE FROM " + schema + "." + ident(spec.name()));
          }
          // A table without the period column (users: merged from identifies) keeps its rows in a
          // period
          // reload; merging the period's files again is idempotent.
        }
        forget(c, schema, request.batches());
      }
      if (plan.deletions() != null) {
        List<String> ids = request.batches().stream().map(LoadBatch::batchId).toList();
        if (!plan.force()
            && !ids.isEmpty()
            && alreadyLoaded(c, schema, request.batches()).containsAll(ids)) {
          return new LoadResult(List.of(), ids, Map.of());
        }
        // Tables and their declared columns first: DuckDB cannot commit a transaction that alters
        // a table after deleting from it.
        // In name order: the same export sends the same statements (LoadRequest's map has none).
        for (TableSpec spec : new java.util.TreeMap<>(request.tables()).values()) {
          s.execute(createTable(schema, spec));
          if (spec.dynamicColumns()) evolveColumns(s, schema, spec, Map.of());
        }
        for (Deletion d : plan.deletions()) {
          if (!request.tables().containsKey(d.table()))
            throw new LoadException("No table spec for table " + d.table(), false, null);
        }
        if (!ddlCommits()) {
          deleteAndForget(c, s, schema, request, plan);
        }
      }
      boolean stageFirst = plan.deletions() != null && ddlCommits();
      // A replace loads every batch (its deletions remove what recorded batches loaded before).
      Set<String> already =
          plan.deletions() != null ? Set.of() : alreadyLoaded(c, schema, request.batches());
      List<LoadBatch> todo =
          request.batches().stream().filter(b -> !already.contains(b.batchId())).toList();
      Map<String, List<StagedFile>> filesByTable = new LinkedHashMap<>();
      for (LoadBatch b : todo) {
        for (StagedFile f : b.files())
          filesByTable.computeIfAbsent(f.table(), t -> new ArrayList<>()).add(f);
      }
      Map<String, Long> inserted = new LinkedHashMap<>();
      List<StagedRow> deadLetters = new ArrayList<>();
      List<Prepared> staged = new ArrayList<>();
      for (Map.Entry<String, List<StagedFile>> e : filesByTable.entrySet()) {
        TableSpec spec = request.tables().get(e.getKey());
        if (spec == null)
          throw new LoadException("No table spec for table " + e.getKey(), false, null);
        RowIsolation.Isolated rows = isolated.get(spec.name());
        List<StagedFile> files = rows == null ? e.getValue() : rows.files();
        if (rows != null) deadLetters.addAll(rows.deadLetters());
        s.execute(createTable(schema, spec));
        if (files.isEmpty()) continue;
        try {
          if (stageFirst)
            staged.add(keepApart(s, prepare(c, s, schema, spec, files), staged.size()));
          else inserted.put(spec.name(), loadTable(c, s, schema, spec, files));
        } catch (SQLException | IOException ex) {
          throw new TableFailure(spec, e.getValue(), ex);
        }
      }
      if (!deadLetters.isEmpty()) {
        TableSpec spec = DeadLetters.tableSpec();
        List<String> scratch = new ArrayList<>();
        StagedFile file =
            isolation.write(
                spec.name(), deadLetters.stream().map(StagedRow::json).toList(), scratch);
        try {
          s.execute(createTable(schema, spec));
          if (stageFirst)
            staged.add(keepApart(s, prepare(c, s, schema, spec, List.of(file)), staged.size()));
          else inserted.merge(spec.name(), loadTable(c, s, schema, spec, List.of(file)), Long::sum);
        } finally {
          isolation.discard(scratch);
        }
      }
      if (stageFirst) {
        // Replaced tables are swapped in (DDL: each commits on its own), then DML alone: the
        // deletions, the appends and (below) the watermark commit together.
        for (Prepared p : staged) {
          if (p.spec().mode() == TableSpec.Mode.REPLACE)
            inserted.merge(p.spec().name(), apply(s, schema, p), Long::sum);
        }
        deleteAndForget(c, s, schema, request, plan);
        for (Prepared p : staged) {
          if (p.spec().mode() != TableSpec.Mode.REPLACE)
            inserted.merge(p.spec().name(), apply(s, schema, p), Long::sum);
        }
      }
      record(c, schema, todo);
      List<String> loaded = todo.stream().map(LoadBatch::batchId).toList();
      log.debug(
          "Loaded {} batches into {} {} ({} skipped): {}",
          loaded.size(),
          describe(),
          schema,
          already.size(),
          inserted);
      return new LoadResult(loaded, List.copyOf(already), Map.copyOf(inserted), deadLetters.size());
    }
  }

  private static Set<String> alreadyLoaded(Connection c, String schema, List<LoadBatch> batches)
      throws SQLException {
    Set<String> out = new HashSet<>();
    if (batches.isEmpty()) return out;
    String marks = batches.stream().map(b -> "?").collect(Collectors.joining(","));
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT batch_id FROM " + schema + "._weir_loads WHERE batch_id IN (" + marks + ")")) {
      for (int i = 0; i < batches.size(); i++) ps.setString(i + 1, batches.get(i).batchId());
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) out.add(rs.getString(1));
      }
    }
    return out;
  }

  private static void forget(Connection c, String schema, List<LoadBatch> batches)
      throws SQLException {
    if (batches.isEmpty()) return;
    try (PreparedStatement ps =
        c.prepareStatement("DELETE FROM " + schema + "._weir_loads WHERE batch_id = ?")) {
      for (LoadBatch b : batches) {
        ps.setString(1, b.batchId());
        ps.addBatch();
      }
      ps.executeBatch();
    }
  }

  private static void record(Connection c, String schema, List<LoadBatch> batches)
      throws SQLException {
    if (batches.isEmpty()) return;
    try (PreparedStatement ps =
        c.prepareStatement("INSERT INTO " + schema + "._weir_loads VALUES (?, ?, ?)")) {
      Timestamp now = Timestamp.from(Instant.now());
      for (LoadBatch b : batches) {
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
