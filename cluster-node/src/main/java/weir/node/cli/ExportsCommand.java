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

/**
 * {@code admin exports}: lists Data Sync exports; {@code create} starts one (and, unless {@code
 * --no-wait}, shows a progress line until it is listed in its manifest), {@code show} prints one,
 * {@code stop} stops one.
 */
@Command(
    name = "exports",
    description = "List Data Sync exports (or create, show or stop one).",
    subcommands = {
      ExportsCommand.Create.class,
      ExportsCommand.Show.class,
      ExportsCommand.Stop.class
    })
final class ExportsCommand implements Callable<Integer> {
  @ParentCommand AdminCommand admin;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws CommandFailure {
    TextTable t =
        new TextTable(
            "id", "name", "connection", "type", "status", "counter", "last_successful_at");
    for (JsonNode x : admin.api().get("/v1/admin/exports").get("exports")) {
      t.row(
          x.get("id").asText(),
          x.get("name").asText(),
          x.get("connection_id").asText(),
          x.get("type").asText(),
          x.get("status").asText(),
          x.get("counter").isNull() ? "-" : x.get("counter").asText(),
          x.get("last_successful_at").asText("-"));
    }
    t.print(spec.commandLine().getOut());
    return 0;
  }

  /** {@code admin exports create CONNECTION_ID DESTINATION_ID TYPE [--from D] [--to D]}. */
  @Command(
      name = "create",
      description = {
        "Create an export of a connection's events into a data-lake destination.",
        "e.g. exports create c_... d_... one_time --from 2026-01-01 --to 2026-11-30"
      })
  static final class Create implements Callable<Integer> {
    @ParentCommand ExportsCommand exports;

    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "CONNECTION_ID")
    String connectionId;

    @Parameters(
        index = "1",
        paramLabel = "DESTINATION_ID",
        description = "An s3, gcs or filesystem destination.")
    String destinationId;

    @Parameters(index = "2", paramLabel = "TYPE", description = "one_time, recurring or test.")
    String type;

    @Option(names = "--from", description = "First UTC day (one_time, test).")
    String from;

    @Option(names = "--to", description = "Last UTC day (one_time).")
    String to;

    @Option(
        names = "--finalize-after-days",
        description = "recurring: re-export the day this many days ago (default 9).")
    Integer finalizeAfterDays;

    @Option(names = "--name", description = "A name (default: the connection's name and the type).")
    String name;

    @Option(
        names = "--no-wait",
        description = "Return once created; do not wait for the first run.")
    boolean noWait;

    @Override
    public Integer call() throws CommandFailure {
      ObjectNode body =
          Json.MAPPER
              .createObjectNode()
              .put("connection_id", connectionId)
              .put("destination_id", destinationId)
              .put("type", type);
      if (from != null) body.put("from", from);
      if (to != null) body.put("to", to);
      if (finalizeAfterDays != null) body.put("finalize_after_days", finalizeAfterDays);
      if (name != null) body.put("name", name);
      AdminApi api = exports.admin.api();
      JsonNode x = api.post("/v1/admin/exports", body);
      PrintWriter out = spec.commandLine().getOut();
      String id = x.get("id").asText();
      out.println("Created export " + id + " (" + type + ")");
      if (noWait || type.equals("recurring")) return 0;
      return awaitRun(api, id, out);
    }
  }

  /** Polls the export and rewrites one progress line until its first run is listed or failed. */
  static int awaitRun(AdminApi api, String id, PrintWriter out) throws CommandFailure {
    long started = System.currentTimeMillis();
    while (true) {
      try {
        Thread.sleep(500);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        out.println();
        throw CommandFailure.failed("interrupted while waiting; the export goes on in the node.");
      }
      JsonNode x = api.get("/v1/admin/exports/" + id);
      String status = x.get("status").asText();
      out.printf(
          "\rexport %s: %s, %s, %.1f s   ",
          id,
          status,
          x.get("progress").asText(x.get("message").asText("waiting")),
          (System.currentTimeMillis() - started) / 1000.0);
      out.flush();
      if (status.equals("failed")) {
        out.println();
        throw CommandFailure.failed("export " + id + " failed: " + x.get("message").asText(""));
      }
      if (status.equals("complete")) {
        out.println();
        out.println(
            "export "
                + id
                + " listed as counter "
                + x.get("counter").asText()
                + " ("
                + x.get("storage_size").asLong()
                + " bytes) at "
                + x.get("root_url").asText());
        return 0;
      }
    }
  }

  /** {@code admin exports show EXPORT_ID}. */
  @Command(name = "show", description = "Print one export as JSON.")
  static final class Show implements Callable<Integer> {
    @ParentCommand ExportsCommand exports;

    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "EXPORT_ID")
    String id;

    @Override
    public Integer call() throws CommandFailure {
      JsonNode x = exports.admin.api().get("/v1/admin/exports/" + id);
      try {
        spec.commandLine()
            .getOut()
            .println(Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(x));
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        throw new IllegalStateException(e);
      }
      return 0;
    }
  }

  /** {@code admin exports stop EXPORT_ID}. */
  @Command(name = "stop", description = "Stop an export (a recurring one runs no more).")
  static final class Stop implements Callable<Integer> {
    @ParentCommand ExportsCommand exports;

    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "EXPORT_ID")
    String id;

    @Override
    public Integer call() throws CommandFailure {
      JsonNode x = exports.admin.api().delete("/v1/admin/exports/" + id);
      spec.commandLine()
          .getOut()
          .println("Stopped export " + id + " (" + x.get("status").asText() + ")");
      return 0;
    }
  }
}
