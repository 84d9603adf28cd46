package weir.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code admin dead-letters CONNECTION_ID [--limit N]}: the connection's rejected events with their
 * reasons.
 */
@Command(
    name = "dead-letters",
    description = "Show a connection's rejected events with their reasons.")
final class DeadLettersCommand implements Callable<Integer> {
  @ParentCommand AdminCommand admin;

  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "CONNECTION_ID", description = "e.g. c_...")
  String connectionId;

  @Option(
      names = "--limit",
      paramLabel = "N",
      defaultValue = "20",
      description = "How many to show at most. Default: ${DEFAULT-VALUE}.")
  int limit;

  @Override
  public Integer call() throws CommandFailure {
    JsonNode d =
        admin.api().get(AdminApi.connectionPath(connectionId, "/dead-letters?limit=" + limit));
    TextTable t = new TextTable("received_at", "code", "message", "payload");
    for (JsonNode x : d.get("dead_letters")) {
      t.row(
          x.get("received_at").asText(),
          x.get("code").asText(),
          x.get("message").asText(),
          x.get("payload").asText());
    }
    PrintWriter out = spec.commandLine().getOut();
    t.print(out);
    out.println(d.get("dead_letters_total").asText() + " dead letters in total");
    return 0;
  }
}
