package weir.loaders.warehouse.postgres;

import java.util.List;
import java.util.Map;
import weir.loaders.destination.ConfigSpec;
import weir.loaders.destination.DestinationContext;
import weir.loaders.destination.DestinationRuntime;
import weir.loaders.destination.DestinationType;
import weir.loaders.destination.InvalidConfig;
import weir.loaders.staging.StagingStore;

/** Destination type {@code postgres}: a PostgreSQL database (13+). */
public final class PostgresDestination implements DestinationType {
  @Override
  public boolean loadsConnectorTables() {
    return true;
  }

  @Override
  public String name() {
    return "postgres";
  }

  @Override
  public ConfigSpec spec() {
    return ConfigSpec.of(
        ConfigSpec.required("url", "JDBC URL, jdbc:postgresql://host:port/database."),
        ConfigSpec.required("user", "The database user."),
        ConfigSpec.secret("password", true, "Its password."),
        ConfigSpec.optional("schema_prefix", "Prepended to every connection's schema name."));
  }

  @Override
  public List<String> stagingTypes() {
    return List.of("filesystem", "s3", "gcs");
  }

  @Override
  public void validate(String prefix, Map<String, String> config) throws InvalidConfig {
    jdbcUrl(prefix, config, "postgresql");
  }

  /** The {@code url} field must be a JDBC URL. */
  public static void jdbcUrl(String prefix, Map<String, String> config, String driver)
      throws InvalidConfig {
    if (!config.get("url").startsWith("jdbc:")) {
      throw new InvalidConfig(
          "Field '"
              + prefix
              + ".url' must be a JDBC URL (jdbc:"
              + driver
              + "://host:port/database).");
    }
  }

  @Override
  public DestinationRuntime open(
      Map<String, String> config, StagingStore staging, DestinationContext context) {
    return DestinationRuntime.warehouse(
        staging,
        new PostgresLoader(
            config.get("url"),
            config.get("user"),
            config.get("password"),
            config.getOrDefault("schema_prefix", ""),
            staging),
        context);
  }
}
