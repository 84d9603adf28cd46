package weir.node.admin;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import weir.loaders.destination.ConfigSpec;
import weir.loaders.destination.DestinationType;
import weir.loaders.destination.DestinationTypes;
import weir.loaders.destination.StagingType;
import weir.protocol.Json;

/**
 * {@code GET /v1/admin/openapi.json}: the document in {@code weir/openapi.json}, with what depends
 * on the registered destination types filled in from them (never written twice): the {@code type}
 * enumeration of destinations and one schema per type's config ({@code DestinationConfig_<type>})
 * and per staging type ({@code Staging_<type>}).
 */
final class OpenApiDocument {
  private OpenApiDocument() {}

  static byte[] render(DestinationTypes types) {
    ObjectNode doc;
    try (InputStream in = OpenApiDocument.class.getResourceAsStream("/weir/openapi.json")) {
      if (in == null) throw new IllegalStateException("openapi.json missing from the node jar");
      doc = (ObjectNode) Json.MAPPER.readTree(in);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read openapi.json", e);
    }
    ObjectNode schemas = (ObjectNode) doc.with("components").with("schemas");
    ArrayNode names =
        ((ObjectNode) schemas.at("/DestinationCreate/properties/type")).putArray("enum");
    types.names().forEach(names::add);
    for (String name : types.names()) {
      DestinationType t = types.get(name);
      ObjectNode schema =
          schema(
              t.spec(),
              "Settings of a "
                  + name
                  + " destination"
                  + (t.stagingTypes().isEmpty()
                      ? " (a data lake: it is its own storage)."
                      : "; 'staging': one of "
                          + String.join(
                              ", ", t.stagingTypes().stream().map(s -> "Staging_" + s).toList())
                          + (t.stagingRequired()
                              ? " (required)."
                              : " (default: " + t.stagingTypes().get(0) + ").")));
      if (!t.stagingTypes().isEmpty()) {
        ArrayNode oneOf =
            ((ObjectNode) schema.with("properties")).putObject("staging").putArray("oneOf");
        t.stagingTypes()
            .forEach(s -> oneOf.addObject().put("$ref", "#/components/schemas/Staging_" + s));
      }
      schemas.set("DestinationConfig_" + name, schema);
    }
    for (String name : types.stagingNames()) {
      StagingType st = types.stagingType(name).orElseThrow();
      ObjectNode schema =
          schema(DestinationTypes.stagingSpec(st), "A " + name + " staging object.");
      ((ObjectNode) schema.with("properties"))
          .putObject("type")
          .put("type", "string")
          .putArray("enum")
          .add(name);
      ((ArrayNode) schema.withArray("required")).insert(0, "type");
      schemas.set("Staging_" + name, schema);
    }
    return Json.write(doc).getBytes(StandardCharsets.UTF_8);
  }

  private static ObjectNode schema(ConfigSpec spec, String description) {
    ObjectNode schema =
        Json.MAPPER
            .createObjectNode()
            .put("type", "object")
            .put("description", description)
            .put("additionalProperties", false);
    ObjectNode properties = schema.putObject("properties");
    ArrayNode required = schema.putArray("required");
    for (ConfigSpec.Field f : spec.fields()) {
      ObjectNode p = properties.putObject(f.name());
      switch (f.kind()) {
        case BOOLEAN -> p.put("type", "string").putArray("enum").add("true").add("false");
        case COUNT -> p.put("type", "string").put("pattern", "^[0-9]+$");
        case STRING -> p.put("type", "string");
      }
      p.put(
          "description",
          f.doc() + (f.secret() ? " Secret: encrypted at rest, answered as ********." : ""));
      if (f.secret()) p.put("writeOnly", true);
      if (f.required()) required.add(f.name());
    }
    return schema;
  }
}
