package weir.node.load;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.function.Function;
import akka.actor.ClassicActorSystemProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import weir.loaders.files.FileFormat;
import weir.loaders.lake.LakeDelivery;
import weir.loaders.staging.BatchFileWriter;
import weir.loaders.staging.gcs.GcsStagingStore;
import weir.loaders.staging.s3.S3Location;
import weir.loaders.staging.s3.S3StagingStore;
import weir.loaders.staging.StagedFile;
import weir.loaders.staging.StagingStore;
import weir.loaders.staging.fs.FilesystemStagingStore;
import weir.loaders.warehouse.WarehouseLoader;
import weir.loaders.warehouse.duckdb.DuckDbLoader;
import weir.node.ingest.BatchStager;
import weir.node.ingest.ConnectionBuffer;
import weir.node.ingest.RowCodec;
import weir.persistence.registry.ConnectionKind;
import weir.protocol.event.EventTables;
import weir.persistence.registry.Connection;
import weir.persistence.registry.Destination;
import weir.persistence.secrets.SecretBox;
import weir.protocol.StagedRow;
import weir.protocol.TableSpec;
import weir.protocol.webhook.WebhookParser;

/**
 * Builds, per destination, its staging store and warehouse loader from the registry entry, and runs
 * their blocking work on the given blocking executor. This is where the node turns a {@link Destination}
 * config into {@code loaders} objects; buffers and coordinators only see {@link BatchStager} and
 * {@link LoadCoordinator.BatchLoader}.
 */
public final class DestinationRuntimes {
  private static final Logger log = LoggerFactory.getLogger(DestinationRuntimes.class);

  /** Storage destinations: the staged files are the delivery (a data lake), loaded means "manifest written". */
  private static final java.util.Set<String> LAKES = java.util.Set.of("s3", "gcs", "filesystem");

  /**
   * @param staging where the files go
   * @param format how they are written (warehouses: gzip NDJSON, which every loader reads)
   * @param loader the warehouse loader, or the manifest writer of a data lake
   * @param retentionDays days staged files are kept after loading (-1: forever; 0: deleted once loaded)
   */
  private record Runtime(StagingStore staging, FileFormat format, WarehouseLoader loader, int retentionDays) {}

  private record Built(Destination destination, Runtime runtime) {}

  private final Function<String, Optional<Destination>> destinations;
  private final Executor blocking;
  private final SecretBox secrets;
  private final Path dataDir;
  private final ClassicActorSystemProvider system;
  private final long maxFileBytes;
  private final Map<String, Built> runtimes = new ConcurrentHashMap<>();
  private final Map<String, Long> retentionSweeps = new ConcurrentHashMap<>();

  /**
   * @param secrets opens the sealed secret settings of a destination when its loader is built
   * @param dataDir relative paths in destination settings are relative to it
   * @param system runs the S3 client's streams
   * @param maxFileBytes size at which a staged file is split into parts
   */
  public DestinationRuntimes(Function<String, Optional<Destination>> destinations, Executor blocking,
      SecretBox secrets, Path dataDir, ClassicActorSystemProvider system, long maxFileBytes) {
    this.destinations = destinations;
    this.blocking = blocking;
    this.secrets = secrets;
    this.dataDir = dataDir;
    this.system = system;
    this.maxFileBytes = maxFileBytes;
  }

  /** Writes a buffer's batch to the staging store of the connection's destination. */
  public BatchStager stager() {
    return (connection, batchId, chunks) -> CompletableFuture.supplyAsync(() -> stage(connection, batchId, chunks),
        blocking);
  }

  /** Loads batches into the destination's warehouse. */
  public LoadCoordinator.BatchLoader loader() {
    return new LoadCoordinator.BatchLoader() {
      @Override
      public CompletionStage<LoadCoordinator.LoadOutcome> load(Connection connection, List<StagedBatch> batches) {
        return CompletableFuture.supplyAsync(() -> DestinationRuntimes.this.load(connection, batches), blocking);
      }

      @Override
      public CompletionStage<LoadCoordinator.LoadOutcome> reload(Connection connection,
          LoadCoordinator.ResyncRequest request) {
        return CompletableFuture.supplyAsync(() -> DestinationRuntimes.this.reload(connection, request), blocking);
      }
    };
  }

