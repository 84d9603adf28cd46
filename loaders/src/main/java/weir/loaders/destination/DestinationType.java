package weir.loaders.destination;

import java.util.List;
import java.util.Map;
import weir.loaders.staging.StagingStore;

/**
 * One kind of destination (DuckDB, PostgreSQL, an S3 data lake, ...): its name, its settings, its
 * checks, and how to open its runtime. Everything the node knows of a type is here: the management
 * API validates and masks configs with {@link #spec()}, the OpenAPI document lists the registered
 * types, and the node builds a type's staging store and loader with {@link #open}. Found through
 * {@link java.util.ServiceLoader}.
 *
 * <p>How to add one: a package with a class implementing this (and its loader), and one line naming
 * the class in {@code META-INF/services/weir.loaders.destination.DestinationType}
 * (loaders/README.md, "How to add a destination"). Modelled on Kafka Connect's {@code
 * Connector.config()} and Flink's {@code JdbcDialect}.
 */
public interface DestinationType {
  /** The {@code type} of the API, e.g. {@code postgres}. */
  String name();

  /** Its settings (of {@code config}, besides {@code staging}). */
  ConfigSpec spec();

  /**
   * The staging types a warehouse accepts, the default first (used when {@code config.staging} is
   * absent and {@link #stagingRequired()} is false); empty for a data lake, which is its own store
   * ({@link #lakeStore()}).
   */
  List<String> stagingTypes();

  /** Whether {@code config.staging} must be given (no default staging). */
  default boolean stagingRequired() {
    return false;
  }

  /**
   * Why the staging object is required, for the error message ("an s3 staging bucket that Redshift
   * COPYs from").
   */
  default String stagingRequiredReason() {
    return "a " + String.join(" or ", stagingTypes()) + " staging object";
  }

  /**
   * Whether connector connections may load into it: its loader merges connector operations ({@code
   * _weir_op} rows: whole-row upserts, updates of existing rows only, truncate markers) and that
   * merge is verified. Default: no.
   */
  default boolean loadsConnectorTables() {
    return false;
  }

  /** A data lake's store type (its config holds that type's settings); null for a warehouse. */
  default String lakeStore() {
    return null;
  }

  /**
   * Checks beyond the spec, secrets in clear; may add defaults to {@code config} (a mutable map).
   * {@code prefix} names the object in messages ({@code config}).
   */
  default void validate(String prefix, Map<String, String> config) throws InvalidConfig {}

  /**
   * Days staged files are kept after loading: -1 forever, 0 deleted once loaded. Default: the
   * staging object's {@code retention_days}.
   */
  default int retentionDays(Map<String, String> config, Map<String, String> staging) {
    String days = staging.get("retention_days");
    return days == null ? -1 : Integer.parseInt(days);
  }

  /**
   * Opens the runtime: for a warehouse, its loader over {@code staging} (already opened from {@code
   * config.staging}); for a data lake, its own store ({@code staging} is null) with its delivery.
   * Settings are validated, secrets in clear. The runtime is closed when the destination's settings
   * change or the node stops.
   */
  DestinationRuntime open(
      Map<String, String> config, StagingStore staging, DestinationContext context);
}
