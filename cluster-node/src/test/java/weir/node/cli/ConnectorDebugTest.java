package weir.node.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import weir.loaders.warehouse.Rows;
import weir.node.cli.fixture.ShopConnector;
import weir.protocol.Json;

/**
 * {@code connector debug} and {@code connector reset} through the real command line: a connector
 * class packed into a jar at test time, loaded from it child-first, synced into a real DuckDB file
 * with the real staging and loader, run after run from its saved state.
 */
class ConnectorDebugTest {
  private static final String SHOP = ShopConnector.class.getName();

  @TempDir Path dir;
  private Path jar;

  record Run(int status, String out, String err) {}

  @BeforeEach
  void packTheConnectorJar() throws Exception {
    // The test class itself goes in too: a class of the jar that is not a connector.
    jar = dir.resolve("shop-connector.jar");
    try (OutputStream file = Files.newOutputStream(jar);
        JarOutputStream out = new JarOutputStream(file)) {
      for (Class<?> c : List.of(ShopConnector.class, ConnectorDebugTest.class)) {
        String name = c.getName().replace('.', '/') + ".class";
        out.putNextEntry(new JarEntry(name));
        try (InputStream in = c.getClassLoader().getResourceAsStream(name)) {
          in.transferTo(out);
        }
        out.closeEntry();
      }
    }
  }

