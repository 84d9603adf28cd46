package weir.loaders.warehouse.bigquery;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.auth.oauth2.ServiceAccountCredentials;
import com.google.cloud.bigquery.BigQuery;
import com.google.cloud.bigquery.BigQueryException;
import com.google.cloud.bigquery.BigQueryOptions;
import com.google.cloud.bigquery.Clustering;
import com.google.cloud.bigquery.DatasetInfo;
import com.google.cloud.bigquery.Field;
import com.google.cloud.bigquery.FieldValueList;
import com.google.cloud.bigquery.FormatOptions;
import com.google.cloud.bigquery.InsertAllRequest;
import com.google.cloud.bigquery.InsertAllResponse;
import com.google.cloud.bigquery.Job;
import com.google.cloud.bigquery.JobId;
import com.google.cloud.bigquery.JobInfo;
import com.google.cloud.bigquery.LoadJobConfiguration;
import com.google.cloud.bigquery.QueryJobConfiguration;
import com.google.cloud.bigquery.QueryParameterValue;
import com.google.cloud.bigquery.Schema;
import com.google.cloud.bigquery.StandardSQLTypeName;
import com.google.cloud.bigquery.StandardTableDefinition;
import com.google.cloud.bigquery.Table;
import com.google.cloud.bigquery.TableDataWriteChannel;
import com.google.cloud.bigquery.TableId;
import com.google.cloud.bigquery.TableInfo;
import com.google.cloud.bigquery.TimePartitioning;
import com.google.cloud.bigquery.WriteChannelConfiguration;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
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
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.zip.GZIPInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import weir.loaders.staging.StagedFile;
import weir.loaders.staging.StagingStore;
import weir.loaders.warehouse.ColumnEvolution;
import weir.loaders.warehouse.MergeRules;
import weir.loaders.warehouse.RowIsolation;
import weir.loaders.warehouse.WarehouseLoader;
import weir.protocol.ColumnType;
import weir.protocol.DeadLetters;
import weir.protocol.Json;
import weir.protocol.StagedRow;
import weir.protocol.TableSpec;

/**
 * Google BigQuery through {@code google-cloud-bigquery}: each table's staged files are loaded by a
 * load job (from GCS URIs when staged in GCS, else uploaded from the staging store) into a stage
 * table that expires after a day; then one multi-statement transaction {@code MERGE}s every stage
 * table into its target by the table's mode and records the batch ids in {@code _weir_loads}: all
 * or nothing. Event tables are {@code PARTITION BY DATE(timestamp) CLUSTER BY type, event}; JSON
 * columns are {@code JSON}.
 *
 * <p>Optional streaming mode ({@code streaming_insert}): append tables get their rows into the
 * stage table by {@code insertAll} (with {@code insertId} = {@code event_id}) instead of a load
 * job; the transaction merges them like the rest, so a retried load never adds rows twice. Merge,
 * replace and period tables go through load jobs.
 *
 * <p>Limits: BigQuery cannot merge two JSON objects in SQL, so a {@code JSON_PATCH} column takes
 * the newer object whole; dynamic columns are added, and widened only from INT64 to FLOAT64 (a
 * value that fits neither becomes NULL in its column; it stays in {@code properties}).
 *
 * <p>Verified only against a local HTTP server standing in for the BigQuery REST API ({@code
 * BigQueryLoaderContractTest}); no BigQuery is reachable here.
 */
public final class BigQueryLoader implements WarehouseLoader {
  private static final Logger log = LoggerFactory.getLogger(BigQueryLoader.class);
  private static final String LOADS = "_weir_loads";

  private final BigQuery bigquery;
  private final StagingStore staging;
  private final String datasetPrefix;
  private final boolean streaming;
  private final RowIsolation isolation;

  public BigQueryLoader(
      BigQuery bigquery, StagingStore staging, String datasetPrefix, boolean streaming) {
    this.bigquery = bigquery;
    this.staging = staging;
    this.isolation = new RowIsolation(staging, "BigQuery");
    this.datasetPrefix = datasetPrefix == null ? "" : datasetPrefix;
    this.streaming = streaming;
  }

  /** A client for {@code projectId} with a service account key. */
  public static BigQuery client(String projectId, String serviceAccountJson) throws IOException {
    return BigQueryOptions.newBuilder()
        .setProjectId(projectId)
        .setCredentials(
            ServiceAccountCredentials.fromStream(
                new ByteArrayInputStream(serviceAccountJson.getBytes(StandardCharsets.UTF_8))))
        .build()
        .getService();
  }

