package weir.node.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import weir.loaders.destination.DestinationTypes;
import weir.persistence.secrets.SecretBox;

/**
 * The {@code source} of a {@code kinesis} connection: {@code {stream, region, endpoint?,
 * access_key_id?, secret_access_key? (secret), start: trim_horizon|latest, format:
 * json|segment|snowplow}}, validated and flattened for the registry, the secret key sealed; and its
 * view, the secret masked.
 */
final class KinesisSourceFields {
  private static final Set<String> FIELDS =
      Set.of(
          "stream", "region", "endpoint", "access_key_id", "secret_access_key", "start", "format");

  private KinesisSourceFields() {}

  /**
   * The source of {@code body}; on a PATCH ({@code stored} not empty) an absent field keeps its
   * value and a masked secret the stored one.
   */
  static Map<String, String> parse(ObjectNode body, Map<String, String> stored, SecretBox secrets)
      throws BadRequest {
    JsonNode src = body.get("source");
    if (src == null || !src.isObject())
      throw new BadRequest(
          "invalid_field",
          "Field 'source' is required for a kinesis connection: {stream, region, endpoint?,"
              + " access_key_id?, secret_access_key?, start?: trim_horizon|latest, format:"
              + " json|segment|snowplow}.");
    for (Iterator<String> it = src.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!FIELDS.contains(f))
        throw new BadRequest(
            "unknown_field",
            "Field 'source."
                + f
                + "' is not part of a kinesis source ("
                + String.join(", ", new TreeSet<>(FIELDS))
                + ").");
    }
    Map<String, String> out = new LinkedHashMap<>(stored);
    if (src.has("stream")) {
      String stream = src.get("stream").asText("");
      if (!stream.matches("[a-zA-Z0-9_.\\-]{1,128}"))
        throw new BadRequest(
            "invalid_field",
            "Field 'source.stream' must be a Kinesis stream name (1 to 128 of a-z, A-Z, 0-9, _ . -).");
      out.put("stream", stream);
    }
    if (src.has("region")) {
      String region = src.get("region").asText("");
      if (!region.matches("[a-z]{2}(-[a-z]+)+-\\d+|local"))
        throw new BadRequest(
            "invalid_field", "Field 'source.region' must be an AWS region such as us-east-1.");
      out.put("region", region);
    }
    if (src.has("endpoint")) {
      String endpoint = src.get("endpoint").isNull() ? "" : src.get("endpoint").asText("");
      if (endpoint.isEmpty()) out.remove("endpoint");
      else {
        try {
          java.net.URI uri = new java.net.URI(endpoint);
          if (!List.of("http", "https").contains(String.valueOf(uri.getScheme()))
              || uri.getHost() == null) throw new java.net.URISyntaxException(endpoint, "no host");
        } catch (java.net.URISyntaxException e) {
          throw new BadRequest(
              "invalid_field",
              "Field 'source.endpoint' must be an http(s) URL such as"
                  + " https://kinesis.eu-west-1.amazonaws.com.");
        }
        out.put("endpoint", endpoint);
      }
    }
    if (src.has("access_key_id")) {
      String key = src.get("access_key_id").isNull() ? "" : src.get("access_key_id").asText("");
      if (key.isEmpty()) {
        out.remove("access_key_id");
        out.remove("secret_access_key");
      } else out.put("access_key_id", key);
    }
    if (src.has("secret_access_key")) {
      String secret = src.get("secret_access_key").asText("");
      if (!DestinationTypes.MASK.equals(secret) && !secret.isEmpty())
        out.put("secret_access_key", secrets.seal(secret));
    }
    if (out.containsKey("access_key_id") != out.containsKey("secret_access_key"))
      throw new BadRequest(
          "invalid_field",
          "Fields 'source.access_key_id' and 'secret_access_key' go together (without them the"
              + " node's default AWS credentials apply).");
    if (src.has("start")) {
      String start = src.get("start").asText("");
      if (!Set.of("trim_horizon", "latest").contains(start))
        throw new BadRequest(
            "invalid_field", "Field 'source.start' must be trim_horizon or latest.");
      out.put("start", start);
    }
    if (src.has("format")) {
      String format = src.get("format").asText("");
      if (!Set.of("json", "segment", "snowplow").contains(format))
        throw new BadRequest(
            "invalid_field", "Field 'source.format' must be json, segment or snowplow.");
      out.put("format", format);
    }
    for (String required : List.of("stream", "region"))
      if (!out.containsKey(required))
        throw new BadRequest("invalid_field", "Field 'source." + required + "' is required.");
    out.putIfAbsent("start", "trim_horizon");
    out.putIfAbsent("format", "json");
    return Map.copyOf(out);
  }

  /** The source as the API shows it: the secret key masked. */
  static void view(Map<String, String> source, ObjectNode out) {
    for (String f : List.of("stream", "region", "endpoint", "access_key_id", "start", "format"))
      if (source.containsKey(f)) out.put(f, source.get(f));
    if (source.containsKey("secret_access_key"))
      out.put("secret_access_key", DestinationTypes.MASK);
  }
}
