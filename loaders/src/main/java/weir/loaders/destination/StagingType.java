package weir.loaders.destination;

import java.util.Map;
import weir.loaders.staging.StagingStore;

/**
 * A kind of staging store (filesystem, S3, GCS): where a warehouse's staged files wait and are
 * archived, and what a data lake delivers into. Found through {@link java.util.ServiceLoader} (list
 * the class in {@code META-INF/services/weir.loaders.destination.StagingType}).
 */
public interface StagingType {
  /** The {@code type} of a staging object, e.g. {@code s3}. */
  String name();

  /** Its settings. */
  ConfigSpec spec();

  /**
   * Whether its files live on the node's own disk: then in a cluster every node must see the same
   * directory ({@code WEIR_STAGING_SHARED}), or the type is refused.
   */
  default boolean local() {
    return false;
  }

  /**
   * Checks beyond the spec, secrets in clear; may add defaults to {@code config} (a mutable map).
   * {@code prefix} names the object in messages ({@code config.staging}).
   */
  default void validate(String prefix, Map<String, String> config) throws InvalidConfig {}

  /** A store from validated settings, secrets in clear. */
  StagingStore open(Map<String, String> config, DestinationContext context);
}
