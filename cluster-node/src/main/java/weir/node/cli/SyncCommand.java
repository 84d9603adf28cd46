package weir.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code admin sync CONNECTION_ID}: loads the connection's staged batches now and shows progress
 * until done.
 */
@Command(
    name = "sync",
    description = {
      "Load a connection's staged batches now, with a progress line until done.",
      "Events still in a buffer wait for their batch interval."
    })
final class SyncCommand implements Callable<Integer> {
  @ParentCommand AdminCommand admin;

  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "CONNECTION_ID", description = "e.g. c_...")
  String connectionId;

  @Override
  public Integer call() throws CommandFailure {
    AdminApi api = admin.api();
    JsonNode before = api.get(AdminApi.connectionPath(connectionId, "/status"));
    api.post(AdminApi.connectionPath(connectionId, "/sync"), null);
    return new LoadProgress(api, connectionId, spec.commandLine().getOut()).awaitSync(before);
  }
}
