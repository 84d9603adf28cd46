package weir.node.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;
import weir.protocol.Json;

/** {@code admin destinations}: lists destinations; {@code admin destinations create} adds one. */
@Command(
    name = "destinations",
    description = "List destinations (or create one).",
    subcommands = DestinationsCommand.Create.class)
final class DestinationsCommand implements Callable<Integer> {
  @ParentCommand AdminCommand admin;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws CommandFailure {
    TextTable t = new TextTable("id", "name", "type", "staging", "created_at");
    for (JsonNode d : admin.api().get("/v1/admin/destinations").get("destinations")) {
      t.row(
          d.get("id").asText(),
          d.get("name").asText(),
          d.get("type").asText(),
          d.at("/config/staging/type").asText("-"),
          d.get("created_at").asText());
    }
    t.print(spec.commandLine().getOut());
    return 0;
  }

  /** {@code admin destinations create NAME TYPE CONFIG_JSON}. */
  @Command(
      name = "create",
      description = {
        "Create a destination.",
        "e.g. destinations create wh duckdb '{\"path\":\"wh.duckdb\"}'"
      })
  static final class Create implements Callable<Integer> {
    @ParentCommand DestinationsCommand destinations;

    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "NAME", description = "The destination's name.")
    String name;

    @Parameters(
        index = "1",
        paramLabel = "TYPE",
        description =
            "The destination type, e.g. duckdb; the node's "
                + "OpenAPI document (/v1/admin/openapi.json) lists every type and its settings.")
    String type;

    @Parameters(
        index = "2",
        paramLabel = "CONFIG_JSON",
        converter = JsonConverter.class,
        description = "The type's settings as a JSON object.")
    JsonNode config;

    @Override
    public Integer call() throws CommandFailure {
      ObjectNode body =
          Json.MAPPER.createObjectNode().put("name", name).put("type", type).set("config", config);
      JsonNode d = destinations.admin.api().post("/v1/admin/destinations", body);
      spec.commandLine()
          .getOut()
          .println("Created destination " + d.get("id").asText() + " (" + type + ")");
      return 0;
    }
  }

  /**
   * Parses a JSON object argument; the message never repeats the text, which may hold passwords.
   */
  static final class JsonConverter implements ITypeConverter<JsonNode> {
    @Override
    public JsonNode convert(String value) {
      JsonNode json;
      try {
        json = Json.MAPPER.readTree(value);
      } catch (JsonProcessingException e) {
        throw new TypeConversionException(
            "not valid JSON"
                + (e.getLocation() == null
                    ? ""
                    : " (line "
                        + e.getLocation().getLineNr()
                        + ", column "
                        + e.getLocation().getColumnNr()
                        + ")"));
      }
      if (json == null || !json.isObject()) throw new TypeConversionException("not a JSON object");
      return json;
    }
  }
}
