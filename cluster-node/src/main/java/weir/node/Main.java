package weir.node;

import akka.actor.CoordinatedShutdown;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;
import weir.node.cli.WeirNodeCommand;

/**
 * {@code java -jar weir-node.jar}: without arguments, starts a node with {@code application.conf}
 * and {@code WEIR_*} environment overrides; SIGTERM and SIGINT run coordinated shutdown (stop
 * taking requests, flush, final load) and exit with status 0. With arguments, runs one command
 * ({@code sql}, {@code admin}, see {@link WeirNodeCommand}) and exits with its status.
 */
public final class Main {
  static {
    // Before the first logger: logback's AsyncAppender sets the common pool up.
    CommonPool.ensureParallelism();
  }

  private static final Logger log = LoggerFactory.getLogger(Main.class);

  private Main() {}

  public static void main(String[] args) {
    if (args.length > 0) {
      System.exit(
          WeirNodeCommand.execute(args, System.getenv(), Main::dataDir, System.out, System.err));
      return;
    }
    WeirNode node;
    try {
      // As a program (not embedded): once coordinated shutdown has run, exit the JVM with status 0.
      node =
          WeirNode.start(
              WeirNode.with(
                  WeirNode.with(
                      WeirNode.defaultConfig(), "akka.coordinated-shutdown.exit-jvm", "on"),
                  "akka.coordinated-shutdown.exit-code",
                  0));
    } catch (Exception e) {
      log.error("Weir node failed to start: {}", RootCause.describe(e), e);
      System.exit(1);
      return;
    }
    for (String name : new String[] {"TERM", "INT"}) {
      Signal.handle(
          new Signal(name),
          signal -> {
            log.info("SIG{} received: stopping (flush and final load first)", signal.getName());
            CoordinatedShutdown.get(node.system()).runAll(CoordinatedShutdown.unknownReason());
          });
    }
  }

  /** The configured data directory, read only by the commands that need it. */
  private static Path dataDir() {
    return NodeSettings.fromConfig(WeirNode.defaultConfig()).dataDir();
  }
}