  private LoadCoordinator.LoadOutcome reload(Connection connection, LoadCoordinator.ResyncRequest request) {
    Runtime runtime = runtime(connection.destinationId());
    java.time.LocalDate from = request.from() == null ? null : java.time.LocalDate.parse(request.from());
    java.time.LocalDate to = request.to() == null ? null : java.time.LocalDate.parse(request.to());
    Map<String, TableSpec> tables = new java.util.LinkedHashMap<>();
    Map<String, List<StagedFile>> byBatch = new java.util.TreeMap<>();
    try {
      List<String> wanted = request.tables().isEmpty() ? archivedTables(runtime.staging(), connection)
          : request.tables();
      for (String table : wanted) {
        tables.put(table, tableSpec(connection, table));
        BatchFileWriter.archivedBatches(runtime.staging(), connection.id(), table, from, to)
            .forEach((batchId, files) -> byBatch.computeIfAbsent(batchId, b -> new java.util.ArrayList<>())
                .addAll(files));
      }
      WarehouseLoader.LoadRequest load = new WarehouseLoader.LoadRequest(connection.schema(), tables,
          byBatch.entrySet().stream().map(e -> new WarehouseLoader.StagedBatchFiles(e.getKey(), e.getValue()))
              .toList());
      WarehouseLoader.LoadResult result = runtime.loader().reload(load, timestampColumn(connection), from, to);
      return new LoadCoordinator.LoadOutcome(result.loadedBatchIds(), result.totalRowsInserted());
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException("listing the staging archive failed: " + e.getMessage(), e);
    } catch (WarehouseLoader.LoadException e) {
      throw new java.util.concurrent.CompletionException(e);
    }
  }

  /**
   * The column whose UTC day is a row's period: the one staged files are partitioned by (the event time of
   * tracking events, the arrival time of webhooks).
   */
  static String timestampColumn(Connection connection) {
    return connection.kind() == weir.persistence.registry.ConnectionKind.webhook ? "received_at" : "timestamp";
  }

  private StagedBatch.Written stage(Connection connection, String batchId, List<ConnectionBuffer.Chunk> chunks) {
    List<StagedRow> rows = new java.util.ArrayList<>();
    int events = 0;
    boolean tracking = connection.kind() == ConnectionKind.segment || connection.kind() == ConnectionKind.snowplow;
    for (ConnectionBuffer.Chunk chunk : chunks) {
      events += chunk.events();
      for (StagedRow row : RowCodec.decode(chunk.rows())) {
        rows.add(row);
        // Events are journaled as one row; the rows derived from it (per-event table, users) are made here.
        if (tracking && !chunk.expanded()) rows.addAll(EventTables.expand(row));
      }
    }
    try {
      Runtime runtime = runtime(connection.destinationId());
      List<StagedFile> files = new BatchFileWriter(runtime.staging(), runtime.format(),
          table -> tableSpec(connection, table)).write(connection.id(), batchId, rows);
      return new StagedBatch.Written(files.stream().map(StagedBatch.File::of).toList(), rows.size(), events);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException("staging " + batchId + " failed: " + e.getMessage(), e);
    }
  }