  /** {@code java -jar weir-node.jar <args>}. */
  private Run run(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status =
        WeirNodeCommand.execute(
            args,
            Map.of(),
            () -> dir.resolve("data"),
            new PrintStream(out, true),
            new PrintStream(err, true));
    return new Run(
        status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  /** {@code connector debug} of the shop with {@code configuration} written to a file. */
  private Run debug(String configuration, String... more) throws Exception {
    Path file = dir.resolve("configuration.json");
    Files.writeString(file, configuration);
    List<String> args =
        new ArrayList<>(
            List.of(
                "connector",
                "debug",
                "--jar",
                jar.toString(),
                "--class",
                SHOP,
                "--configuration",
                file.toString(),
                "--dir",
                dir.toString()));
    args.addAll(Arrays.asList(more));
    return run(args.toArray(String[]::new));
  }

  private Path warehouse() {
    return dir.resolve("files").resolve("warehouse.duckdb");
  }

  private JsonNode state() throws Exception {
    return Json.MAPPER.readTree(dir.resolve("files").resolve("state.json").toFile());
  }

  private List<String> query(String sql) throws Exception {
    Properties p = new Properties();
    p.setProperty("duckdb.read_only", "true");
    try (Connection c = DriverManager.getConnection("jdbc:duckdb:" + warehouse(), p)) {
      return Rows.of(c, sql);
    }
  }

  private static String countsRow(String table, long... counts) {
    StringBuilder regex = new StringBuilder("(?m)^" + table + " *");
    for (long n : counts) regex.append("\\| ").append(n).append(" *");
    return regex.append("$").toString();
  }

  @Test
  void aFirstRunLoadsTheRowsAndSavesTheStateOfItsLastCheckpoint() throws Exception {
    Run r = debug("{\"until\": \"3\", \"page\": \"2\", \"plans\": \"basic,pro\"}");

    assertThat(r.status()).as(r.err()).isZero();
    assertThat(r.err()).isEmpty();
    assertThat(r.out())
        .containsPattern(countsRow("orders", 3, 0, 0, 0))
        .containsPattern(countsRow("plans", 2, 0, 0, 0))
        .contains("Checkpoints: 2")
        .contains("Warehouse:   " + warehouse() + " (schema connector)")
        .contains("duckdb " + warehouse() + " \"SELECT * FROM connector.orders\"")
        .contains("duckdb " + warehouse() + " \"SELECT * FROM connector.plans\"");
    assertThat(query("SELECT id, status, amount, _weir_deleted FROM connector.orders ORDER BY id"))
        .containsExactly("1|new|10|false", "2|new|20|false", "3|new|30|false");
    assertThat(query("SELECT code, _weir_deleted FROM connector.plans ORDER BY code"))
        .containsExactly("basic|false", "pro|false");

    JsonNode state = state();
    assertThat(state.get("state").get("cursor").asInt()).isEqualTo(3);
    // Two checkpoints of the connector's and the sync's final one.
    assertThat(state.get("epoch").asLong()).isEqualTo(3);
    assertThat(Instant.parse(state.get("last_synced").asText())).isBefore(Instant.now());
    assertThat(state.get("columns").get("orders").get("amount").asText()).isEqualTo("LONG");
    assertThat(state.has("sync_started")).isFalse();
  }

  @Test
  void aSecondRunContinuesFromTheStateWithUpdatesDeletesANewColumnAndAWiderOne() throws Exception {
    assertThat(debug("{\"until\": \"3\", \"plans\": \"basic,pro\"}").status()).isZero();

    Run second = debug("{\"until\": \"6\", \"plans\": \"pro\"}");

    assertThat(second.status()).as(second.err()).isZero();
    assertThat(second.out())
        .containsPattern(countsRow("orders", 1, 1, 1, 0))
        .containsPattern(countsRow("plans", 1, 0, 0, 0))
        .contains("Checkpoints: 2");
    // Order 1 keeps its amount (an update changes only its columns), order 2 is soft-deleted,
    // order 4 brings a column, and its fractional amount widens the column to DOUBLE.
    assertThat(
            query(
                "SELECT id, status, amount, coupon, _weir_deleted FROM connector.orders ORDER BY id"))
        .containsExactly(
            "1|shipped|10.0|null|false",
            "2|new|20.0|null|true",
            "3|new|30.0|null|false",
            "4|new|12.5|SPRING|false");
    assertThat(
            query(
                "SELECT column_name, data_type FROM information_schema.columns WHERE"
                    + " table_schema = 'connector' AND table_name = 'orders'"
                    + " AND column_name IN ('amount', 'coupon') ORDER BY column_name"))
        .containsExactly("amount|DOUBLE", "coupon|VARCHAR");
    // A snapshot table keeps only what the last sync sent.
    assertThat(query("SELECT code, _weir_deleted FROM connector.plans ORDER BY code"))
        .containsExactly("basic|true", "pro|false");

    JsonNode state = state();
    assertThat(state.get("state").get("cursor").asInt()).isEqualTo(6);
    assertThat(state.get("columns").get("orders").get("amount").asText()).isEqualTo("DOUBLE");
    assertThat(state.get("columns").get("orders").get("coupon").asText()).isEqualTo("STRING");
    try (Stream<Path> staged = Files.walk(dir.resolve("files").resolve("staging"))) {
      assertThat(staged.filter(p -> p.toString().endsWith(".ndjson.gz"))).isNotEmpty();
    }
  }

  @Test
  void aFailingConnectorExitsOneWithItsMessageAndKeepsTheStateOfItsLastCheckpoint()
      throws Exception {
    assertThat(debug("{\"until\": \"3\", \"plans\": \"basic,pro\"}").status()).isZero();

    String failing = "{\"until\": \"6\", \"page\": \"1\", \"fail_at\": \"5\", \"plans\": \"pro\"}";
    Run failed = debug(failing);

    assertThat(failed.status()).isEqualTo(1);
    assertThat(failed.err())
        .startsWith("The connector failed: the shop API answered 503 at change 5")
        .contains(dir.resolve("files").resolve("state.json") + " keeps this run's last checkpoint")
        .doesNotContain("\tat ");
    assertThat(failed.out()).containsPattern(countsRow("orders", 1, 0, 0, 0));
    assertThat(state().get("state").get("cursor").asInt()).isEqualTo(4);
    assertThat(state().has("sync_started")).isTrue();
    assertThat(query("SELECT id, status FROM connector.orders ORDER BY id"))
        .containsExactly("1|new", "2|new", "3|new", "4|new");

    Run verbose = debug(failing, "--verbose");
    assertThat(verbose.status()).isEqualTo(1);
    assertThat(verbose.err())
        .startsWith("The connector failed: the shop API answered 503 at change 5")
        .contains("at " + SHOP + ".update(")
        .doesNotContain("picocli");
    assertThat(state().get("state").get("cursor").asInt()).isEqualTo(4);

    // The next run resumes the same sync: the plan sent before the failure is not deleted.
    Run resumed = debug("{\"until\": \"6\"}");
    assertThat(resumed.status()).as(resumed.err()).isZero();
    assertThat(resumed.out()).containsPattern(countsRow("orders", 0, 1, 1, 0));
    assertThat(query("SELECT id, status, _weir_deleted FROM connector.orders ORDER BY id"))
        .containsExactly("1|shipped|false", "2|new|true", "3|new|false", "4|new|false");
    assertThat(query("SELECT code, _weir_deleted FROM connector.plans ORDER BY code"))
        .containsExactly("basic|true", "pro|false");
    assertThat(state().get("state").get("cursor").asInt()).isEqualTo(6);
    assertThat(state().has("sync_started")).isFalse();
  }

  @Test
  void resetDeletesTheWarehouseTheStateAndTheStagedFilesAndSaysSo() throws Exception {
    assertThat(debug("{\"until\": \"3\"}").status()).isZero();
    Path files = dir.resolve("files");

    Run reset = run("connector", "reset", "--dir", dir.toString());

    assertThat(reset.status()).as(reset.err()).isZero();
    assertThat(reset.out())
        .startsWith("Deleted ")
        .contains(files.resolve("warehouse.duckdb").toString())
        .contains(files.resolve("state.json").toString())
        .contains(files.resolve("staging").toString());
    assertThat(files).doesNotExist();
    assertThat(run("connector", "reset", "--dir", dir.toString()).out())
        .startsWith("Nothing to reset in " + files);

    Run again = debug("{\"until\": \"3\"}");
    assertThat(again.status()).as(again.err()).isZero();
    assertThat(again.out()).containsPattern(countsRow("orders", 3, 0, 0, 0));
  }

  @Test
  void aClassTheJarDoesNotHoldAsAConnectorIsAClearErrorNamingTheJarsConnectors() throws Exception {
    for (String className :
        List.of("weir.node.cli.fixture.NoSuchConnector", SqlCommand.class.getName())) {
      Run r = debugClass(className);
      assertThat(r.status()).isEqualTo(2);
      assertThat(r.err())
          .startsWith("Class " + className + " is not in " + jar)
          .contains("Connector classes in the jar: " + SHOP + ".");
    }

    Run notAConnector = debugClass(ConnectorDebugTest.class.getName());
    assertThat(notAConnector.status()).isEqualTo(2);
    assertThat(notAConnector.err())
        .startsWith(
            ConnectorDebugTest.class.getName() + " does not implement weir.sdk.SourceConnector")
        .contains("Connector classes in the jar: " + SHOP + ".");
    assertThat(dir.resolve("files")).doesNotExist();
  }

  private Run debugClass(String className) {
    return run(
        "connector",
        "debug",
        "--jar",
        jar.toString(),
        "--class",
        className,
        "--dir",
        dir.toString());
  }

  @Test
  void aConfigurationWithANonStringValueIsAUsageErrorThatDoesNotEchoIt() throws Exception {
    Run r = debug("{\"until\": 3, \"token\": \"s3cret\"}");

    assertThat(r.status()).isEqualTo(2);
    assertThat(r.err())
        .contains("the value of 'until' is a JSON number")
        .contains("strings only")
        .doesNotContain("s3cret");
    assertThat(dir.resolve("files")).doesNotExist();

    Run help = run("connector", "--help");
    assertThat(help.status()).isZero();
    assertThat(help.out())
        .containsPattern("\n  debug +Run one sync")
        .containsPattern("\n  reset +Delete the local warehouse");
    Run debugHelp = run("connector", "debug", "--help");
    assertThat(debugHelp.out())
        .contains("--jar=JAR")
        .contains("--class=CLASS")
        .contains("--configuration=FILE")
        .contains("--dir=DIR")
        .contains("--verbose");
  }
}
