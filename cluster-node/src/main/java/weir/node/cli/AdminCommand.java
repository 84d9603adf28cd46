package weir.node.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code java -jar weir-node.jar admin <verb> ...}: the common management calls from a terminal, as
 * readable tables. Each verb is one class registered in {@code subcommands} below and calls the
 * node through {@link #api()}, which reads the admin URL and token from the environment only once a
 * verb runs (so {@code --help} needs neither). {@code sync} and {@code resync} show a progress line
 * until done.
 */
@Command(
    name = "admin",
    description = "Management calls to a running node (its admin API), printed as tables.",
    subcommands = {
      DestinationsCommand.class,
      ConnectionsCommand.class,
      StatusCommand.class,
      SyncCommand.class,
      ResyncCommand.class,
      DeadLettersCommand.class,
      RotateWriteKeyCommand.class,
      ExportsCommand.class,
      ConnectorsCommand.class
    },
    footerHeading = "%nEnvironment:%n",
    footer = {
      "  WEIR_ADMIN_URL    the node's admin API; default http://127.0.0.1:8081, or",
      "                    the port in WEIR_ADMIN_PORT",
      "  WEIR_ADMIN_TOKEN  its bearer token; default: the admin-token file in",
      "                    WEIR_DATA_DIR (else the configured data directory)"
    },
    exitCodeListHeading = "%nExit status:%n",
    exitCodeList = {
      WeirNodeCommand.EXIT_OK,
      WeirNodeCommand.EXIT_FAILED,
      WeirNodeCommand.EXIT_USAGE + "; also when no admin token is found"
    })
final class AdminCommand implements Callable<Integer> {
  @ParentCommand WeirNodeCommand node;

  @Spec CommandSpec spec;

  private AdminApi api;

  @Override
  public Integer call() {
    throw new ParameterException(spec.commandLine(), "Missing verb.");
  }

  /** The node's admin API, set up from the environment on first use. */
  AdminApi api() throws CommandFailure {
    if (api == null) api = AdminApi.fromEnvironment(node.env(), node::defaultDataDir);
    return api;
  }
}
