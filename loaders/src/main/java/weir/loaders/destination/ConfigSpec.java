package weir.loaders.destination;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The settings a destination or staging type takes: each field's name, kind, whether it is
 * required, whether it is a secret (encrypted at rest, answered as {@code "********"}, never
 * logged), and a sentence for the docs. The node validates configs generically against it (unknown,
 * missing, empty and mistyped fields, named in the error) and leaves the checks only a type knows
 * to {@link DestinationType#validate}; the OpenAPI document lists it.
 *
 * <p>Modelled on Kafka Connect's {@code ConfigDef}: declared once, next to the code that reads it.
 */
public record ConfigSpec(List<Field> fields) {

  /** What values a field takes. */
  public enum Kind {
    /** Any non-empty text. */
    STRING,
    /** {@code true} or {@code false}. */
    BOOLEAN,
    /** A whole number, 0 or more. */
    COUNT
  }

  /**
   * One setting.
   *
   * @param expected for the error message of a mistyped value ("a whole number of days, 0 or
   *     more"); may be null
   */
  public record Field(
      String name, Kind kind, boolean required, boolean secret, String doc, String expected) {}

  public ConfigSpec {
    fields = List.copyOf(fields);
  }

  public static ConfigSpec of(Field... fields) {
    return new ConfigSpec(List.of(fields));
  }

  public Optional<Field> field(String name) {
    return fields.stream().filter(f -> f.name().equals(name)).findFirst();
  }

  /** This spec with more fields after its own. */
  public ConfigSpec and(Field... more) {
    List<Field> all = new ArrayList<>(fields);
    all.addAll(List.of(more));
    return new ConfigSpec(all);
  }

  /** This spec without the named fields. */
  public ConfigSpec without(String... names) {
    List<String> drop = List.of(names);
    return new ConfigSpec(fields.stream().filter(f -> !drop.contains(f.name())).toList());
  }

  public static Field required(String name, String doc) {
    return new Field(name, Kind.STRING, true, false, doc, null);
  }

  public static Field optional(String name, String doc) {
    return new Field(name, Kind.STRING, false, false, doc, null);
  }

  public static Field secret(String name, boolean required, String doc) {
    return new Field(name, Kind.STRING, required, true, doc, null);
  }

  public static Field flag(String name, String doc) {
    return new Field(name, Kind.BOOLEAN, false, false, doc, "true or false");
  }

  public static Field count(String name, String doc, String expected) {
    return new Field(name, Kind.COUNT, false, false, doc, expected);
  }
}
