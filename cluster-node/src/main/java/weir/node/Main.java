package weir.node;

import akka.actor.CoordinatedShutdown;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

/**
 * {@code java -jar weir-node.jar}: starts a node with {@code application.conf} and {@code WEIR_*}
 * environment overrides; {@code sql "<query>"} queries the embedded warehouse. SIGTERM and SIGINT run
 * coordinated shutdown (stop taking requests, flush,
 * final load) and exit with status 0.
 */
public final class Main {
  private static final Logger log = LoggerFactory.getLogger(Main.class);

  private Main() {}

  public static void main(String[] args) {
    if (args.length > 0) {
      System.exit(command(args));
      return;
    }
    WeirNode node;
    try {
      // As a program (not embedded): once coordinated shutdown has run, exit the JVM with status 0.
      node = WeirNode.start(WeirNode.with(WeirNode.with(WeirNode.defaultConfig(),
          "akka.coordinated-shutdown.exit-jvm", "on"), "akka.coordinated-shutdown.exit-code", 0));
    } catch (Exception e) {
      log.error("Weir node failed to start: {}", RootCause.describe(e), e);
      System.exit(1);
      return;
    }
    for (String name : new String[] {"TERM", "INT"}) {
      Signal.handle(new Signal(name), signal -> {
        log.info("SIG{} received: stopping (flush and final load first)", signal.getName());
        CoordinatedShutdown.get(node.system()).runAll(CoordinatedShutdown.unknownReason());
      });
    }
  }

  private static int command(String[] args) {
    if (args[0].equals("sql") && (args.length == 2 || args.length == 3)) {
      java.nio.file.Path dataDir = NodeSettings.fromConfig(WeirNode.defaultConfig()).dataDir();
      return weir.node.cli.SqlCommand.run(dataDir.resolve(args.length == 3 ? args[2] : "warehouse.duckdb"), args[1]);
    }
    if (args[0].equals("admin")) {
      return weir.node.cli.AdminCommand.run(java.util.Arrays.asList(args).subList(1, args.length), System.getenv(),
          NodeSettings.fromConfig(WeirNode.defaultConfig()).dataDir(), System.out, System.err);
    }
    System.err.println("""
        Usage:
          java -jar weir-node.jar                 start a node (configuration: WEIR_* variables, see README)
          java -jar weir-node.jar sql "<query>" [db]  query a DuckDB warehouse read-only (default
                                                  warehouse.duckdb; a relative db is in WEIR_DATA_DIR)
          java -jar weir-node.jar admin ...       management calls (run 'admin' alone for the verbs)
        """);
    return 2;
  }
}
