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
  public static final List<String> AVAILABLE_TYPES = List.of("duckdb");

  private record Runtime(StagingStore staging, WarehouseLoader loader) {}

  private final Function<String, Optional<Destination>> destinations;
  private final Executor blocking;
  private final Map<String, Runtime> runtimes = new ConcurrentHashMap<>();

  public DestinationRuntimes(Function<String, Optional<Destination>> destinations, Executor blocking) {
    this.destinations = destinations;
    this.blocking = blocking;
  }

  /** Writes a buffer's batch to the staging store of the connection's destination. */
  public BatchStager stager() {
    return (connection, batchId, rows) -> CompletableFuture.supplyAsync(() -> stage(connection, batchId, rows),
        blocking);
  }

  /** Loads batches into the destination's warehouse. */
  public LoadCoordinator.BatchLoader loader() {
    return (connection, batches) -> CompletableFuture.supplyAsync(() -> load(connection, batches), blocking);
  }

  private List<StagedFile> stage(Connection connection, String batchId, List<StagedRow> rows) {
    try {
      return new BatchFileWriter(runtime(connection.destinationId()).staging()).write(connection.id(), batchId, rows);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException("staging " + batchId + " failed: " + e.getMessage(), e);
    }
  }

  private LoadCoordinator.LoadOutcome load(Connection connection, List<StagedBatch> batches) {
    WarehouseLoader.LoadRequest request = new WarehouseLoader.LoadRequest(connection.schema(),
        tableSpecs(connection),
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

  /** The tables a connection loads into. */
  static Map<String, TableSpec> tableSpecs(Connection connection) {
    return switch (connection.kind()) {
      case webhook -> Map.of(connection.table(), WebhookParser.tableSpec(connection.table()));
      default -> throw new IllegalStateException("Connections of kind " + connection.kind()
          + " are not loadable in this build");
    };
  }

  private Runtime runtime(String destinationId) {
    return runtimes.computeIfAbsent(destinationId, id -> {
      Destination d = destinations.apply(id).orElseThrow(() ->
          new IllegalStateException("destination " + id + " is not in the registry cache"));
      StagingStore staging = staging(d);
      WarehouseLoader loader = switch (d.type()) {
        case "duckdb" -> new DuckDbLoader(Path.of(d.configValue("path").orElseThrow()), staging);
        default -> throw new IllegalStateException("destination type " + d.type() + " is not available");
      };
      return new Runtime(staging, loader);
    });
  }

  private static StagingStore staging(Destination d) {
    String type = d.staging().getOrDefault("type", "filesystem");
    if (!type.equals("filesystem")) {
      throw new IllegalStateException("staging type " + type + " is not available in this build");
    }
    return new FilesystemStagingStore(Path.of(d.staging().get("path")));
  }
}
