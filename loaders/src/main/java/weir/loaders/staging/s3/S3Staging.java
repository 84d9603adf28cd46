package weir.loaders.staging.s3;

import java.util.Map;
import weir.loaders.destination.ConfigSpec;
import weir.loaders.destination.DestinationContext;
import weir.loaders.destination.InvalidConfig;
import weir.loaders.destination.StagingType;
import weir.loaders.staging.StagingStore;

/** Staging type {@code s3}: a bucket and prefix in S3 or an S3-compatible store (Alpakka S3). */
public final class S3Staging implements StagingType {
  static final ConfigSpec SPEC =
      ConfigSpec.of(
          ConfigSpec.required("bucket", "The bucket."),
          ConfigSpec.optional("prefix", "Key prefix of every file."),
          ConfigSpec.required("region", "The bucket's region."),
          ConfigSpec.optional(
              "endpoint", "An S3-compatible endpoint (path-style access); absent: AWS."),
          ConfigSpec.optional(
              "access_key_id",
              "Static credentials; absent (with the secret): the default AWS chain."),
          ConfigSpec.secret("secret_access_key", false, "The secret of access_key_id."));

  @Override
  public String name() {
    return "s3";
  }

  @Override
  public ConfigSpec spec() {
    return SPEC;
  }

  @Override
  public void validate(String prefix, Map<String, String> config) throws InvalidConfig {
    if (config.containsKey("access_key_id") != config.containsKey("secret_access_key")) {
      throw new InvalidConfig(
          "Fields '"
              + prefix
              + ".access_key_id' and '"
              + prefix
              + ".secret_access_key' go together (or leave both out to use the default credential chain).");
    }
  }

  @Override
  public StagingStore open(Map<String, String> config, DestinationContext context) {
    return new S3StagingStore(
        new S3Location(
            config.get("bucket"),
            config.get("prefix"),
            config.get("region"),
            config.get("endpoint"),
            config.get("access_key_id"),
            config.get("secret_access_key")),
        context.system());
  }
}
