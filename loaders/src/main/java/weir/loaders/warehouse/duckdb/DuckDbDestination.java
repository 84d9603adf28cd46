package weir.loaders.warehouse.duckdb;

import java.util.List;
import java.util.Map;
import weir.loaders.destination.ConfigSpec;
import weir.loaders.destination.DestinationContext;
import weir.loaders.destination.DestinationRuntime;
import weir.loaders.destination.DestinationType;
import weir.loaders.staging.StagingStore;

/** Destination type {@code duckdb}: a DuckDB database file. */
public final class DuckDbDestination implements DestinationType {
  @Override
  public boolean loadsConnectorTables() {
    return true;
  }

  @Override
  public String name() {
    return "duckdb";
  }

  @Override
  public ConfigSpec spec() {
    return ConfigSpec.of(
        ConfigSpec.required(
            "path", "The database file: absolute, or relative to the data directory."));
  }

  @Override
  public List<String> stagingTypes() {
    return List.of("filesystem", "s3", "gcs");
  }

  @Override
  public DestinationRuntime open(
      Map<String, String> config, StagingStore staging, DestinationContext context) {
    return DestinationRuntime.warehouse(
        staging, new DuckDbLoader(context.resolve(config.get("path")), staging), context);
  }
}
