package weir.loaders.warehouse.bigquery;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import weir.loaders.destination.ConfigSpec;
import weir.loaders.destination.DestinationContext;
import weir.loaders.destination.DestinationRuntime;
import weir.loaders.destination.DestinationType;
import weir.loaders.destination.InvalidConfig;
import weir.loaders.staging.StagingStore;
import weir.loaders.staging.gcs.GcsStaging;

/** Destination type {@code bigquery}: Google BigQuery with a service account key. */
public final class BigQueryDestination implements DestinationType {
  @Override
  public String name() {
    return "bigquery";
  }

  @Override
  public ConfigSpec spec() {
    return ConfigSpec.of(
        ConfigSpec.required("project_id", "The Google Cloud project."),
        ConfigSpec.optional("dataset_prefix", "Prepended to every connection's dataset name."),
        ConfigSpec.secret("service_account_json", true, "A service account key (the JSON file)."),
        ConfigSpec.flag(
            "streaming_insert", "true: append tables get their rows by streaming inserts."));
  }

  @Override
  public List<String> stagingTypes() {
    return List.of("gcs", "filesystem");
  }

  @Override
  public void validate(String prefix, Map<String, String> config) throws InvalidConfig {
    GcsStaging.checkServiceAccount(
        prefix + ".service_account_json", config.get("service_account_json"));
  }

  @Override
  public DestinationRuntime open(
      Map<String, String> config, StagingStore staging, DestinationContext context) {
    try {
      return DestinationRuntime.warehouse(
          staging,
          new BigQueryLoader(
              BigQueryLoader.client(config.get("project_id"), config.get("service_account_json")),
              staging,
              config.getOrDefault("dataset_prefix", ""),
              "true".equals(config.get("streaming_insert"))),
          context);
    } catch (IOException e) {
      throw new IllegalStateException(
          "the BigQuery service account key is not usable: " + e.getMessage(), e);
    }
  }
}