  @Override
  public LoadResult load(LoadRequest request) throws LoadException {
    return run(request, null, null, null, null, false);
  }

  @Override
  public LoadResult reload(
      LoadRequest request, String timestampColumn, LocalDate from, LocalDate to)
      throws LoadException {
    return run(request, timestampColumn, from, to, null, false);
  }

  /**
   * A Data Sync replace: unless every batch is recorded (and {@code reload} is false), the stage
   * tables are loaded first, then one transaction script runs the deletions, forgets the batches,
   * merges the stage tables and records the batches.
   */
  @Override
  public LoadResult replace(LoadRequest request, List<Deletion> deletions, boolean reload)
      throws LoadException {
    return run(request, null, null, null, List.copyOf(deletions), reload);
  }

  private LoadResult run(
      LoadRequest request,
      String periodColumn,
      LocalDate from,
      LocalDate to,
      List<Deletion> deletions,
      boolean force)
      throws LoadException {
    boolean reload = periodColumn != null;
    boolean replace = deletions != null;
    String dataset = datasetPrefix + request.schema();
    List<TableId> stages = new ArrayList<>();
    List<String> scratch = new ArrayList<>();
    try {
      ensureDataset(dataset);
      ensureTable(dataset, loadsSpec());
      Set<String> recorded = reload ? Set.of() : alreadyLoaded(dataset, request.batches());
      if (replace) {
        List<String> ids = request.batches().stream().map(LoadBatch::batchId).toList();
        if (!force && !ids.isEmpty() && recorded.containsAll(ids))
          return new LoadResult(List.of(), ids, Map.of());
        // Deletions would remove rows of batches recorded before: all of them load again.
        recorded = Set.of();
      }
      Set<String> already = recorded;
      List<LoadBatch> todo =
          request.batches().stream().filter(b -> !already.contains(b.batchId())).toList();
      Map<String, List<StagedFile>> filesByTable = new LinkedHashMap<>();
      for (LoadBatch b : todo) {
        for (StagedFile f : b.files())
          filesByTable.computeIfAbsent(f.table(), t -> new ArrayList<>()).add(f);
      }
      StringBuilder script =
          new StringBuilder("DECLARE weir_round INT64 DEFAULT 0;\nBEGIN TRANSACTION;\n");
      if (reload) {
        for (TableSpec spec : request.tables().values()) {
          ensureTable(dataset, spec);
          boolean hasColumn = spec.columns().stream().anyMatch(c -> c.name().equals(periodColumn));
          if (hasColumn) {
            script
                .append("DELETE FROM ")
                .append(table(dataset, spec.name()))
                .append(" WHERE ")
                .append(period(periodColumn, from, to))
                .append(";\n");
          } else if (from == null && to == null) {
            script
                .append("DELETE FROM ")
                .append(table(dataset, spec.name()))
                .append(" WHERE TRUE;\n");
          }
        }
        if (!todo.isEmpty()) {
          script
              .append("DELETE FROM ")
              .append(table(dataset, LOADS))
              .append(" WHERE batch_id IN (")
              .append(
                  todo.stream().map(b -> literal(b.batchId())).collect(Collectors.joining(", ")))
              .append(");\n");
        }
      }
      if (replace) {
        for (TableSpec spec : new java.util.TreeMap<>(request.tables()).values())
          ensureTable(dataset, spec);
        for (Deletion d : deletions) {
          if (!request.tables().containsKey(d.table()))
            throw new LoadException("No table spec for table " + d.table(), false, null);
          script
              .append("DELETE FROM ")
              .append(table(dataset, d.table()))
              .append(" WHERE ")
              .append(where(d))
              .append(";\n");
        }
        if (!todo.isEmpty()) {
          script
              .append("DELETE FROM ")
              .append(table(dataset, LOADS))
              .append(" WHERE batch_id IN (")
              .append(
                  todo.stream().map(b -> literal(b.batchId())).collect(Collectors.joining(", ")))
              .append(");\n");
        }
      }
      Map<String, Long> rows = new LinkedHashMap<>();
      List<StagedRow> deadLetters = new ArrayList<>();
      for (Map.Entry<String, List<StagedFile>> e : filesByTable.entrySet()) {
        TableSpec spec = request.tables().get(e.getKey());
        if (spec == null)
          throw new LoadException("No table spec for table " + e.getKey(), false, null);
        Map<String, ColumnType> columns = ensureTable(dataset, spec);
        if (spec.dynamicColumns()) columns.putAll(evolve(dataset, spec, e.getValue()));
        rows.put(spec.name(), e.getValue().stream().mapToLong(StagedFile::rows).sum());
        TableId stage =
            TableId.of(
                dataset,
                "_weir_stage_"
                    + spec.name()
                    + "_"
                    + UUID.randomUUID().toString().replace("-", "").substring(0, 12));
        stages.add(stage);
        // Streamed rows go to the stage table too: the transaction merges them into the target with
        // the rest, so a
        // retried load never adds them twice.
        deadLetters.addAll(
            loadStage(
                stage,
                spec,
                columns,
                e.getValue(),
                streaming && spec.mode() == TableSpec.Mode.APPEND && !reload && !replace,
                scratch));
        script.append(modeSql(dataset, spec, columns, stage));
      }
      if (!deadLetters.isEmpty()) {
        // Rows BigQuery refused: dead letters, merged in the same transaction as the rest.
        TableSpec spec = DeadLetters.tableSpec();
        Map<String, ColumnType> columns = ensureTable(dataset, spec);
        TableId stage =
            TableId.of(
                dataset,
                "_weir_stage_"
                    + spec.name()
                    + "_"
                    + UUID.randomUUID().toString().replace("-", "").substring(0, 12));
        stages.add(stage);
        StagedFile file =
            isolation.write(
                spec.name(), deadLetters.stream().map(StagedRow::json).toList(), scratch);
        loadStage(stage, spec, columns, List.of(file), false, scratch);
        script.append(modeSql(dataset, spec, columns, stage));
        rows.merge(spec.name(), (long) deadLetters.size(), Long::sum);
        log.warn(
            "BigQuery refused {} rows of {}: loaded as dead letters in _weir_dead_letters",
            deadLetters.size(),
            dataset);
      }
      if (!todo.isEmpty()) {
        script
            .append("INSERT INTO ")
            .append(table(dataset, LOADS))
            .append(" (batch_id, loaded_at, row_count) VALUES ")
            .append(
                todo.stream()
                    .map(
                        b ->
                            "("
                                + literal(b.batchId())
                                + ", CURRENT_TIMESTAMP(), "
                                + b.files().stream().mapToLong(StagedFile::rows).sum()
                                + ")")
                    .collect(Collectors.joining(", ")))
            .append(";\n");
      }
      script.append("COMMIT TRANSACTION;\n");
      query(script.toString());
      List<String> loaded = todo.stream().map(LoadBatch::batchId).toList();
      return new LoadResult(loaded, List.copyOf(already), rows, deadLetters.size());
    } catch (BigQueryException e) {
      throw new LoadException(
          "BigQuery load failed (" + e.getCode() + " " + e.getReason() + "): " + e.getMessage(),
          isTransient(e),
          e);
    } catch (IOException e) {
      throw new LoadException(
          "BigQuery load failed reading or sending a file: " + e.getMessage(), true, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new LoadException("BigQuery load interrupted", true, e);
    } catch (Exception e) {
      if (e instanceof LoadException l) throw l;
      throw new LoadException("BigQuery load failed: " + e.getMessage(), true, e);
    } finally {
      isolation.discard(scratch);
      for (TableId stage : stages) {
        try {
          bigquery.delete(stage);
        } catch (BigQueryException ignored) {
          // Stage tables expire after a day anyway.
        }
      }
    }
  }

  /** The WHERE condition of a deletion ({@code TRUE} for every row). */
  private static String where(Deletion d) {
    if (d.where().isEmpty()) return "TRUE";
    List<String> terms = new ArrayList<>();
    d.where()
        .forEach(
            (column, value) ->
                terms.add(
                    ident(column)
                        + " = "
                        + (value instanceof LocalDate day
                            ? "TIMESTAMP " + literal(day + " 00:00:00+00")
                            : literal((String) value))));
    return String.join(" AND ", terms);
  }

  /**
   * Throttling, 5xx and network failures are worth retrying; 4xx (credentials, permissions, bad
   * SQL) are not.
   */
  static boolean isTransient(BigQueryException e) {
    if (e.isRetryable()) return true;
    int code = e.getCode();
    return code == 0
        || code == 408
        || code == 429
        || code >= 500
        || "rateLimitExceeded".equals(e.getReason())
        || "backendError".equals(e.getReason());
  }

  private static TableSpec loadsSpec() {
    return TableSpec.fixed(
        LOADS,
        List.of(
            new TableSpec.Column("batch_id", ColumnType.STRING),
            new TableSpec.Column("loaded_at", ColumnType.TIMESTAMP),
            new TableSpec.Column("row_count", ColumnType.LONG)),
        "batch_id");
  }

  private void ensureDataset(String dataset) {
    if (bigquery.getDataset(dataset) == null) {
      try {
        bigquery.create(DatasetInfo.newBuilder(dataset).build());
      } catch (BigQueryException e) {
        if (e.getCode() != 409) throw e;
      }
    }
  }

  /**
   * Creates the table when missing (partitioned and clustered when it has the event columns); its
   * columns.
   */
  private Map<String, ColumnType> ensureTable(String dataset, TableSpec spec) {
    Map<String, ColumnType> columns = new LinkedHashMap<>();
    spec.columns().forEach(c -> columns.put(c.name(), c.type()));
    TableId id = TableId.of(dataset, spec.name());
    Table existing = bigquery.getTable(id);
    if (existing != null) {
      // Declared columns an earlier load's table lacks (a Data Sync file with a new field) are
      // added.
      Schema schema = ((StandardTableDefinition) existing.getDefinition()).getSchema();
      Set<String> have = new java.util.HashSet<>();
      schema.getFields().forEach(f -> have.add(f.getName()));
      List<Field> fields = new ArrayList<>(schema.getFields());
      for (TableSpec.Column c : spec.columns())
        if (!have.contains(c.name())) fields.add(field(c.name(), c.type(), false));
      // A declared column whose values outgrew its type: INT64 widens to FLOAT64 (the one change
      // BigQuery makes in place), after the new columns are added; any other difference loads as
      // the table has it.
      List<String> widen = new ArrayList<>();
      for (Field f : schema.getFields()) {
        TableSpec.Column c =
            spec.columns().stream()
                .filter(x -> x.name().equals(f.getName()))
                .findFirst()
                .orElse(null);
        if (c == null || f.getType().getStandardType() == null) continue;
        ColumnType current = columnType(f.getType().getStandardType());
        if (current == c.type()) continue;
        if (current == ColumnType.LONG && c.type() == ColumnType.DOUBLE) widen.add(f.getName());
        else columns.put(f.getName(), current);
      }
      if (fields.size() > schema.getFields().size()) setFields(existing, fields);
      for (String column : widen) {
        try {
          query(
              "ALTER TABLE "
                  + table(dataset, spec.name())
                  + " ALTER COLUMN "
                  + ident(column)
                  + " SET DATA TYPE FLOAT64");
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted widening " + column, e);
        }
      }
      return columns;
    }
    List<Field> fields = new ArrayList<>();
    spec.columns()
        .forEach(c -> fields.add(field(c.name(), c.type(), c.name().equals(spec.keyColumn()))));
    if (spec.loadedAt()) {
      fields.add(
          Field.newBuilder("loaded_at", StandardSQLTypeName.TIMESTAMP)
              .setDefaultValueExpression("CURRENT_TIMESTAMP()")
              .build());
    }
    StandardTableDefinition.Builder def =
        StandardTableDefinition.newBuilder().setSchema(Schema.of(fields));
    String partition =
        columns.containsKey("timestamp")
            ? "timestamp"
            : columns.containsKey("received_at") ? "received_at" : null;
    if (partition != null && columns.get(partition) == ColumnType.TIMESTAMP) {
      def.setTimePartitioning(
          TimePartitioning.newBuilder(TimePartitioning.Type.DAY).setField(partition).build());
    }
    if (columns.containsKey("type") && columns.containsKey("event")) {
      def.setClustering(Clustering.newBuilder().setFields(List.of("type", "event")).build());
    }
    try {
      bigquery.create(TableInfo.of(id, def.build()));
    } catch (BigQueryException e) {
      if (e.getCode() != 409) throw e;
    }
    return columns;
  }

  private static Field field(String name, ColumnType type, boolean required) {
    Field.Builder f =
        Field.newBuilder(
            name,
            switch (type) {
              case STRING -> StandardSQLTypeName.STRING;
              case LONG -> StandardSQLTypeName.INT64;
              case DOUBLE -> StandardSQLTypeName.FLOAT64;
              case BOOLEAN -> StandardSQLTypeName.BOOL;
              case TIMESTAMP -> StandardSQLTypeName.TIMESTAMP;
              case JSON -> StandardSQLTypeName.JSON;
            });
    return f.setMode(required ? Field.Mode.REQUIRED : Field.Mode.NULLABLE).build();
  }

  private static ColumnType columnType(StandardSQLTypeName t) {
    return switch (t) {
      case INT64 -> ColumnType.LONG;
      case FLOAT64, NUMERIC, BIGNUMERIC -> ColumnType.DOUBLE;
      case BOOL -> ColumnType.BOOLEAN;
      case TIMESTAMP -> ColumnType.TIMESTAMP;
      case JSON -> ColumnType.JSON;
      default -> ColumnType.STRING;
    };
  }

  /**
   * Adds the new dynamic columns (and widens INT64 to FLOAT64); the dynamic columns with their
   * types.
   */
  private Map<String, ColumnType> evolve(String dataset, TableSpec spec, List<StagedFile> files)
      throws IOException {
    Set<String> declared = ColumnEvolution.declared(spec);
    Map<String, Set<ColumnEvolution.JsonKind>> kinds =
        ColumnEvolution.scanKeys(staging, files, declared);
    Table table = bigquery.getTable(TableId.of(dataset, spec.name()));
    Schema schema = ((StandardTableDefinition) table.getDefinition()).getSchema();
    Map<String, Field> existing = new LinkedHashMap<>();
    schema.getFields().forEach(f -> existing.put(f.getName(), f));
    List<Field> fields = new ArrayList<>(schema.getFields());
    List<String> alter = new ArrayList<>();
    Map<String, ColumnType> out = new LinkedHashMap<>();
    for (Map.Entry<String, Set<ColumnEvolution.JsonKind>> e : kinds.entrySet()) {
      ColumnType incoming = ColumnEvolution.typeOf(e.getValue());
      Field current = existing.get(e.getKey());
      if (current == null) {
        fields.add(field(e.getKey(), incoming, false));
        out.put(e.getKey(), incoming);
        continue;
      }
      ColumnType have = columnType(current.getType().getStandardType());
      ColumnType wanted = ColumnEvolution.widen(have, incoming);
      if (have == ColumnType.LONG && wanted == ColumnType.DOUBLE) {
        alter.add(
            "ALTER TABLE "
                + table(dataset, spec.name())
                + " ALTER COLUMN "
                + ident(e.getKey())
                + " SET DATA TYPE FLOAT64");
        out.put(e.getKey(), ColumnType.DOUBLE);
      } else {
        out.put(e.getKey(), have);
      }
    }
    if (fields.size() > schema.getFields().size()) setFields(table, fields);
    for (String sql : alter) {
      try {
        query(sql);
      } catch (InterruptedException ex) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted", ex);
      }
    }
    return out;
  }