  private LoadCoordinator.LoadOutcome load(Connection connection, List<StagedBatch> batches) {
    Map<String, TableSpec> specs = new java.util.LinkedHashMap<>();
    batches.forEach(b -> b.files().forEach(f -> specs.put(f.table(), tableSpec(connection, f.table()))));
    WarehouseLoader.LoadRequest request = new WarehouseLoader.LoadRequest(connection.schema(), specs,
        batches.stream().map(b -> new WarehouseLoader.StagedBatchFiles(b.batchId(), b.stagedFiles())).toList());
    Runtime runtime = runtime(connection.destinationId());
    try {
      WarehouseLoader.LoadResult result = runtime.loader().load(request);
      List<String> done = new java.util.ArrayList<>(result.loadedBatchIds());
      done.addAll(result.skippedBatchIds());
      applyRetention(runtime, connection, batches);
      return new LoadCoordinator.LoadOutcome(done, result.totalRowsInserted());
    } catch (WarehouseLoader.LoadException e) {
      throw new java.util.concurrent.CompletionException(e);
    }
  }

  /**
   * Deletes staged files the destination's retention no longer keeps, after a successful load: with 0 days,
   * the files of the batches just loaded; with N days, every archived file of the connection whose hour
   * partition is older than N days (checked at most hourly). A failure here is logged and retried with
   * the next load; it never fails the load.
   */
  private void applyRetention(Runtime runtime, Connection connection, List<StagedBatch> batches) {
    if (runtime.retentionDays() < 0) return;
    try {
      if (runtime.retentionDays() == 0) {
        for (StagedBatch b : batches) {
          for (StagedBatch.File f : b.files()) runtime.staging().delete(f.key());
        }
        return;
      }
      Long last = retentionSweeps.get(connection.id());
      long now = System.currentTimeMillis();
      if (last != null && now - last < java.time.Duration.ofHours(1).toMillis()) return;
      retentionSweeps.put(connection.id(), now);
      java.time.Instant cutoff = java.time.Instant.ofEpochMilli(now).minus(java.time.Duration.ofDays(
          runtime.retentionDays()));
      int deleted = 0;
      for (String key : runtime.staging().list(connection.id())) {
        Optional<java.time.Instant> hour = BatchFileWriter.partitionHour(key);
        if (hour.isPresent() && hour.get().plus(java.time.Duration.ofHours(1)).isBefore(cutoff)) {
          runtime.staging().delete(key);
          deleted++;
        }
      }
      if (deleted > 0) {
        log.info("Retention: deleted {} staged files of connection {} older than {} days", deleted, connection.id(),
            runtime.retentionDays());
      }
    } catch (java.io.IOException | RuntimeException e) {
      log.warn("Retention of staged files of connection {} failed (retried after the next load): {}",
          connection.id(), e.getMessage());
    }
  }

  /** The spec of one table of a connection (webhook: its one table; tracking kinds: the event tables). */
  public static TableSpec tableSpec(Connection connection, String table) {
    if (table.equals(weir.protocol.DeadLetters.TABLE)) return weir.protocol.DeadLetters.tableSpec();
    return switch (connection.kind()) {
      case webhook -> WebhookParser.tableSpec(table);
      case segment, snowplow -> weir.protocol.event.EventTables.specFor(table);
      case connector -> throw new IllegalStateException("connector connections are not loadable in this build");
    };
  }

  /** The tables a connection has files for in the staging archive. */
  private static List<String> archivedTables(StagingStore staging, Connection connection) throws java.io.IOException {
    return staging.list(connection.id()).stream().map(k -> k.split("/")[1])
        .filter(t -> !t.equals(LakeDelivery.MANIFESTS)).distinct().sorted().toList();
  }

  /** The destination's store and loader, rebuilt when its registry entry changed (PATCH applies live). */
  private Runtime runtime(String destinationId) {
    Destination d = destinations.apply(destinationId).orElseThrow(() ->
        new IllegalStateException("destination " + destinationId + " is not in the registry cache"));
    return runtimes.compute(destinationId, (id, built) ->
        built != null && built.destination().equals(d) ? built : new Built(d, build(d))).runtime();
  }

