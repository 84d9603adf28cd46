package weir.node.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static weir.node.Eventually.eventually;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import weir.node.TestNodes;
import weir.node.WeirNode;

/** The {@code admin} CLI against a real node: what an operator types and reads. */
class AdminCommandTest {
  private static WeirNode node;
  private static Path dataDir;
  private static Map<String, String> env;

  @BeforeAll
  static void start() throws Exception {
    dataDir = Files.createTempDirectory("weir-cli-test");
    node = TestNodes.inProcess(dataDir, Map.of());
    // The token is read from the data dir, as on an operator's machine.
    env =
        Map.of(
            "WEIR_ADMIN_URL",
            "http://127.0.0.1:" + node.adminPort(),
            "WEIR_DATA_DIR",
            dataDir.toString());
  }

  @AfterAll
  static void stop() throws Exception {
    node.stop(Duration.ofSeconds(30));
  }

  record Run(int status, String out, String err) {}

  /** {@code java -jar weir-node.jar admin <args>}, through the real command line. */
  private static Run admin(Map<String, String> environment, String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    String[] command =
        Stream.concat(Stream.of("admin"), Arrays.stream(args)).toArray(String[]::new);
    int status =
        WeirNodeCommand.execute(
            command,
            environment,
            () -> Path.of("data"),
            new PrintStream(out, true),
            new PrintStream(err, true));
    return new Run(
        status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  private static String capture(String text, String regex) {
    Matcher m = Pattern.compile(regex).matcher(text);
    assertThat(m.find()).as(text).isTrue();
    return m.group(1);
  }

  @Test
  void anOperatorCreatesADestinationAndConnectionSendsEventsAndSyncsWithProgress()
      throws Exception {
    Run dest =
        admin(env, "destinations", "create", "cli_wh", "duckdb", "{\"path\":\"cli.duckdb\"}");
    assertThat(dest.status()).as(dest.err()).isZero();
    String destinationId = capture(dest.out(), "Created destination (d_\\w+)");

    Run conn =
        admin(
            env,
            "connections",
            "create",
            "CLI Orders",
            destinationId,
            "--batch-interval-seconds",
            "1",
            "--batch-size",
            "1000");
    assertThat(conn.status()).as(conn.err()).isZero();
    String connectionId = capture(conn.out(), "Created connection (c_\\w+)");
    assertThat(conn.out()).contains("cli_orders.events").contains("write key: ");
    String url = capture(conn.out(), "webhook url: (\\S+)");

    HttpClient http = HttpClient.newHttpClient();
    for (String body : List.of("[{\"o\":1},{\"o\":2}]", "[{\"o\":3}, \"oops\"]")) {
      HttpResponse<String> r =
          http.send(
              HttpRequest.newBuilder(URI.create(url))
                  .header("Content-Type", "application/json")
                  .POST(HttpRequest.BodyPublishers.ofString(body))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(200);
    }

    Run list = admin(env, "connections");
    assertThat(list.out())
        .contains(connectionId)
        .contains("CLI Orders")
        .contains("| webhook")
        .contains("rows)");
    assertThat(admin(env, "destinations").out())
        .contains(destinationId)
        .contains("duckdb")
        .contains("filesystem");

    // Wait for the 1 s flush, then sync: a progress line, then done.
    eventually(
        Duration.ofSeconds(20),
        () ->
            assertThat(admin(env, "status", connectionId).out())
                .matches("(?s).*staged_batches_pending\\s+\\|\\s+[1-9].*"));
    Run sync = admin(env, "sync", connectionId);
    assertThat(sync.status()).as(sync.err()).isZero();
    assertThat(sync.out()).contains("\rsync: ").contains("sync done.");
    Run status = admin(env, "status", connectionId);
    // 3 events and 1 row in _weir_dead_letters
    assertThat(status.out())
        .containsPattern("loaded_rows_total\\s+\\|\\s+4")
        .containsPattern("accepted_total\\s+\\|\\s+3")
        .containsPattern("buffered_events\\s+\\|\\s+0");

    Run dead = admin(env, "dead-letters", connectionId);
    assertThat(dead.out())
        .contains("not_an_object")
        .contains("\"oops\"")
        .contains("1 dead letters in total");

    Run resync = admin(env, "resync", connectionId, "--tables", "events");
    assertThat(resync.status()).as(resync.err()).isZero();
    assertThat(resync.out()).contains("resync done.");

    Run lake =
        admin(
            env,
            "destinations",
            "create",
            "cli_lake",
            "filesystem",
            "{\"path\":\"" + dataDir.resolve("cli-lake") + "\"}");
    String lakeId = capture(lake.out(), "Created destination (d_\\w+)");
    String today = java.time.LocalDate.now(java.time.ZoneOffset.UTC).toString();
    Run export = admin(env, "exports", "create", connectionId, lakeId, "test", "--from", today);
    assertThat(export.status()).as(export.err()).isZero();
    String exportId = capture(export.out(), "Created export (x_\\w+)");
    assertThat(export.out())
        .contains("\rexport " + exportId + ": ")
        .contains("listed as counter 1");
    assertThat(admin(env, "exports").out()).contains(exportId).contains("| complete");
    assertThat(admin(env, "exports", "show", exportId).out()).contains("\"root_url\"");
    Run badExport = admin(env, "exports", "create", connectionId, destinationId, "test");
    assertThat(badExport.status()).isNotZero();
    assertThat(badExport.err()).contains("data-lake");

    Run rotate = admin(env, "rotate-write-key", connectionId);
    assertThat(rotate.out()).startsWith("New write key: ");
    assertThat(admin(env, "connections", "delete", connectionId).status()).isZero();
  }

  @Test
  void mistakesGetClearMessagesAndNonZeroStatus() {
    Run unknown = admin(env, "frobnicate");
    assertThat(unknown.status()).isEqualTo(2);
    assertThat(unknown.err()).contains("Usage:");
    Run missing = admin(env, "status");
    assertThat(missing.status()).isEqualTo(2);
    assertThat(missing.err()).contains("Missing CONNECTION_ID");
    Run notFound = admin(env, "status", "c_nope");
    assertThat(notFound.status()).isEqualTo(1);
    assertThat(notFound.err()).contains("404 connection_not_found");
    Run badToken =
        admin(
            Map.of("WEIR_ADMIN_URL", env.get("WEIR_ADMIN_URL"), "WEIR_ADMIN_TOKEN", "nope"),
            "connections");
    assertThat(badToken.status()).isEqualTo(1);
    assertThat(badToken.err()).contains("401 unauthorized");
    Run noNode =
        admin(
            Map.of("WEIR_ADMIN_URL", "http://127.0.0.1:1", "WEIR_ADMIN_TOKEN", "x"), "connections");
    assertThat(noNode.status()).isEqualTo(1);
    assertThat(noNode.err()).contains("Cannot reach the admin API");
  }
}
