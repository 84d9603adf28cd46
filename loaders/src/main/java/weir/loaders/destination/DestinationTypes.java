package weir.loaders.destination;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import weir.protocol.Json;

/**
 * The destination and staging types on the classpath ({@link ServiceLoader}), and what the node
 * does with any of them through their specs: validate a config (every error names its field), tell
 * its secret fields, open its secrets, refuse node-local storage in a cluster that shares none.
 */
public final class DestinationTypes {
  /** How a secret value is answered, and the value a PATCH sends to keep the stored one. */
  public static final String MASK = "********";

  private final Map<String, DestinationType> types;
  private final Map<String, StagingType> stagingTypes;

  private DestinationTypes(
      Collection<DestinationType> types, Collection<StagingType> stagingTypes) {
    Map<String, DestinationType> t = new TreeMap<>();
    for (DestinationType type : types) {
      if (t.put(type.name(), type) != null) {
        throw new IllegalStateException("two destination types are named " + type.name());
      }
    }
    Map<String, StagingType> s = new TreeMap<>();
    for (StagingType type : stagingTypes) {
      if (s.put(type.name(), type) != null)
        throw new IllegalStateException("two staging types are named " + type.name());
    }
    this.types = Map.copyOf(t);
    this.stagingTypes = Map.copyOf(s);
    for (DestinationType type : types) {
      for (String st : type.stagingTypes()) {
        if (!s.containsKey(st))
          throw new IllegalStateException(type.name() + " stages in unknown type " + st);
      }
      if (type.lakeStore() != null && !s.containsKey(type.lakeStore())) {
        throw new IllegalStateException(
            type.name() + " delivers into unknown store type " + type.lakeStore());
      }
    }
  }

  /** Every type the classpath declares. */
  public static DestinationTypes load() {
    List<DestinationType> types = new ArrayList<>();
    ServiceLoader.load(DestinationType.class).forEach(types::add);
    List<StagingType> staging = new ArrayList<>();
    ServiceLoader.load(StagingType.class).forEach(staging::add);
    return new DestinationTypes(types, staging);
  }

  public static DestinationTypes of(
      Collection<DestinationType> types, Collection<StagingType> stagingTypes) {
    return new DestinationTypes(types, stagingTypes);
  }

  /** Names of the destination types, sorted. */
  public List<String> names() {
    return types.keySet().stream().sorted().toList();
  }

  /** Names of the staging types, sorted. */
  public List<String> stagingNames() {
    return stagingTypes.keySet().stream().sorted().toList();
  }

  public Optional<DestinationType> type(String name) {
    return Optional.ofNullable(types.get(name));
  }

  public Optional<StagingType> stagingType(String name) {
    return Optional.ofNullable(stagingTypes.get(name));
  }

  /** The type of a registered destination (its type was validated when it was created). */
  public DestinationType get(String name) {
    return type(name)
        .orElseThrow(
            () ->
                new IllegalStateException(
                    "destination type " + name + " is not available " + "on this node"));
  }

  /**
   * A validated config: flat settings and, for warehouses, the staging settings ({@code type}
   * first).
   */
  public record Validated(Map<String, String> config, Map<String, String> staging) {}