  private Runtime build(Destination d) {
    if (LAKES.contains(d.type())) {
      StagingStore store = store(d.type(), d.config());
      FileFormat format = FileFormat.parse(d.config().get("format"), d.config().get("compression"), maxFileBytes);
      return new Runtime(store, format, new LakeDelivery(store, format), -1);
    }
    StagingStore staging = store(d.staging().getOrDefault("type", "filesystem"), d.staging());
    WarehouseLoader loader = switch (d.type()) {
      case "duckdb" -> new DuckDbLoader(path(d.configValue("path").orElseThrow()), staging);
      case "postgres" -> new weir.loaders.warehouse.postgres.PostgresLoader(d.configValue("url").orElseThrow(),
          d.configValue("user").orElseThrow(), secrets.open(d.configValue("password").orElse("")),
          d.configValue("schema_prefix").orElse(""), staging);
      case "redshift" -> new weir.loaders.warehouse.redshift.RedshiftLoader(
          weir.loaders.warehouse.redshift.RedshiftLoader.driver(d.configValue("url").orElseThrow(),
              d.configValue("user").orElseThrow(), secrets.open(d.configValue("password").orElse(""))),
          staging, d.configValue("iam_role_arn").orElseThrow(), d.staging().get("region"), "");
      case "snowflake" -> new weir.loaders.warehouse.snowflake.SnowflakeLoader(
          weir.loaders.warehouse.snowflake.SnowflakeLoader.driver(dataDir.resolve("drivers").resolve("snowflake-jdbc.jar"),
              d.configValue("account").orElseThrow(),
              d.configValue("user").orElseThrow(), secrets.open(d.configValue("private_key").orElseThrow()),
              d.configValue("warehouse").orElseThrow(), d.configValue("database").orElseThrow(),
              d.configValue("role").orElse(null)),
          staging, dataDir.resolve("tmp").resolve("snowflake-" + d.id()), "");
      case "bigquery" -> {
        try {
          yield new weir.loaders.warehouse.bigquery.BigQueryLoader(weir.loaders.warehouse.bigquery.BigQueryLoader.client(
              d.configValue("project_id").orElseThrow(), secrets.open(d.configValue("service_account_json").orElseThrow())),
              staging, d.configValue("dataset_prefix").orElse(""),
              d.configValue("streaming_insert").map("true"::equals).orElse(false));
        } catch (java.io.IOException e) {
          throw new IllegalStateException("the BigQuery service account key is not usable: " + e.getMessage(), e);
        }
      }
      default -> throw new IllegalStateException("destination type " + d.type() + " is not available");
    };
    // Redshift's delete_staged_files=true is retention 0: the files go once loaded.
    int retention = Integer.parseInt(d.staging().getOrDefault("retention_days",
        d.configValue("delete_staged_files").map(v -> v.equals("true") ? "0" : "-1").orElse("-1")));
    return new Runtime(staging, FileFormat.NDJSON_GZIP.withMaxFileBytes(maxFileBytes), loader, retention);
  }

  /** A staging store of {@code type} from its settings (a staging object, or a storage destination's config). */
  private StagingStore store(String type, Map<String, String> settings) {
    return switch (type) {
      case "filesystem" -> new FilesystemStagingStore(path(secrets.open(settings.get("path"))));
      case "s3" -> new S3StagingStore(new S3Location(settings.get("bucket"), settings.get("prefix"),
          settings.get("region"), settings.get("endpoint"), settings.get("access_key_id"),
          settings.containsKey("secret_access_key") ? secrets.open(settings.get("secret_access_key")) : null), system);
      case "gcs" -> {
        try {
          yield new GcsStagingStore(GcsStagingStore.client(secrets.open(settings.get("service_account_json")),
              settings.get("endpoint")), settings.get("bucket"), settings.get("prefix"));
        } catch (java.io.IOException e) {
          throw new IllegalStateException("the GCS service account key is not usable: " + e.getMessage(), e);
        }
      }
      default -> throw new IllegalStateException("staging type " + type + " is not available in this build");
    };
  }

  private Path path(String configured) {
    Path p = Path.of(configured);
    return p.isAbsolute() ? p : dataDir.resolve(p);
  }
}