  /** Gives {@code table} the columns {@code fields} (the existing ones, then new ones). */
  private static void setFields(Table table, List<Field> fields) {
    table.toBuilder()
        .setDefinition(
            ((StandardTableDefinition) table.getDefinition())
                .toBuilder().setSchema(Schema.of(fields)).build())
        .build()
        .update();
  }

  /**
   * Loads the files into a new stage table by load jobs: from their gs:// URIs when staged in GCS,
   * else uploaded. Dynamic columns are staged as JSON (any value loads) and converted to the
   * target's type by the merge.
   */
  /**
   * Loads the files into a new stage table: by load jobs from their gs:// URIs when staged in GCS,
   * else uploaded (or by streaming inserts). Dynamic columns are staged as JSON (any value loads)
   * and converted to the target's type by the merge. Rows BigQuery refuses ({@link #isRowError}: a
   * load job's "invalid" data error) are found by trial loads into throwaway tables ({@link
   * RowIsolation}) and returned as dead letters; the rest is loaded.
   */
  private List<StagedRow> loadStage(
      TableId stage,
      TableSpec spec,
      Map<String, ColumnType> columns,
      List<StagedFile> files,
      boolean byStreaming,
      List<String> scratch)
      throws Exception {
    Map<String, ColumnType> staged = stagedColumns(spec, columns);
    createStage(stage, staged);
    if (byStreaming) {
      stream(stage, spec, staged, files);
      return List.of();
    }
    try {
      loadFiles(stage, files);
      return List.of();
    } catch (BigQueryException e) {
      if (!isRowError(e)) throw e;
      log.info("BigQuery refused rows of {} ({}); finding them", spec.name(), e.getMessage());
    }
    RowIsolation.Isolated isolated =
        isolation.isolate(
            spec.name(),
            files,
            file -> {
              TableId trial =
                  TableId.of(
                      stage.getDataset(),
                      "_weir_trial_"
                          + UUID.randomUUID().toString().replace("-", "").substring(0, 12));
              createStage(trial, staged);
              try {
                loadFiles(trial, List.of(file));
              } finally {
                bigquery.delete(trial);
              }
            },
            t -> t instanceof BigQueryException b && isRowError(b));
    scratch.addAll(isolated.scratch());
    loadFiles(stage, isolated.files());
    return isolated.deadLetters();
  }