  /**
   * Validates {@code config} (a JSON object, secrets in clear) for {@code type}. {@code
   * defaultStaging} is used by warehouses when no staging object is given.
   */
  public Validated validate(String type, JsonNode config, Map<String, String> defaultStaging)
      throws InvalidConfig {
    DestinationType t = types.get(type);
    if (t == null) {
      throw new InvalidConfig(
          "Field 'type' must be one of " + String.join(", ", names()) + "; got '" + type + "'.");
    }
    if (config == null || config.isNull()) config = Json.MAPPER.createObjectNode();
    if (!config.isObject()) throw new InvalidConfig("Field 'config' must be a JSON object.");
    ObjectNode rest = ((ObjectNode) config).deepCopy();
    JsonNode stagingNode = rest.remove("staging");
    Map<String, String> flat = flatten("config", type, "destination", t.spec(), rest);
    t.validate("config", flat);

    Map<String, String> staging = Map.of();
    if (!t.stagingTypes().isEmpty()) {
      List<String> allowed = t.stagingTypes();
      if (stagingNode == null || stagingNode.isNull()) {
        if (t.stagingRequired()) {
          throw new InvalidConfig(
              "Field 'config.staging' is required for a "
                  + type
                  + " destination ("
                  + t.stagingRequiredReason()
                  + ").");
        }
        staging = defaultStaging;
      } else {
        if (!stagingNode.isObject() || !stagingNode.path("type").isTextual()) {
          throw new InvalidConfig(
              "Field 'config.staging' must be an object with a 'type' ("
                  + String.join(", ", allowed)
                  + ").");
        }
        ObjectNode s = ((ObjectNode) stagingNode).deepCopy();
        String stagingType = s.remove("type").asText();
        if (!allowed.contains(stagingType)) {
          throw new InvalidConfig(
              "Field 'config.staging.type' must be one of "
                  + String.join(", ", allowed)
                  + " for a "
                  + type
                  + " destination; got '"
                  + stagingType
                  + "'.");
        }
        StagingType st = stagingTypes.get(stagingType);
        Map<String, String> m = new LinkedHashMap<>();
        m.put("type", stagingType);
        m.putAll(flatten("config.staging", stagingType, "staging", stagingSpec(st), s));
        st.validate("config.staging", m);
        staging = m;
      }
    } else if (stagingNode != null && !stagingNode.isNull()) {
      throw new InvalidConfig(
          "unknown_field",
          "Field 'config.staging' does not apply to a "
              + type
              + " destination: it is a storage destination itself.");
    }
    return new Validated(flat, staging);
  }

  /**
   * Validates a store object ({@code {type, ...settings}}, secrets in clear) of one of the staging
   * types: e.g. the source of a {@code datasync} connection. {@code field} names it in messages.
   * Returns the settings, {@code type} first.
   */
  public Map<String, String> validateStore(String field, JsonNode node) throws InvalidConfig {
    if (node == null || !node.isObject() || !node.path("type").isTextual()) {
      throw new InvalidConfig(
          "Field '"
              + field
              + "' must be an object with a 'type' ("
              + String.join(", ", stagingNames())
              + ") and that store's settings.");
    }
    ObjectNode s = ((ObjectNode) node).deepCopy();
    String type = s.remove("type").asText();
    StagingType st = stagingTypes.get(type);
    if (st == null) {
      throw new InvalidConfig(
          "Field '"
              + field
              + ".type' must be one of "
              + String.join(", ", stagingNames())
              + "; got '"
              + type
              + "'.");
    }
    Map<String, String> m = new LinkedHashMap<>();
    m.put("type", type);
    m.putAll(flatten(field, type, "store", st.spec(), s));
    st.validate(field, m);
    return m;
  }

  /** A staging object's settings: its type's, and how long staged files are kept. */
  public static ConfigSpec stagingSpec(StagingType type) {
    return type.spec()
        .and(
            ConfigSpec.count(
                "retention_days",
                "Days staged files are kept after their batch was "
                    + "loaded (0: deleted once loaded; absent: kept forever).",
                "a whole number of days, 0 or more (0: delete "
                    + "staged files once loaded; absent: keep them forever)"));
  }

