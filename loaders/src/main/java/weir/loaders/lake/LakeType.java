package weir.loaders.lake;

import java.util.List;
import java.util.Map;
import java.util.Set;
import weir.loaders.destination.ConfigSpec;
import weir.loaders.destination.DestinationContext;
import weir.loaders.destination.DestinationRuntime;
import weir.loaders.destination.DestinationType;
import weir.loaders.destination.InvalidConfig;
import weir.loaders.destination.StagingType;
import weir.loaders.files.FileFormat;
import weir.loaders.staging.StagingStore;

/**
 * A data-lake destination over a staging type: the connection's files are delivered into that store
 * in the destination's {@code format} and {@code compression}, with a manifest per batch ({@link
 * LakeDelivery}); nothing is loaded anywhere else. The subclasses in the store packages ({@code
 * s3}, {@code gcs}, {@code filesystem}) name the store.
 */
public abstract class LakeType implements DestinationType {
  private static final Set<String> FORMATS = Set.of("ndjson", "avro", "parquet");
  private static final Map<String, List<String>> COMPRESSIONS =
      Map.of(
          "ndjson", List.of("gzip", "none"),
          "avro", List.of("deflate", "snappy", "none"),
          "parquet", List.of("snappy", "gzip", "none"));

  private final StagingType store;

  protected LakeType(StagingType store) {
    this.store = store;
  }

  @Override
  public String name() {
    return store.name();
  }

  @Override
  public ConfigSpec spec() {
    return store
        .spec()
        .and(
            ConfigSpec.optional("format", "ndjson (default), avro or parquet."),
            ConfigSpec.optional(
                "compression",
                "ndjson: gzip (default) or none; avro: deflate (default), snappy or "
                    + "none; parquet: snappy (default), gzip or none."));
  }

  @Override
  public List<String> stagingTypes() {
    return List.of();
  }

  @Override
  public String lakeStore() {
    return store.name();
  }

  @Override
  public void validate(String prefix, Map<String, String> config) throws InvalidConfig {
    store.validate(prefix, config);
    String format = config.getOrDefault("format", "ndjson");
    if (!FORMATS.contains(format)) {
      throw new InvalidConfig("Field '" + prefix + ".format' must be ndjson, avro or parquet.");
    }
    String compression = config.getOrDefault("compression", COMPRESSIONS.get(format).get(0));
    if (!COMPRESSIONS.get(format).contains(compression)) {
      throw new InvalidConfig(
          "Field '"
              + prefix
              + ".compression' must be one of "
              + String.join(", ", COMPRESSIONS.get(format))
              + " for "
              + format
              + " files.");
    }
    config.put("format", format);
    config.put("compression", compression);
  }

  @Override
  public DestinationRuntime open(
      Map<String, String> config, StagingStore staging, DestinationContext context) {
    StagingStore own = store.open(config, context);
    FileFormat format =
        FileFormat.parse(config.get("format"), config.get("compression"), context.maxFileBytes());
    return new DestinationRuntime(own, format, new LakeDelivery(own, format));
  }

  /** A lake's files are its delivery: never deleted. */
  @Override
  public int retentionDays(Map<String, String> config, Map<String, String> staging) {
    return -1;
  }
}
