package weir.node.cli;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.ExitCode;
import picocli.CommandLine.Help;
import picocli.CommandLine.MissingParameterException;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * {@code java -jar weir-node.jar <command> ...}: the node's command line, the root of the picocli
 * command tree. Without arguments the jar starts a node instead ({@code weir.node.Main}); with
 * arguments this class parses them, runs one command and returns its exit status:
 *
 * <ul>
 *   <li>{@code 0} ({@link ExitCode#OK}): done, or {@code --help} / {@code -h} was asked for;
 *   <li>{@code 1} ({@link ExitCode#SOFTWARE}): the operation failed (an HTTP error from the node,
 *       the node unreachable, an SQL error);
 *   <li>{@code 2} ({@link ExitCode#USAGE}): the command was called wrongly (unknown command or
 *       option, a missing argument, a bad value, no admin token); nothing was done.
 * </ul>
 *
 * Results go to stdout, errors to stderr; every error message is written here, from picocli's parse
 * errors or from the {@link CommandFailure} a command throws. Messages never contain the admin
 * token, and a mistyped option's value is not echoed (it may be a secret).
 *
 * <p>A new top-level command is one class annotated with {@code @Command}, added to {@code
 * subcommands} below; a new {@code admin} verb is added to {@link AdminCommand}'s {@code
 * subcommands} the same way. Either gets {@code -h}/{@code --help}, the exit statuses and the error
 * reporting without further code.
 */
@Command(
    name = "weir-node",
    description = {
      "Weir event ingestion node. Without arguments, starts a node (configured by WEIR_* environment "
          + "variables, see README); with a command, runs that command and exits."
    },
    subcommands = {SqlCommand.class, AdminCommand.class, ConnectorCommand.class},
    exitCodeListHeading = "%nExit status:%n",
    exitCodeList = {
      WeirNodeCommand.EXIT_OK,
      WeirNodeCommand.EXIT_FAILED,
      WeirNodeCommand.EXIT_USAGE
    })
public final class WeirNodeCommand implements Callable<Integer> {
  /** The exit-status section of the help, as picocli takes it ({@code code:description}). */
  static final String EXIT_OK = "0:done (also after --help)";

  static final String EXIT_FAILED =
      "1:the operation failed (HTTP error from the node, node unreachable, SQL error)";
  static final String EXIT_USAGE =
      "2:usage error (unknown command or option, missing argument, bad value)";

  @Option(
      names = {"-h", "--help"},
      usageHelp = true,
      scope = ScopeType.INHERIT,
      description = "Show this help and exit.")
  boolean help;

  @Spec CommandSpec spec;

  private final Map<String, String> env;
  private final Supplier<Path> defaultDataDir;

  private WeirNodeCommand(Map<String, String> env, Supplier<Path> defaultDataDir) {
    this.env = env;
    this.defaultDataDir = defaultDataDir;
  }

  /**
   * Runs the command in {@code args} and returns its exit status (0, 1 or 2, see above).
   *
   * @param env the process environment ({@code WEIR_ADMIN_URL}, {@code WEIR_ADMIN_TOKEN}, {@code
   *     WEIR_DATA_DIR}, ...)
   * @param defaultDataDir the node's data directory from its configuration; asked only by commands
   *     that need it
   */
  public static int execute(
      String[] args,
      Map<String, String> env,
      Supplier<Path> defaultDataDir,
      PrintStream out,
      PrintStream err) {
    PrintWriter outWriter = new PrintWriter(out, true);
    PrintWriter errWriter = new PrintWriter(err, true);
    try {
      return commandLine(env, defaultDataDir, outWriter, errWriter).execute(args);
    } finally {
      outWriter.flush();
      errWriter.flush();
    }
  }

  /** The whole command tree with Weir's error reporting and exit codes. */
  static CommandLine commandLine(
      Map<String, String> env, Supplier<Path> defaultDataDir, PrintWriter out, PrintWriter err) {
    CommandLine commandLine = new CommandLine(new WeirNodeCommand(env, defaultDataDir));
    commandLine.setOut(out);
    commandLine.setErr(err);
    commandLine.setParameterExceptionHandler(WeirNodeCommand::reportUsageError);
    commandLine.setExecutionExceptionHandler(WeirNodeCommand::reportFailure);
    return commandLine;
  }

  @Override
  public Integer call() {
    throw new ParameterException(spec.commandLine(), "Missing command.");
  }

  /** The process environment the commands read their settings from. */
  Map<String, String> env() {
    return env;
  }

  /**
   * The node's configured data directory ({@code weir.data-dir}, which {@code WEIR_DATA_DIR}
   * overrides).
   */
  Path defaultDataDir() {
    return defaultDataDir.get();
  }

  private static int reportUsageError(ParameterException e, String[] args) {
    CommandLine commandLine = e.getCommandLine();
    CommandSpec command = commandLine.getCommandSpec();
    Help help = commandLine.getHelp();
    PrintWriter err = commandLine.getErr();
    err.println(describe(e));
    UnmatchedArgumentException.printSuggestions(e, err);
    err.print(help.fullSynopsis());
    if (!command.subcommands().isEmpty()) err.print(help.commandListHeading() + help.commandList());
    err.println("Run '" + command.qualifiedName() + " --help' for more.");
    return ExitCode.USAGE;
  }

  /** picocli's message, except where it would be vaguer than ours or could echo a secret. */
  private static String describe(ParameterException e) {
    CommandSpec command = e.getCommandLine().getCommandSpec();
    if (e instanceof MissingParameterException missing
        && missing.getMissing().stream().allMatch(ArgSpec::isPositional)) {
      return "Missing "
          + missing.getMissing().stream().map(ArgSpec::paramLabel).collect(Collectors.joining(", "))
          + ".";
    }
    if (e instanceof UnmatchedArgumentException unmatched && !unmatched.getUnmatched().isEmpty()) {
      // Only the first: after a mistyped option comes its value, which may be a secret
      // (--signing-secret).
      String first = unmatched.getUnmatched().get(0);
      if (first.startsWith("-")) {
        return "Unknown option '"
            + first.split("=", 2)[0]
            + "' for '"
            + command.qualifiedName()
            + "'.";
      }
      if (!command.subcommands().isEmpty())
        return "Unknown command '" + command.qualifiedName() + " " + first + "'.";
      return "Unexpected argument '" + first + "' for '" + command.qualifiedName() + "'.";
    }
    return e.getMessage();
  }

  private static int reportFailure(Exception e, CommandLine commandLine, ParseResult parseResult) {
    if (e instanceof CommandFailure failure) {
      commandLine.getErr().println(failure.getMessage());
      return failure.exitCode();
    }
    // A bug rather than a failed operation: say where, without a stack trace full of picocli
    // frames.
    commandLine
        .getErr()
        .println(
            "'" + commandLine.getCommandSpec().qualifiedName() + "' failed unexpectedly: " + e);
    return ExitCode.SOFTWARE;
  }
}