  /**
   * A load job's error about the data it read (reason "invalid"), not about the table or the
   * credentials.
   */
  static boolean isRowError(BigQueryException e) {
    return "invalid".equals(e.getReason())
        && String.valueOf(e.getMessage()).contains("reading data");
  }

  private static Map<String, ColumnType> stagedColumns(
      TableSpec spec, Map<String, ColumnType> columns) {
    Set<String> declared = ColumnEvolution.declared(spec);
    Map<String, ColumnType> staged = new LinkedHashMap<>();
    columns.forEach(
        (name, type) -> staged.put(name, declared.contains(name) ? type : ColumnType.JSON));
    return staged;
  }

  private void createStage(TableId stage, Map<String, ColumnType> staged) {
    List<Field> fields =
        staged.entrySet().stream().map(e -> field(e.getKey(), e.getValue(), false)).toList();
    bigquery.create(
        TableInfo.newBuilder(stage, StandardTableDefinition.of(Schema.of(fields)))
            .setExpirationTime(System.currentTimeMillis() + 24 * 3_600_000L)
            .build());
  }

  private void loadFiles(TableId stage, List<StagedFile> files)
      throws IOException, InterruptedException {
    if (files.isEmpty()) return;
    List<String> uris = files.stream().map(f -> staging.describe(f.key())).toList();
    if (uris.stream().allMatch(u -> u.startsWith("gs://"))) {
      LoadJobConfiguration config =
          LoadJobConfiguration.newBuilder(stage, uris, FormatOptions.json())
              .setIgnoreUnknownValues(true)
              .setWriteDisposition(JobInfo.WriteDisposition.WRITE_APPEND)
              .build();
      waitFor(
          bigquery.create(JobInfo.of(config)),
          "loading " + uris.size() + " files into " + stage.getTable());
      return;
    }
    for (StagedFile f : files) {
      WriteChannelConfiguration config =
          WriteChannelConfiguration.newBuilder(stage, FormatOptions.json())
              .setIgnoreUnknownValues(true)
              .setWriteDisposition(JobInfo.WriteDisposition.WRITE_APPEND)
              .build();
      TableDataWriteChannel channel =
          bigquery.writer(JobId.of(UUID.randomUUID().toString()), config);
      try (OutputStream out = Channels.newOutputStream(channel);
          InputStream in = new GZIPInputStream(staging.open(f.key()), 1 << 16)) {
        in.transferTo(out);
      }
      waitFor(channel.getJob(), "uploading " + staging.describe(f.key()));
    }
  }

