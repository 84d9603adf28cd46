package weir.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.LocalDate;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;
import weir.protocol.Json;

/**
 * {@code admin resync CONNECTION_ID [--tables a,b] [--from DATE] [--to DATE]}: drops the chosen
 * tables or days and reloads them from the staging archive, with progress until no resync is
 * pending.
 */
@Command(
    name = "resync",
    sortOptions = false,
    description =
        "Drop tables or days and reload them from the staging archive, with a progress line until done.")
final class ResyncCommand implements Callable<Integer> {
  @ParentCommand AdminCommand admin;

  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "CONNECTION_ID", description = "e.g. c_...")
  String connectionId;

  @Option(
      names = "--tables",
      paramLabel = "TABLE",
      split = ",",
      description = "Comma-separated tables (default: every table of the connection).")
  List<String> tables;

  @Option(
      names = "--from",
      paramLabel = "YYYY-MM-DD",
      converter = DateConverter.class,
      description = "First day to reload (default: the start of the archive).")
  LocalDate from;

  @Option(
      names = "--to",
      paramLabel = "YYYY-MM-DD",
      converter = DateConverter.class,
      description = "Last day to reload (default: the end of the archive).")
  LocalDate to;

  @Override
  public Integer call() throws CommandFailure {
    ObjectNode body = Json.MAPPER.createObjectNode();
    if (tables != null) {
      ArrayNode names = body.putArray("tables");
      for (String t : tables) names.add(t.strip());
    }
    if (from != null) body.put("from", from.toString());
    if (to != null) body.put("to", to.toString());
    AdminApi api = admin.api();
    JsonNode before = api.get(AdminApi.connectionPath(connectionId, "/status"));
    api.post(AdminApi.connectionPath(connectionId, "/resync"), body);
    return new LoadProgress(api, connectionId, spec.commandLine().getOut()).awaitResyncs(before);
  }

  /**
   * A day as the API takes it; the message says the expected form rather than the parser's details.
   */
  static final class DateConverter implements ITypeConverter<LocalDate> {
    @Override
    public LocalDate convert(String value) {
      try {
        return LocalDate.parse(value);
      } catch (DateTimeParseException e) {
        throw new TypeConversionException("'" + value + "' is not a date like 2026-11-21");
      }
    }
  }
}
