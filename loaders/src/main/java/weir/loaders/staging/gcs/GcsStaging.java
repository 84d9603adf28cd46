package weir.loaders.staging.gcs;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.util.Map;
import weir.loaders.destination.ConfigSpec;
import weir.loaders.destination.DestinationContext;
import weir.loaders.destination.InvalidConfig;
import weir.loaders.destination.StagingType;
import weir.loaders.staging.StagingStore;
import weir.protocol.Json;

/**
 * Staging type {@code gcs}: a bucket and prefix in Google Cloud Storage, with a service account
 * key.
 */
public final class GcsStaging implements StagingType {
  static final ConfigSpec SPEC =
      ConfigSpec.of(
          ConfigSpec.required("bucket", "The bucket."),
          ConfigSpec.optional("prefix", "Object name prefix of every file."),
          ConfigSpec.secret("service_account_json", true, "A service account key (the JSON file)."),
          ConfigSpec.optional("endpoint", "A GCS-compatible endpoint; absent: Google."));

  @Override
  public String name() {
    return "gcs";
  }

  @Override
  public ConfigSpec spec() {
    return SPEC;
  }

  @Override
  public void validate(String prefix, Map<String, String> config) throws InvalidConfig {
    checkServiceAccount(prefix + ".service_account_json", config.get("service_account_json"));
  }

  /** A Google service account key: JSON with type service_account, client_email and private_key. */
  public static void checkServiceAccount(String field, String json) throws InvalidConfig {
    if (json == null) return;
    JsonNode key;
    try {
      key = Json.MAPPER.readTree(json);
    } catch (IOException e) {
      key = null;
    }
    if (key == null
        || !key.path("type").asText().equals("service_account")
        || !key.path("client_email").isTextual()
        || !key.path("private_key").asText().contains("PRIVATE KEY")) {
      // Never echo the value: it is a secret.
      throw new InvalidConfig(
          "Field '"
              + field
              + "' must be a Google service account key (the JSON file with "
              + "\"type\": \"service_account\", \"client_email\" and \"private_key\").");
    }
  }

  @Override
  public StagingStore open(Map<String, String> config, DestinationContext context) {
    try {
      return new GcsStagingStore(
          GcsStagingStore.client(config.get("service_account_json"), config.get("endpoint")),
          config.get("bucket"),
          config.get("prefix"));
    } catch (IOException e) {
      throw new IllegalStateException(
          "the GCS service account key is not usable: " + e.getMessage(), e);
    }
  }
}
