package weir.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code admin rotate-write-key CONNECTION_ID}: a new write key; the old one stops working at once.
 */
@Command(
    name = "rotate-write-key",
    description = "Give a connection a new write key (the old one stops working).")
final class RotateWriteKeyCommand implements Callable<Integer> {
  @ParentCommand AdminCommand admin;

  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "CONNECTION_ID", description = "e.g. c_...")
  String connectionId;

  @Override
  public Integer call() throws CommandFailure {
    JsonNode c = admin.api().post(AdminApi.connectionPath(connectionId, "/rotate-write-key"), null);
    spec.commandLine()
        .getOut()
        .println(
            "New write key: " + c.get("write_key").asText() + " (the old one no longer works)");
    return 0;
  }
}
