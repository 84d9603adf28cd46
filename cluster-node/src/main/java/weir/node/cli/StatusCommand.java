package weir.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code admin status CONNECTION_ID}: the connection's buffer and load figures, one per row. */
@Command(name = "status", description = "Show a connection's buffer and load figures.")
final class StatusCommand implements Callable<Integer> {
  @ParentCommand AdminCommand admin;

  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "CONNECTION_ID", description = "e.g. c_...")
  String connectionId;

  @Override
  public Integer call() throws CommandFailure {
    JsonNode s = admin.api().get(AdminApi.connectionPath(connectionId, "/status"));
    TextTable t = new TextTable("figure", "value");
    s.fields()
        .forEachRemaining(
            e -> t.row(e.getKey(), e.getValue().isNull() ? "-" : e.getValue().asText()));
    t.print(spec.commandLine().getOut());
    return 0;
  }
}
