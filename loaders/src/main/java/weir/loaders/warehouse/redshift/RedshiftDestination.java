package weir.loaders.warehouse.redshift;

import java.util.List;
import java.util.Map;
import weir.loaders.destination.ConfigSpec;
import weir.loaders.destination.DestinationContext;
import weir.loaders.destination.DestinationRuntime;
import weir.loaders.destination.DestinationType;
import weir.loaders.destination.InvalidConfig;
import weir.loaders.staging.StagingStore;
import weir.loaders.staging.s3.S3StagingStore;
import weir.loaders.warehouse.postgres.PostgresDestination;

/** Destination type {@code redshift}: Amazon Redshift, staging in S3 (COPY reads from there). */
public final class RedshiftDestination implements DestinationType {
  @Override
  public String name() {
    return "redshift";
  }

  @Override
  public ConfigSpec spec() {
    return ConfigSpec.of(
        ConfigSpec.required("url", "JDBC URL, jdbc:redshift://host:port/database."),
        ConfigSpec.required("user", "The database user."),
        ConfigSpec.secret("password", true, "Its password."),
        ConfigSpec.required(
            "iam_role_arn", "The IAM role Redshift's COPY reads the S3 staging with."),
        ConfigSpec.flag(
            "delete_staged_files", "true: staged files are deleted once loaded (retention 0)."),
        ConfigSpec.optional("schema_prefix", "Prepended to every connection's schema name."));
  }

  @Override
  public List<String> stagingTypes() {
    return List.of("s3");
  }

  @Override
  public boolean stagingRequired() {
    return true;
  }

  @Override
  public String stagingRequiredReason() {
    return "an s3 staging bucket that Redshift COPYs from";
  }

  @Override
  public void validate(String prefix, Map<String, String> config) throws InvalidConfig {
    PostgresDestination.jdbcUrl(prefix, config, "redshift");
  }

  /**
   * The staging's {@code retention_days} when set; else {@code delete_staged_files=true} is
   * retention 0.
   */
  @Override
  public int retentionDays(Map<String, String> config, Map<String, String> staging) {
    if (staging.containsKey("retention_days"))
      return Integer.parseInt(staging.get("retention_days"));
    return "true".equals(config.get("delete_staged_files")) ? 0 : -1;
  }

  @Override
  public DestinationRuntime open(
      Map<String, String> config, StagingStore staging, DestinationContext context) {
    String region = staging instanceof S3StagingStore s3 ? s3.location().region() : null;
    return DestinationRuntime.warehouse(
        staging,
        new RedshiftLoader(
            RedshiftLoader.driver(config.get("url"), config.get("user"), config.get("password")),
            staging,
            config.get("iam_role_arn"),
            region,
            config.getOrDefault("schema_prefix", "")),
        context);
  }
}
