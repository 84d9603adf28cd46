package weir.node.cli;

import picocli.CommandLine.ExitCode;

/**
 * A command could not do its work: the message is what the operator reads on stderr (no secrets, no
 * stack trace) and the exit status is {@code 1}, or {@code 2} when the setup is wrong (no admin
 * token) and retrying as is cannot help. {@link WeirNodeCommand} reports it.
 */
final class CommandFailure extends Exception {
  private static final long serialVersionUID = 1L;
  private final int exitCode;

  private CommandFailure(int exitCode, String message) {
    super(message);
    this.exitCode = exitCode;
  }

  /** The operation failed (an HTTP error, the node unreachable, an SQL error): exit status 1. */
  static CommandFailure failed(String message) {
    return new CommandFailure(ExitCode.SOFTWARE, message);
  }

  /**
   * The command cannot run as set up (environment or files it needs): exit status 2, nothing was
   * done.
   */
  static CommandFailure misconfigured(String message) {
    return new CommandFailure(ExitCode.USAGE, message);
  }

  int exitCode() {
    return exitCode;
  }
}
