package weir.protocol.connector;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * What happens to one connector column before it leaves the node: {@code enabled = false} blocks it
 * (never journaled, staged or loaded), {@code hashed} replaces each value by its salted SHA-256
 * (hex). A connection's policies are keyed {@code <table>.<column>}, in warehouse names.
 */
public record ColumnPolicy(boolean enabled, boolean hashed) {
  public static final ColumnPolicy DEFAULT = new ColumnPolicy(true, false);

  @JsonCreator
  public static ColumnPolicy of(
      @JsonProperty("enabled") Boolean enabled, @JsonProperty("hashed") Boolean hashed) {
    return new ColumnPolicy(enabled == null || enabled, hashed != null && hashed);
  }

  public boolean blocked() {
    return !enabled;
  }
}