  private static Map<String, String> flatten(
      String prefix, String type, String what, ConfigSpec spec, ObjectNode object)
      throws InvalidConfig {
    Map<String, String> out = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = object.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      String name = prefix + "." + e.getKey();
      Optional<ConfigSpec.Field> field = spec.field(e.getKey());
      if (field.isEmpty()) {
        throw new InvalidConfig(
            "unknown_field",
            "Field '"
                + name
                + "' is not a setting of a "
                + type
                + " destination; known: "
                + spec.fields().stream()
                    .map(ConfigSpec.Field::name)
                    .collect(Collectors.joining(", "))
                + ".");
      }
      JsonNode v = e.getValue();
      if (v.isNull()) continue;
      if (!v.isValueNode()) throw new InvalidConfig("Field '" + name + "' must be a string.");
      String text = v.asText();
      if (text.isBlank()) throw new InvalidConfig("Field '" + name + "' must not be empty.");
      switch (field.get().kind()) {
        case BOOLEAN -> {
          if (!Set.of("true", "false").contains(text)) {
            throw new InvalidConfig("Field '" + name + "' must be " + field.get().expected() + ".");
          }
        }
        case COUNT -> {
          try {
            if (Integer.parseInt(text) < 0) throw new NumberFormatException();
          } catch (NumberFormatException bad) {
            throw new InvalidConfig("Field '" + name + "' must be " + field.get().expected() + ".");
          }
        }
        case STRING -> {}
      }
      out.put(e.getKey(), text);
    }
    for (ConfigSpec.Field f : spec.fields()) {
      if (f.required() && !out.containsKey(f.name())) {
        throw new InvalidConfig(
            "Field '" + prefix + "." + f.name() + "' is required for a " + type + " " + what + ".");
      }
    }
    return out;
  }

  /**
   * In a cluster whose nodes share no staging directory, files must go to storage every node sees:
   * a warehouse stages in a shared store, and no data lake delivers to a node's own disk.
   */
  public void requireSharedStorage(String type, Map<String, String> staging) throws InvalidConfig {
    DestinationType t = get(type);
    List<String> shared =
        stagingTypes.values().stream()
            .filter(s -> !s.local())
            .map(StagingType::name)
            .sorted()
            .toList();
    if (t.lakeStore() != null && stagingTypes.get(t.lakeStore()).local()) {
      throw new InvalidConfig(
          "Field 'type' cannot be "
              + type
              + " in this cluster: its nodes share no staging "
              + "directory (WEIR_STAGING_SHARED is not set); deliver to "
              + String.join(" or ", shared)
              + " instead.");
    }
    String stagingType = staging.get("type");
    if (stagingType != null
        && stagingTypes.containsKey(stagingType)
        && stagingTypes.get(stagingType).local()) {
      throw new InvalidConfig(
          "Field 'config.staging' must be an "
              + String.join(" or ", shared)
              + " staging object in "
              + "this cluster: its nodes share no staging directory (WEIR_STAGING_SHARED is not set).");
    }
  }

  /**
   * Days a destination of {@code type} keeps staged files after loading ({@link
   * DestinationType#retentionDays}: -1 forever, 0 until loaded); -1 for an unknown type.
   */
  public int retentionDays(String type, Map<String, String> config, Map<String, String> staging) {
    DestinationType t = types.get(type);
    return t == null ? -1 : t.retentionDays(config, staging);
  }

  /** The secret fields of a type's config. */
  public Set<String> secretFields(String type) {
    DestinationType t = types.get(type);
    return t == null ? Set.of() : secrets(t.spec());
  }

  /** The secret fields of a staging type's settings. */
  public Set<String> stagingSecretFields(String stagingType) {
    StagingType t = stagingTypes.get(stagingType);
    return t == null ? Set.of() : secrets(t.spec());
  }

  private static Set<String> secrets(ConfigSpec spec) {
    return spec.fields().stream()
        .filter(ConfigSpec.Field::secret)
        .map(ConfigSpec.Field::name)
        .collect(Collectors.toUnmodifiableSet());
  }

  /**
   * {@code values} with every secret field passed through {@code open} (sealed at rest → clear).
   */
  public static Map<String, String> openSecrets(
      Map<String, String> values, Set<String> secretFields, UnaryOperator<String> open) {
    Map<String, String> out = new LinkedHashMap<>();
    values.forEach((k, v) -> out.put(k, secretFields.contains(k) ? open.apply(v) : v));
    return out;
  }
}
