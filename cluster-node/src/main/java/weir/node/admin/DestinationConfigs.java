package weir.node.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import weir.protocol.Json;

/**
 * The destination types of API.md and their config: which fields exist, which are required, which are
 * secrets (encrypted at rest, answered as {@code "********"}), which staging types a warehouse takes, and
 * which types this build can actually load into. Validation names the offending field.
 */
final class DestinationConfigs {
  static final String MASK = "********";

  /** One config field. */
  record Field(String name, boolean required, boolean secret) {}

  private static Field req(String name) {
    return new Field(name, true, false);
  }

  private static Field opt(String name) {
    return new Field(name, false, false);
  }

  private static Field secret(String name, boolean required) {
    return new Field(name, required, true);
  }

  static final Map<String, List<Field>> TYPES = Map.of(
      "duckdb", List.of(req("path")),
      "postgres", List.of(req("url"), req("user"), secret("password", true), opt("schema_prefix")),
      "redshift", List.of(req("url"), req("user"), secret("password", true), req("iam_role_arn"),
          opt("delete_staged_files"), opt("schema_prefix")),
      "snowflake", List.of(req("account"), req("user"), secret("private_key", true), req("warehouse"),
          req("database"), opt("role"), opt("schema_prefix")),
      "bigquery", List.of(req("project_id"), opt("dataset_prefix"), secret("service_account_json", true),
          opt("streaming_insert")),
      "s3", List.of(req("bucket"), opt("prefix"), req("region"), opt("endpoint"), opt("access_key_id"),
          secret("secret_access_key", false), opt("format"), opt("compression")),
      "gcs", List.of(req("bucket"), opt("prefix"), secret("service_account_json", true), opt("endpoint"),
          opt("format"), opt("compression")),
      "filesystem", List.of(req("path"), opt("format"), opt("compression")));

  /** Warehouse types take a staging object; storage types are their own staging. */
  static final Set<String> WAREHOUSES = Set.of("duckdb", "postgres", "redshift", "snowflake", "bigquery");

  /** Staging types each warehouse accepts (the first is the default where one is optional). */
  static final Map<String, List<String>> STAGING_TYPES = Map.of(
      "duckdb", List.of("filesystem", "s3", "gcs"),
      "postgres", List.of("filesystem", "s3", "gcs"),
      "redshift", List.of("s3"),
      "snowflake", List.of("filesystem", "s3"),
      "bigquery", List.of("gcs", "filesystem"));

  private static final Set<String> FORMATS = Set.of("ndjson", "avro", "parquet");
  private static final Map<String, Set<String>> COMPRESSIONS = Map.of(
      "ndjson", Set.of("gzip", "none"),
      "avro", Set.of("deflate", "snappy", "none"),
      "parquet", Set.of("snappy", "gzip", "none"));

  private DestinationConfigs() {}

  /** A validated config: flat string settings and, for warehouses, the staging settings. */
  record Validated(Map<String, String> config, Map<String, String> staging) {}

