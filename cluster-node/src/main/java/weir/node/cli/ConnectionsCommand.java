package weir.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import weir.protocol.Json;

/** {@code admin connections}: lists connections; {@code create} and {@code delete} change them. */
@Command(
    name = "connections",
    description = "List connections (or create or delete one).",
    subcommands = {ConnectionsCommand.Create.class, ConnectionsCommand.Delete.class})
final class ConnectionsCommand implements Callable<Integer> {
  @ParentCommand AdminCommand admin;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws CommandFailure {
    TextTable t =
        new TextTable(
            "id", "name", "kind", "destination", "schema.table", "batch", "sync_min", "url");
    for (JsonNode c : admin.api().get("/v1/admin/connections").get("connections")) {
      t.row(
          c.get("id").asText(),
          c.get("name").asText(),
          c.get("kind").asText(),
          c.get("destination_id").asText(),
          schemaTable(c),
          c.get("batch_size").asText() + "/" + c.get("batch_interval_seconds").asText() + "s",
          c.get("sync_interval_minutes").asText(),
          c.at("/urls/webhook").asText(""));
    }
    t.print(spec.commandLine().getOut());
    return 0;
  }

  private static String schemaTable(JsonNode c) {
    return c.get("schema").asText()
        + (c.get("table").isNull() ? "" : "." + c.get("table").asText());
  }

  /**
   * {@code admin connections create NAME DESTINATION_ID [options]}: prints the new connection's id,
   * write key and ingestion URLs. Options left out are left to the node's defaults.
   */
  @Command(
      name = "create",
      sortOptions = false,
      description = "Create a connection and print its write key and ingestion URLs.")
  static final class Create implements Callable<Integer> {
    @ParentCommand ConnectionsCommand connections;

    @Spec CommandSpec spec;

    @Parameters(
        index = "0",
        paramLabel = "NAME",
        description = "The connection's name (its schema by default).")
    String name;

    @Parameters(
        index = "1",
        paramLabel = "DESTINATION_ID",
        description = "Where it loads, e.g. d_...")
    String destinationId;

    @Option(
        names = "--kind",
        paramLabel = "KIND",
        defaultValue = "webhook",
        description =
            "What it ingests, e.g. webhook, segment or snowplow. Default: ${DEFAULT-VALUE}.")
    String kind;

    @Option(names = "--batch-size", paramLabel = "N", description = "Events per staged batch.")
    Integer batchSize;

    @Option(
        names = "--batch-interval-seconds",
        paramLabel = "N",
        description = "Longest an event waits in a buffer before its batch is staged.")
    Integer batchIntervalSeconds;

    @Option(
        names = "--sync-interval-minutes",
        paramLabel = "N",
        description = "How often staged batches load.")
    Integer syncIntervalMinutes;

    @Option(
        names = "--schema",
        paramLabel = "SCHEMA",
        description = "Warehouse schema (default: from NAME).")
    String schema;

    @Option(
        names = "--table",
        paramLabel = "TABLE",
        description = "Warehouse table (webhook connections only).")
    String table;

    @Option(
        names = "--signing-secret",
        paramLabel = "SECRET",
        description = "Requests must carry an HMAC signature made with it.")
    String signingSecret;

    @Option(
        names = "--id-field",
        paramLabel = "FIELD",
        description = "The event field that holds the event id.")
    String idField;

    @Option(
        names = "--app-id",
        paramLabel = "APP_ID",
        description = "Snowplow app id (snowplow connections).")
    String appId;

    @Option(
        names = {"--slots", "--partitions"},
        paramLabel = "N",
        description = "Buffer slots of the connection.")
    Integer slots;

    @Override
    public Integer call() throws CommandFailure {
      ObjectNode body =
          Json.MAPPER
              .createObjectNode()
              .put("name", name)
              .put("destination_id", destinationId)
              .put("kind", kind);
      putIfSet(body, "batch_size", batchSize);
      putIfSet(body, "batch_interval_seconds", batchIntervalSeconds);
      putIfSet(body, "sync_interval_minutes", syncIntervalMinutes);
      putIfSet(body, "slots", slots);
      putIfSet(body, "schema", schema);
      putIfSet(body, "table", table);
      putIfSet(body, "signing_secret", signingSecret);
      putIfSet(body, "id_field", idField);
      putIfSet(body, "app_id", appId);
      JsonNode c = connections.admin.api().post("/v1/admin/connections", body);
      PrintWriter out = spec.commandLine().getOut();
      out.println(
          "Created connection "
              + c.get("id").asText()
              + " ("
              + c.get("kind").asText()
              + ") loading into "
              + schemaTable(c));
      out.println("write key: " + c.get("write_key").asText());
      c.get("urls")
          .fields()
          .forEachRemaining(u -> out.println(u.getKey() + " url: " + u.getValue().asText()));
      return 0;
    }

    private static void putIfSet(ObjectNode body, String field, Integer value) {
      if (value != null) body.put(field, value);
    }

    private static void putIfSet(ObjectNode body, String field, String value) {
      if (value != null) body.put(field, value);
    }
  }

  /** {@code admin connections delete CONNECTION_ID}. */
  @Command(
      name = "delete",
      description = "Delete a connection: ingestion stops, what it accepted is still loaded.")
  static final class Delete implements Callable<Integer> {
    @ParentCommand ConnectionsCommand connections;

    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "CONNECTION_ID", description = "e.g. c_...")
    String connectionId;

    @Override
    public Integer call() throws CommandFailure {
      connections.admin.api().delete(AdminApi.connectionPath(connectionId, ""));
      spec.commandLine()
          .getOut()
          .println("Deleted connection " + connectionId + " (what it accepted is still loaded)");
      return 0;
    }
  }
}
