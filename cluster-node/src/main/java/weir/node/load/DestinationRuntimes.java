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
import weir.loaders.staging.BatchFileWriter;
import weir.loaders.staging.StagedFile;
import weir.loaders.staging.StagingStore;
import weir.loaders.staging.fs.FilesystemStagingStore;
import weir.loaders.warehouse.WarehouseLoader;
import weir.loaders.warehouse.duckdb.DuckDbLoader;
import weir.node.ingest.BatchStager;
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

  /** Destination types whose loader exists in this build. */
  public static final List<String> AVAILABLE_TYPES = List.of("duckdb", "postgres");

  /** Staging store types that exist in this build. */
  public static final List<String> AVAILABLE_STAGING_TYPES = List.of("filesystem");

  private record Runtime(StagingStore staging, WarehouseLoader loader) {}

  private record Built(Destination destination, Runtime runtime) {}

  private final Function<String, Optional<Destination>> destinations;
  private final Executor blocking;
  private final SecretBox secrets;
  private final Path dataDir;
  private final Map<String, Built> runtimes = new ConcurrentHashMap<>();

  /**
   * @param secrets opens the sealed secret settings of a destination when its loader is built
   * @param dataDir relative paths in destination settings are relative to it
   */
  public DestinationRuntimes(Function<String, Optional<Destination>> destinations, Executor blocking,
      SecretBox secrets, Path dataDir) {
    this.destinations = destinations;
    this.blocking = blocking;
    this.secrets = secrets;
    this.dataDir = dataDir;
  }

  /** Writes a buffer's batch to the staging store of the connection's destination. */
  public BatchStager stager() {
    return (connection, batchId, rows) -> CompletableFuture.supplyAsync(() -> stage(connection, batchId, rows),
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

  /** The column whose UTC day is a row's period (the one staged files are partitioned by). */
  static String timestampColumn(Connection connection) {
    return "received_at";
  }

  private List<StagedFile> stage(Connection connection, String batchId, List<StagedRow> rows) {
    try {
      return new BatchFileWriter(runtime(connection.destinationId()).staging()).write(connection.id(), batchId, rows);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException("staging " + batchId + " failed: " + e.getMessage(), e);
    }
  }

  private LoadCoordinator.LoadOutcome load(Connection connection, List<StagedBatch> batches) {
    Map<String, TableSpec> specs = new java.util.LinkedHashMap<>();
    batches.forEach(b -> b.files().forEach(f -> specs.put(f.table(), tableSpec(connection, f.table()))));
    WarehouseLoader.LoadRequest request = new WarehouseLoader.LoadRequest(connection.schema(), specs,
        batches.stream().map(b -> new WarehouseLoader.StagedBatchFiles(b.batchId(), b.files())).toList());
    try {
      WarehouseLoader.LoadResult result = runtime(connection.destinationId()).loader().load(request);
      List<String> done = new java.util.ArrayList<>(result.loadedBatchIds());
      done.addAll(result.skippedBatchIds());
      return new LoadCoordinator.LoadOutcome(done, result.totalRowsInserted());
    } catch (WarehouseLoader.LoadException e) {
      throw new java.util.concurrent.CompletionException(e);
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
    return staging.list(connection.id()).stream().map(k -> k.split("/")[1]).distinct().sorted().toList();
  }

  /** The destination's store and loader, rebuilt when its registry entry changed (PATCH applies live). */
  private Runtime runtime(String destinationId) {
    Destination d = destinations.apply(destinationId).orElseThrow(() ->
        new IllegalStateException("destination " + destinationId + " is not in the registry cache"));
    return runtimes.compute(destinationId, (id, built) ->
        built != null && built.destination().equals(d) ? built : new Built(d, build(d))).runtime();
  }

  private Runtime build(Destination d) {
    StagingStore staging = staging(d);
    WarehouseLoader loader = switch (d.type()) {
      case "duckdb" -> new DuckDbLoader(path(d.configValue("path").orElseThrow()), staging);
      case "postgres" -> new weir.loaders.warehouse.postgres.PostgresLoader(d.configValue("url").orElseThrow(),
          d.configValue("user").orElseThrow(), secrets.open(d.configValue("password").orElse("")),
          d.configValue("schema_prefix").orElse(""), staging);
      default -> throw new IllegalStateException("destination type " + d.type() + " is not available");
    };
    return new Runtime(staging, loader);
  }

  private StagingStore staging(Destination d) {
    String type = d.staging().getOrDefault("type", "filesystem");
    if (!type.equals("filesystem")) {
      throw new IllegalStateException("staging type " + type + " is not available in this build");
    }
    return new FilesystemStagingStore(path(secrets.open(d.staging().get("path"))));
  }

  private Path path(String configured) {
    Path p = Path.of(configured);
    return p.isAbsolute() ? p : dataDir.resolve(p);
  }
}
