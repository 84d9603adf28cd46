package weir.loaders.warehouse.snowflake;

import java.util.List;
import java.util.Map;
import weir.loaders.destination.ConfigSpec;
import weir.loaders.destination.DestinationContext;
import weir.loaders.destination.DestinationRuntime;
import weir.loaders.destination.DestinationType;
import weir.loaders.destination.InvalidConfig;
import weir.loaders.staging.StagingStore;

/**
 * Destination type {@code snowflake}: Snowflake with key-pair authentication; the JDBC driver is
 * not bundled (it is loaded from {@code <data-dir>/drivers/snowflake-jdbc.jar}, see the README).
 */
public final class SnowflakeDestination implements DestinationType {
  @Override
  public String name() {
    return "snowflake";
  }

  @Override
  public ConfigSpec spec() {
    return ConfigSpec.of(
        ConfigSpec.required(
            "account", "The account identifier (<account>.snowflakecomputing.com)."),
        ConfigSpec.required("user", "The user."),
        ConfigSpec.secret(
            "private_key", true, "Its unencrypted PKCS#8 RSA private key in PEM form."),
        ConfigSpec.required("warehouse", "The virtual warehouse loads run on."),
        ConfigSpec.required("database", "The database."),
        ConfigSpec.optional("role", "The role, if not the user's default."),
        ConfigSpec.optional("schema_prefix", "Prepended to every connection's schema name."));
  }

  @Override
  public List<String> stagingTypes() {
    return List.of("filesystem", "s3");
  }

  @Override
  public void validate(String prefix, Map<String, String> config) throws InvalidConfig {
    try {
      SnowflakeLoader.privateKey(config.get("private_key"));
    } catch (IllegalArgumentException e) {
      throw new InvalidConfig(
          "Field '"
              + prefix
              + ".private_key' must be an unencrypted PKCS#8 RSA private key in PEM "
              + "form (-----BEGIN PRIVATE KEY-----), the key of the Snowflake user's key pair.");
    }
  }

  @Override
  public DestinationRuntime open(
      Map<String, String> config, StagingStore staging, DestinationContext context) {
    return DestinationRuntime.warehouse(
        staging,
        new SnowflakeLoader(
            SnowflakeLoader.driver(
                context.dataDir().resolve("drivers").resolve("snowflake-jdbc.jar"),
                config.get("account"),
                config.get("user"),
                config.get("private_key"),
                config.get("warehouse"),
                config.get("database"),
                config.get("role")),
            staging,
            context.dataDir().resolve("tmp").resolve("snowflake-" + context.destinationId()),
            config.getOrDefault("schema_prefix", "")),
        context);
  }
}
