package weir.persistence.registry;

import java.util.Map;
import java.util.Optional;
import weir.persistence.CborSerializable;

/**
 * A registered place events are delivered to: a warehouse (with a staging store) or a storage
 * bucket.
 *
 * @param id stable identifier
 * @param name human name
 * @param type {@code duckdb}, {@code postgres}, ..., {@code filesystem}
 * @param config type-specific settings (strings)
 * @param staging where staged files wait and are archived: {@code type} plus its settings
 * @param createdAtMillis creation time
 * @param deletedAtMillis when it was deleted (0: active); kept as a tombstone so pending loads can
 *     finish
 */
public record Destination(
    String id,
    String name,
    String type,
    Map<String, String> config,
    Map<String, String> staging,
    long createdAtMillis,
    long deletedAtMillis)
    implements CborSerializable {

  public boolean active() {
    return deletedAtMillis == 0;
  }

  public Destination {
    config = Map.copyOf(config);
    staging = Map.copyOf(staging);
  }

  public Optional<String> configValue(String key) {
    return Optional.ofNullable(config.get(key));
  }

  @Override
  public String toString() {
    return "Destination[" + id + " " + name + " " + type + "]";
  }
}
