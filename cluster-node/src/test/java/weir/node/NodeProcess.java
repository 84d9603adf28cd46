package weir.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import weir.protocol.Json;

/**
 * A Weir node running as a separate JVM ({@code weir.node.Main}) on free ports, as a user runs it:
 * for tests that kill it for real. Its output goes to a log file that the test reads.
 */
final class NodeProcess implements AutoCloseable {
  private static final Pattern DEMO =
      Pattern.compile("Demo webhook: (http://\\S+/v1/webhooks/(\\S+))");
  private static final Pattern UP =
      Pattern.compile("Weir node up .* ingest=(\\S+) admin=(\\S+) management=(\\S+)");

  final Process process;
  final Path log;
  String demoUrl;
  String demoConnectionId;
  String ingestUrl;
  String adminUrl;
  String managementUrl;

  private NodeProcess(Process process, Path log) {
    this.process = process;
    this.log = log;
  }

  static NodeProcess start(Path dataDir, Path log, Map<String, String> env)
      throws IOException, InterruptedException {
    NodeProcess node = launch(dataDir, log, env, List.of());
    node.awaitReady(Duration.ofSeconds(60));
    return node;
  }

  /**
   * Starts the JVM without waiting (several nodes start together); call {@link #awaitReady} after.
   */
  static NodeProcess launch(Path dataDir, Path log, Map<String, String> env, List<String> jvmArgs)
      throws IOException {
    String classpath =
        System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    List<String> cmd =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx512m"));
    cmd.addAll(jvmArgs);
    cmd.addAll(List.of("-cp", classpath, "weir.node.Main"));
    ProcessBuilder pb =
        new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("WEIR_DATA_DIR", dataDir.toString());
    pb.environment().put("WEIR_INGEST_PORT", "0");
    pb.environment().put("WEIR_ADMIN_PORT", "0");
    pb.environment().put("WEIR_MANAGEMENT_PORT", "0");
    pb.environment().put("WEIR_REMOTE_PORT", "0");
    pb.environment().putAll(env);
    return new NodeProcess(pb.start(), log);
  }

  /** Waits for the node's "up" line (and, in single mode, its demo line). */
  void awaitReady(Duration timeout) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      String out = Files.exists(log) ? Files.readString(log) : "";
      Matcher demo = DEMO.matcher(out);
      Matcher up = UP.matcher(out);
      boolean single = !out.contains("(cluster mode)");
      if (up.find() && (!single || demo.find())) {
        ingestUrl = up.group(1);
        adminUrl = up.group(2);
        managementUrl = up.group(3);
        if (single) {
          demoUrl = demo.group(1);
          demoConnectionId = demo.group(2);
        }
        return;
      }
      if (!process.isAlive())
        throw new IllegalStateException("node exited with " + process.exitValue() + ":\n" + out);
      Thread.sleep(100);
    }
    process.destroyForcibly();
    throw new IllegalStateException("node not ready in " + timeout + ":\n" + Files.readString(log));
  }

  private static final HttpClient HTTP = HttpClient.newHttpClient();

  /** An admin call with {@code token} that must answer 2xx; its JSON body. */
  JsonNode admin(String token, String method, String path, String body) throws Exception {
    HttpResponse<String> r =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(adminUrl + path))
                .header("Authorization", "Bearer " + token)
                .method(
                    method,
                    body == null
                        ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isLessThan(300);
    return Json.MAPPER.readTree(r.body());
  }

  /**
   * The environment of a cluster-mode node: the PostgreSQL journal at {@code pgPort}, a shared
   * staging folder, the admin token and master key every member shares, the seed nodes and this
   * node's remoting port.
   */
  static Map<String, String> clusterEnv(
      int pgPort, String token, String masterKey, Path staging, String seeds, int remotePort) {
    return Map.of(
        "WEIR_MODE",
        "cluster",
        "WEIR_PG_URL",
        "jdbc:postgresql://127.0.0.1:" + pgPort + "/postgres",
        "WEIR_PG_USER",
        "postgres",
        "WEIR_ADMIN_TOKEN",
        token,
        "WEIR_MASTER_KEY",
        masterKey,
        "WEIR_STAGING_DIR",
        staging.toString(),
        "WEIR_STAGING_SHARED",
        "true",
        "WEIR_SEED_NODES",
        seeds,
        "WEIR_REMOTE_PORT",
        String.valueOf(remotePort));
  }

  /** {@code n} free ports that differ (their sockets are held together while chosen). */
  static int[] freePorts(int n) throws IOException {
    ServerSocket[] sockets = new ServerSocket[n];
    int[] ports = new int[n];
    try {
      for (int i = 0; i < n; i++) {
        sockets[i] = new ServerSocket(0);
        ports[i] = sockets[i].getLocalPort();
      }
    } finally {
      for (ServerSocket s : sockets) if (s != null) s.close();
    }
    return ports;
  }

  /** SIGKILL: no shutdown hook, no flush. */
  void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
  }

  /** SIGTERM, then the exit status (or -1 when it did not exit within {@code timeout}). */
  int terminate(Duration timeout) throws InterruptedException {
    process.destroy();
    return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS) ? process.exitValue() : -1;
  }

  @Override
  public void close() {
    if (process.isAlive()) process.destroyForcibly();
  }
}