  /**
   * Validates {@code config} (a JSON object) for {@code type}. Secret values are taken as given: the
   * caller seals them. {@code defaultStaging} is used by warehouses when no staging object is given.
   */
  static Validated validate(String type, JsonNode config, Map<String, String> defaultStaging) throws BadRequest {
    List<Field> fields = TYPES.get(type);
    if (fields == null) {
      throw new BadRequest("invalid_field", "Field 'type' must be one of "
          + TYPES.keySet().stream().sorted().collect(Collectors.joining(", ")) + "; got '" + type + "'.");
    }
    if (config == null || config.isNull()) config = Json.MAPPER.createObjectNode();
    if (!config.isObject()) throw new BadRequest("invalid_field", "Field 'config' must be a JSON object.");
    ObjectNode rest = ((ObjectNode) config).deepCopy();
    JsonNode stagingNode = rest.remove("staging");
    Map<String, String> flat = flatten("config", type, fields, rest);
    checkFormat("config", type, flat);

    Map<String, String> staging = Map.of();
    if (WAREHOUSES.contains(type)) {
      List<String> allowed = STAGING_TYPES.get(type);
      if (stagingNode == null || stagingNode.isNull()) {
        if (type.equals("redshift")) {
          throw new BadRequest("invalid_field", "Field 'config.staging' is required for a redshift destination"
              + " (an s3 staging bucket that Redshift COPYs from).");
        }
        staging = defaultStaging;
      } else {
        if (!stagingNode.isObject() || !stagingNode.path("type").isTextual()) {
          throw new BadRequest("invalid_field", "Field 'config.staging' must be an object with a 'type' ("
              + String.join(", ", allowed) + ").");
        }
        ObjectNode s = ((ObjectNode) stagingNode).deepCopy();
        String stagingType = s.remove("type").asText();
        if (!allowed.contains(stagingType)) {
          throw new BadRequest("invalid_field", "Field 'config.staging.type' must be one of "
              + String.join(", ", allowed) + " for a " + type + " destination; got '" + stagingType + "'.");
        }
        // Warehouses read gzip NDJSON: staging takes no format; it may set how long files are kept.
        List<Field> stagingFields = new java.util.ArrayList<>(TYPES.get(stagingType).stream()
            .filter(f -> !f.name().equals("format") && !f.name().equals("compression")).toList());
        stagingFields.add(opt("retention_days"));
        Map<String, String> m = new LinkedHashMap<>();
        m.put("type", stagingType);
        m.putAll(flatten("config.staging", stagingType, stagingFields, s));
        if (m.containsKey("retention_days")) {
          try {
            if (Integer.parseInt(m.get("retention_days")) < 0) throw new NumberFormatException();
          } catch (NumberFormatException e) {
            throw new BadRequest("invalid_field", "Field 'config.staging.retention_days' must be a whole number of"
                + " days, 0 or more (0: delete staged files once loaded; absent: keep them forever).");
          }
        }
        staging = m;
      }
    } else if (stagingNode != null && !stagingNode.isNull()) {
      throw new BadRequest("unknown_field", "Field 'config.staging' does not apply to a " + type
          + " destination: it is a storage destination itself.");
    }
    return new Validated(flat, staging);
  }

  private static Map<String, String> flatten(String prefix, String type, List<Field> fields, ObjectNode object)
      throws BadRequest {
    Map<String, String> out = new LinkedHashMap<>();
    Set<String> known = fields.stream().map(Field::name).collect(Collectors.toSet());
    for (Iterator<Map.Entry<String, JsonNode>> it = object.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      String name = prefix + "." + e.getKey();
      if (!known.contains(e.getKey())) {
        throw new BadRequest("unknown_field", "Field '" + name + "' is not a setting of a " + type
            + " destination; known: " + fields.stream().map(Field::name).collect(Collectors.joining(", ")) + ".");
      }
      JsonNode v = e.getValue();
      if (v.isNull()) continue;
      if (!v.isValueNode()) throw new BadRequest("invalid_field", "Field '" + name + "' must be a string.");
      String text = v.asText();
      if (text.isBlank()) throw new BadRequest("invalid_field", "Field '" + name + "' must not be empty.");
      out.put(e.getKey(), text);
    }
    for (Field f : fields) {
      if (f.required() && !out.containsKey(f.name())) {
        throw new BadRequest("invalid_field", "Field '" + prefix + "." + f.name() + "' is required for a " + type
            + (prefix.endsWith("staging") ? " staging" : " destination") + ".");
      }
    }
    if (type.equals("s3") && out.containsKey("access_key_id") != out.containsKey("secret_access_key")) {
      throw new BadRequest("invalid_field", "Fields '" + prefix + ".access_key_id' and '" + prefix
          + ".secret_access_key' go together (or leave both out to use the default credential chain).");
    }
    if (type.equals("snowflake") && !weir.persistence.secrets.SecretBox.isSealed(out.get("private_key"))) {
      try {
        weir.loaders.warehouse.snowflake.SnowflakeLoader.privateKey(out.get("private_key"));
      } catch (IllegalArgumentException e) {
        throw new BadRequest("invalid_field", "Field '" + prefix + ".private_key' must be an unencrypted PKCS#8 RSA"
            + " private key in PEM form (-----BEGIN PRIVATE KEY-----), the key of the Snowflake user's key pair.");
      }
    }
    for (String flag : List.of("delete_staged_files", "streaming_insert")) {
      if (out.containsKey(flag) && !Set.of("true", "false").contains(out.get(flag))) {
        throw new BadRequest("invalid_field", "Field '" + prefix + "." + flag + "' must be true or false.");
      }
    }
    if (out.containsKey("service_account_json")) checkServiceAccount(prefix + ".service_account_json",
        out.get("service_account_json"));
    if ((type.equals("postgres") || type.equals("redshift")) && !out.get("url").startsWith("jdbc:")) {
      throw new BadRequest("invalid_field", "Field '" + prefix + ".url' must be a JDBC URL (jdbc:"
          + (type.equals("postgres") ? "postgresql" : "redshift") + "://host:port/database).");
    }
    return out;
  }

