package weir.node.datasync;

import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import weir.loaders.datasync.ExportLoader;
import weir.loaders.staging.StagingStore;
import weir.loaders.warehouse.WarehouseLoader;
import weir.node.load.DestinationRuntimes;
import weir.persistence.registry.Connection;

/**
 * Runs the syncs of {@code datasync} connections: opens the connection's source store (the folder
 * that holds {@code exportmanifest.json} is the store's root: a filesystem {@code path}, an S3 or
 * GCS {@code prefix}) and loads its exports into the connection's warehouse with {@link
 * ExportLoader}, on the node's blocking executor.
 */
public final class DataSyncImporter implements DataSyncImport.Importer {
  private final DestinationRuntimes runtimes;

  public DataSyncImporter(DestinationRuntimes runtimes) {
    this.runtimes = runtimes;
  }

  @Override
  public CompletionStage<ExportLoader.Summary> sync(Connection connection, boolean resync) {
    return runtimes.withWarehouse(
        connection.destinationId(),
        (staging, loader) -> {
          try (StagingStore source = runtimes.openStore(connection.id(), connection.source())) {
            return new ExportLoader(source, "", staging, loader).sync(connection.schema(), resync);
          } catch (WarehouseLoader.LoadException e) {
            throw new CompletionException(e);
          }
        });
  }
}
