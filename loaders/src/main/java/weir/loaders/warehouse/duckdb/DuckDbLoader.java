package weir.loaders.warehouse.duckdb;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import weir.loaders.staging.StagedFile;
import weir.loaders.staging.StagingStore;
import weir.loaders.warehouse.WarehouseLoader;
import weir.protocol.ColumnType;
import weir.protocol.TableSpec;

/**
 * Loads staged NDJSON.gz files into an embedded DuckDB database file with DuckDB's own JSON reader
 * ({@code read_json}), deduplicating on the key column, in one transaction per load.
 *
 * <p>The database file is opened for each load and closed afterwards: DuckDB allows one writing process
 * per file, so between loads users can open the warehouse (read-only) with their own tools.
 */
public final class DuckDbLoader implements WarehouseLoader {
  private static final Logger log = LoggerFactory.getLogger(DuckDbLoader.class);

  private final Path databaseFile;
  private final StagingStore staging;

  public DuckDbLoader(Path databaseFile, StagingStore staging) {
    this.databaseFile = databaseFile.toAbsolutePath();
    this.staging = staging;
  }

  @Override
  public LoadResult load(LoadRequest request) throws LoadException {
    return run(request, null);
  }

  @Override
  public LoadResult reload(LoadRequest request, String timestampColumn, java.time.LocalDate from,
      java.time.LocalDate to) throws LoadException {
    return run(request, new Period(timestampColumn, from, to));
  }

  /** What a reload replaces: rows whose timestamp column is within [from, to] (null: unbounded). */
  private record Period(String column, java.time.LocalDate from, java.time.LocalDate to) {
    String where() {
      List<String> terms = new ArrayList<>();
      if (from != null) terms.add(ident(column) + " >= TIMESTAMPTZ '" + from + " 00:00:00+00'");
      if (to != null) terms.add(ident(column) + " < TIMESTAMPTZ '" + to.plusDays(1) + " 00:00:00+00'");
      return terms.isEmpty() ? "" : " WHERE " + String.join(" AND ", terms);
    }
  }

  private LoadResult run(LoadRequest request, Period reload) throws LoadException {
    try {
      Files.createDirectories(databaseFile.getParent());
      Path extensions = databaseFile.resolveSibling(".duckdb_extensions");
      Properties props = new Properties();
      props.setProperty("extension_directory", extensions.toString());
      try (Connection c = DriverManager.getConnection("jdbc:duckdb:" + databaseFile, props)) {
        return load(c, request, reload);
      }
    } catch (SQLException e) {
      // A lock held by another process (someone reading the file) clears by itself: transient.
      throw new LoadException("DuckDB load into " + databaseFile.getFileName() + " failed: " + e.getMessage(),
          true, e);
    } catch (java.io.IOException e) {
      throw new LoadException("Cannot create the directory of " + databaseFile + ": " + e.getMessage(), true, e);
    }
  }