  private void waitFor(Job job, String what) throws InterruptedException {
    Job done = job.waitFor();
    if (done == null) throw new BigQueryException(404, what + ": the job disappeared");
    if (done.getStatus().getError() != null) {
      throw new BigQueryException(
          400,
          what + " failed: " + done.getStatus().getError().getMessage(),
          done.getStatus().getError());
    }
  }

  /** The script statements that move a stage table into its target by the table's mode. */
  private String modeSql(
      String dataset, TableSpec spec, Map<String, ColumnType> columns, TableId stage) {
    Set<String> declared = ColumnEvolution.declared(spec);
    String target = table(dataset, spec.name());
    String key = ident(spec.keyColumn());
    String order = ident(spec.orderColumn() != null ? spec.orderColumn() : spec.keyColumn());
    String names =
        columns.keySet().stream().map(BigQueryLoader::ident).collect(Collectors.joining(", "));
    String values =
        columns.entrySet().stream()
            .map(
                e ->
                    declared.contains(e.getKey())
                        ? ident(e.getKey())
                        : fromJson(ident(e.getKey()), e.getValue()) + " AS " + ident(e.getKey()))
            .collect(Collectors.joining(", "));
    String ranked =
        "(SELECT "
            + values
            + ", ROW_NUMBER() OVER (PARTITION BY "
            + key
            + " ORDER BY "
            + order
            + ") AS _weir_rank FROM "
            + table(stage.getDataset(), stage.getTable())
            + " WHERE "
            + key
            + " IS NOT NULL)";
    String firstOfEachKey =
        "(SELECT * EXCEPT (_weir_rank) FROM " + ranked + " WHERE _weir_rank = 1)";
    String insertNew =
        "MERGE "
            + target
            + " AS t USING "
            + firstOfEachKey
            + " AS s ON t."
            + key
            + " = s."
            + key
            + " WHEN NOT MATCHED THEN INSERT ("
            + names
            + ") VALUES ("
            + columns.keySet().stream().map(n -> "s." + ident(n)).collect(Collectors.joining(", "))
            + ");\n";
    return switch (spec.mode()) {
      case APPEND -> insertNew;
      case PERIOD ->
          "DELETE FROM "
              + target
              + " WHERE DATE("
              + ident(spec.orderColumn())
              + ") IN (SELECT DISTINCT DATE("
              + ident(spec.orderColumn())
              + ") FROM "
              + table(stage.getDataset(), stage.getTable())
              + ");\n"
              + insertNew;
      // DDL cannot run in a transaction: replace is a delete of every row and an insert,
      // atomically.
      case REPLACE ->
          "DELETE FROM "
              + target
              + " WHERE TRUE;\nINSERT INTO "
              + target
              + " ("
              + names
              + ") SELECT "
              + names
              + " FROM "
              + firstOfEachKey
              + ";\n";
      case MERGE ->
          "SET weir_round = 1;\nWHILE weir_round <= (SELECT IFNULL(MAX(_weir_rank), 0) FROM "
              + ranked
              + ") DO\n  MERGE "
              + target
              + " AS t USING (SELECT * EXCEPT (_weir_rank) FROM "
              + ranked
              + " WHERE _weir_rank = weir_round) AS s ON t."
              + key
              + " = s."
              + key
              + " WHEN MATCHED THEN UPDATE SET "
              + mergeUpdates(spec)
              + " WHEN NOT MATCHED THEN INSERT ("
              + names
              + ") VALUES ("
              + columns.keySet().stream()
                  .map(n -> "s." + ident(n))
                  .collect(Collectors.joining(", "))
              + ");\n  SET weir_round = weir_round + 1;\n"
              + "END WHILE;\n";
    };
  }