  /** A Google service account key: JSON with type service_account, client_email and private_key. */
  private static void checkServiceAccount(String field, String json) throws BadRequest {
    // A stored (sealed) key was checked when it was set.
    if (weir.persistence.secrets.SecretBox.isSealed(json)) return;
    JsonNode key;
    try {
      key = Json.MAPPER.readTree(json);
    } catch (java.io.IOException e) {
      key = null;
    }
    if (key == null || !key.path("type").asText().equals("service_account") || !key.path("client_email").isTextual()
        || !key.path("private_key").asText().contains("PRIVATE KEY")) {
      // Never echo the value: it is a secret.
      throw new BadRequest("invalid_field", "Field '" + field + "' must be a Google service account key (the JSON"
          + " file with \"type\": \"service_account\", \"client_email\" and \"private_key\").");
    }
  }

  private static void checkFormat(String prefix, String type, Map<String, String> flat) throws BadRequest {
    if (!TYPES.get(type).stream().anyMatch(f -> f.name().equals("format"))) return;
    String format = flat.getOrDefault("format", "ndjson");
    if (!FORMATS.contains(format)) {
      throw new BadRequest("invalid_field", "Field '" + prefix + ".format' must be ndjson, avro or parquet.");
    }
    String compression = flat.getOrDefault("compression", format.equals("ndjson") ? "gzip"
        : format.equals("avro") ? "deflate" : "snappy");
    if (!COMPRESSIONS.get(format).contains(compression)) {
      throw new BadRequest("invalid_field", "Field '" + prefix + ".compression' must be one of "
          + String.join(", ", COMPRESSIONS.get(format)) + " for " + format + " files.");
    }
    flat.put("format", format);
    flat.put("compression", compression);
  }

  /**
   * In a cluster whose nodes share no staging directory, files must go to storage every node sees: a
   * warehouse stages in S3 or GCS, and there is no {@code filesystem} data lake.
   */
  static void requireSharedStorage(String type, Map<String, String> staging) throws BadRequest {
    if (type.equals("filesystem")) {
      throw new BadRequest("invalid_field", "Field 'type' cannot be filesystem in this cluster: its nodes share no "
          + "staging directory (WEIR_STAGING_SHARED is not set); deliver to s3 or gcs instead.");
    }
    if ("filesystem".equals(staging.get("type"))) {
      throw new BadRequest("invalid_field", "Field 'config.staging' must be an s3 or gcs staging object in this "
          + "cluster: its nodes share no staging directory (WEIR_STAGING_SHARED is not set).");
    }
  }

  /** Names of the secret fields of a type (config) and of its staging type. */
  static Set<String> secretFields(String type) {
    List<Field> fields = TYPES.get(type);
    return fields == null ? Set.of()
        : fields.stream().filter(Field::secret).map(Field::name).collect(Collectors.toSet());
  }
}
