package weir.loaders.destination;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import weir.loaders.files.FileFormat;
import weir.loaders.staging.StagingStore;
import weir.loaders.warehouse.WarehouseLoader;

/**
 * A destination, opened: where its files are staged (or delivered), how they are written, and what
 * loads them (a warehouse loader, or a data lake's manifest writer). Closing it releases the
 * loader's and the store's clients.
 */
public record DestinationRuntime(StagingStore staging, FileFormat format, WarehouseLoader loader)
    implements AutoCloseable {

  /** A warehouse's runtime: its loader over {@code staging}, which it reads gzip NDJSON from. */
  public static DestinationRuntime warehouse(
      StagingStore staging, WarehouseLoader loader, DestinationContext context) {
    return new DestinationRuntime(
        staging, FileFormat.NDJSON_GZIP.withMaxFileBytes(context.maxFileBytes()), loader);
  }

  private static final Logger log = LoggerFactory.getLogger(DestinationRuntime.class);

  @Override
  public void close() {
    try {
      loader.close();
    } catch (Exception e) {
      log.warn("Closing a loader failed: {}", e.toString());
    }
    try {
      staging.close();
    } catch (Exception e) {
      log.warn("Closing a staging store failed: {}", e.toString());
    }
  }
}