  private LoadResult load(Connection c, LoadRequest request, Period reload) throws SQLException, LoadException {
    String schema = ident(request.schema());
    c.setAutoCommit(false);
    try (Statement s = c.createStatement()) {
      s.execute("CREATE SCHEMA IF NOT EXISTS " + schema);
      s.execute("CREATE TABLE IF NOT EXISTS " + schema + "._weir_loads (batch_id VARCHAR PRIMARY KEY, "
          + "loaded_at TIMESTAMPTZ NOT NULL, row_count BIGINT NOT NULL)");
      if (reload != null) {
        for (TableSpec spec : request.tables().values()) {
          s.execute(createTable(schema, spec));
          s.execute("DELETE FROM " + schema + "." + ident(spec.name()) + reload.where());
        }
        deleteLoads(c, schema, request.batches());
      }
      Set<String> already = alreadyLoaded(c, schema, request.batches());
      List<StagedBatchFiles> todo = request.batches().stream()
          .filter(b -> !already.contains(b.batchId())).toList();

      Map<String, List<StagedFile>> filesByTable = new LinkedHashMap<>();
      for (StagedBatchFiles b : todo) {
        for (StagedFile f : b.files()) {
          filesByTable.computeIfAbsent(f.table(), t -> new ArrayList<>()).add(f);
        }
      }
      Map<String, Long> inserted = new LinkedHashMap<>();
      for (Map.Entry<String, List<StagedFile>> e : filesByTable.entrySet()) {
        TableSpec spec = request.tables().get(e.getKey());
        if (spec == null) {
          throw new LoadException("No table spec for table " + e.getKey(), false, null);
        }
        s.execute(createTable(schema, spec));
        inserted.put(spec.name(), (long) s.executeUpdate(insert(schema, spec, e.getValue())));
      }
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + schema + "._weir_loads VALUES (?, ?, ?)")) {
        Timestamp now = Timestamp.from(Instant.now());
        for (StagedBatchFiles b : todo) {
          ps.setString(1, b.batchId());
          ps.setTimestamp(2, now);
          ps.setLong(3, b.files().stream().mapToLong(StagedFile::rows).sum());
          ps.addBatch();
        }
        ps.executeBatch();
      }
      c.commit();
      List<String> loaded = todo.stream().map(StagedBatchFiles::batchId).toList();
      log.debug("Loaded {} batches into {} ({} skipped): {}", loaded.size(), request.schema(), already.size(),
          inserted);
      return new LoadResult(loaded, List.copyOf(already), Map.copyOf(inserted));
    } catch (SQLException | LoadException | RuntimeException e) {
      try {
        c.rollback();
      } catch (SQLException rollback) {
        e.addSuppressed(rollback);
      }
      throw e;
    }
  }

  private static void deleteLoads(Connection c, String schema, List<StagedBatchFiles> batches) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("DELETE FROM " + schema + "._weir_loads WHERE batch_id = ?")) {
      for (StagedBatchFiles b : batches) {
        ps.setString(1, b.batchId());
        ps.addBatch();
      }
      if (!batches.isEmpty()) ps.executeBatch();
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

  static String createTable(String schema, TableSpec spec) {
    String cols = spec.columns().stream()
        .map(col -> ident(col.name()) + " " + sqlType(col.type())
            + (col.name().equals(spec.keyColumn()) ? " PRIMARY KEY" : ""))
        .collect(Collectors.joining(", "));
    return "CREATE TABLE IF NOT EXISTS " + schema + "." + ident(spec.name()) + " (" + cols + ")";
  }

  private String insert(String schema, TableSpec spec, List<StagedFile> files) throws LoadException {
    List<String> paths = new ArrayList<>();
    for (StagedFile f : files) {
      Path p = staging.localPath(f.key()).orElseThrow(() -> new LoadException(
          "DuckDB reads staged files locally; " + staging.describe(f.key()) + " is not local", false, null));
      paths.add(literal(p.toString()));
    }
    String columnList = spec.columns().stream().map(col -> ident(col.name())).collect(Collectors.joining(", "));
    String columnTypes = spec.columns().stream()
        .map(col -> literal(col.name()) + ": " + literal(sqlType(col.type())))
        .collect(Collectors.joining(", "));
    String key = ident(spec.keyColumn());
    String target = schema + "." + ident(spec.name());
    return "INSERT INTO " + target + " (" + columnList + ") "
        + "SELECT " + columnList + " FROM read_json([" + String.join(", ", paths) + "], "
        + "format = 'newline_delimited', compression = 'gzip', columns = {" + columnTypes + "}) AS src "
        + "WHERE NOT EXISTS (SELECT 1 FROM " + target + " AS t WHERE t." + key + " = src." + key + ") "
        + "QUALIFY row_number() OVER (PARTITION BY src." + key + ") = 1";
  }

  static String sqlType(ColumnType type) {
    return switch (type) {
      case STRING -> "VARCHAR";
      case LONG -> "BIGINT";
      case DOUBLE -> "DOUBLE";
      case BOOLEAN -> "BOOLEAN";
      case TIMESTAMP -> "TIMESTAMPTZ";
      case JSON -> "JSON";
    };
  }

  /** A double-quoted SQL identifier. */
  static String ident(String name) {
    return "\"" + name.replace("\"", "\"\"") + "\"";
  }

  private static String literal(String s) {
    return "'" + s.replace("'", "''") + "'";
  }
}