  /** Merge rules; BigQuery cannot merge two JSON objects in SQL, so the newer object wins whole. */
  private static String mergeUpdates(TableSpec spec) {
    return MergeRules.updates(
        spec,
        spec.columns().stream().map(TableSpec.Column::name).toList(),
        "t",
        "s",
        "CURRENT_TIMESTAMP()",
        BigQueryLoader::ident,
        (base, patch) -> "coalesce(" + patch + ", " + base + ")");
  }

  /**
   * Streams the files' rows into a stage table by {@code insertAll}, insertId = event_id (BigQuery
   * drops repeats it sees within minutes); the load's transaction then merges the stage table into
   * the target.
   */
  private void stream(
      TableId stage, TableSpec spec, Map<String, ColumnType> staged, List<StagedFile> files)
      throws IOException {
    for (StagedFile f : files) {
      try (BufferedReader lines =
          new BufferedReader(
              new InputStreamReader(
                  new GZIPInputStream(staging.open(f.key())), StandardCharsets.UTF_8))) {
        InsertAllRequest.Builder chunk =
            InsertAllRequest.newBuilder(stage).setIgnoreUnknownValues(true);
        int n = 0;
        for (String line = lines.readLine(); line != null; line = lines.readLine()) {
          ObjectNode row = (ObjectNode) Json.MAPPER.readTree(line);
          // JSON columns take JSON text in streaming inserts (an object would be read as a RECORD).
          staged.forEach(
              (name, type) -> {
                if (type == ColumnType.JSON && row.hasNonNull(name))
                  row.put(name, Json.write(row.get(name)));
              });
          @SuppressWarnings("unchecked")
          Map<String, Object> content = Json.MAPPER.convertValue(row, Map.class);
          chunk.addRow(row.path(spec.keyColumn()).asText(), content);
          if (++n == 500) {
            send(chunk.build());
            chunk = InsertAllRequest.newBuilder(stage).setIgnoreUnknownValues(true);
            n = 0;
          }
        }
        if (n > 0) send(chunk.build());
      }
    }
  }

  private void send(InsertAllRequest request) {
    InsertAllResponse response = bigquery.insertAll(request);
    if (response.hasErrors()) {
      throw new BigQueryException(
          400,
          "streaming insert rejected rows: "
              + response.getInsertErrors().values().iterator().next());
    }
  }

  @Override
  public Map<String, Instant> loadedAt(String schema, Collection<String> batchIds)
      throws LoadException {
    Map<String, Instant> out = new HashMap<>();
    if (batchIds.isEmpty()) return out;
    String dataset = datasetPrefix + schema;
    try {
      if (bigquery.getTable(TableId.of(dataset, LOADS)) == null) return out;
      QueryJobConfiguration q =
          QueryJobConfiguration.newBuilder(
                  "SELECT batch_id, loaded_at FROM "
                      + table(dataset, LOADS)
                      + " WHERE batch_id IN UNNEST(@ids)")
              .addNamedParameter(
                  "ids", QueryParameterValue.array(batchIds.toArray(String[]::new), String.class))
              .build();
      for (FieldValueList row : bigquery.query(q).iterateAll()) {
        out.put(
            row.get(0).getStringValue(),
            Instant.ofEpochMilli(row.get(1).getTimestampValue() / 1000));
      }
      return out;
    } catch (BigQueryException e) {
      throw new LoadException(
          "BigQuery could not read _weir_loads (" + e.getCode() + "): " + e.getMessage(),
          isTransient(e),
          e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new LoadException("BigQuery read interrupted", true, e);
    }
  }

  private Set<String> alreadyLoaded(String dataset, List<LoadBatch> batches)
      throws InterruptedException {
    Set<String> out = new HashSet<>();
    if (batches.isEmpty()) return out;
    QueryJobConfiguration q =
        QueryJobConfiguration.newBuilder(
                "SELECT batch_id FROM " + table(dataset, LOADS) + " WHERE batch_id IN UNNEST(@ids)")
            .addNamedParameter(
                "ids",
                QueryParameterValue.array(
                    batches.stream().map(LoadBatch::batchId).toArray(String[]::new), String.class))
            .build();
    for (FieldValueList row : bigquery.query(q).iterateAll()) out.add(row.get(0).getStringValue());
    return out;
  }

  private void query(String sql) throws InterruptedException {
    log.debug("BigQuery script:\n{}", sql);
    bigquery.query(QueryJobConfiguration.newBuilder(sql).build());
  }

  private String table(String dataset, String name) {
    return "`" + bigquery.getOptions().getProjectId() + "." + dataset + "." + name + "`";
  }

  private static String period(String column, LocalDate from, LocalDate to) {
    List<String> terms = new ArrayList<>();
    if (from != null)
      terms.add(ident(column) + " >= TIMESTAMP(" + literal(from + " 00:00:00+00") + ")");
    if (to != null)
      terms.add(ident(column) + " < TIMESTAMP(" + literal(to.plusDays(1) + " 00:00:00+00") + ")");
    return terms.isEmpty() ? "TRUE" : String.join(" AND ", terms);
  }

  /**
   * A dynamic column staged as JSON (any value loads) converted to its column type; NULL when it
   * does not fit.
   */
  private static String fromJson(String column, ColumnType type) {
    return switch (type) {
      case STRING -> "COALESCE(SAFE.STRING(" + column + "), TO_JSON_STRING(" + column + "))";
      case LONG -> "SAFE.INT64(" + column + ")";
      case DOUBLE -> "SAFE.FLOAT64(" + column + ")";
      case BOOLEAN -> "SAFE.BOOL(" + column + ")";
      case TIMESTAMP -> "SAFE_CAST(SAFE.STRING(" + column + ") AS TIMESTAMP)";
      case JSON -> column;
    };
  }

  static String ident(String name) {
    return "`" + name.replace("`", "") + "`";
  }

  static String literal(String s) {
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'";
  }
}
