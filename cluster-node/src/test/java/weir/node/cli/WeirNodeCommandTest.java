package weir.node.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a script can rely on from {@code java -jar weir-node.jar ...}: help on every command (status
 * 0), usage errors (status 2, saying what is wrong), failed operations (status 1), results on
 * stdout and errors on stderr, and no secret in any message. Runs the real command tree; no node is
 * needed (AdminCommandTest has one).
 */
class WeirNodeCommandTest {
  private static final Map<String, String> UNREACHABLE_NODE =
      Map.of("WEIR_ADMIN_URL", "http://127.0.0.1:1", "WEIR_ADMIN_TOKEN", "tok-s3cret");

  @TempDir Path dataDir;

  record Run(int status, String out, String err) {}

  private Run run(Map<String, String> env, String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status =
        WeirNodeCommand.execute(
            args, env, () -> dataDir, new PrintStream(out, true), new PrintStream(err, true));
    return new Run(
        status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void topLevelHelpNamesTheCommandsAndTheExitStatusesOnStdout() {
    for (String help : new String[] {"--help", "-h"}) {
      Run r = run(Map.of(), help);
      assertThat(r.status()).as(r.err()).isZero();
      assertThat(r.out())
          .contains("Usage: weir-node [-h] [COMMAND]")
          .contains("Without arguments, starts a node")
          .containsPattern("\n  sql +Query")
          .containsPattern("\n  admin +Management")
          .contains("Exit status:")
          .contains("2   usage error");
      assertThat(r.err()).isEmpty();
    }
  }

  @Test
  void subcommandHelpNamesItsVerbsOrOptionsAndNeedsNeitherTokenNorNode() {
    Run admin = run(Map.of(), "admin", "--help");
    assertThat(admin.status()).as(admin.err()).isZero();
    assertThat(admin.out())
        .contains("Usage: weir-node admin")
        .contains("destinations")
        .contains("connections")
        .contains("status")
        .contains("sync")
        .contains("resync")
        .contains("dead-letters")
        .contains("rotate-write-key")
        .contains("WEIR_ADMIN_URL")
        .contains("WEIR_ADMIN_TOKEN");

    Run create = run(Map.of(), "admin", "connections", "create", "-h");
    assertThat(create.status()).as(create.err()).isZero();
    assertThat(create.out())
        .contains("Usage: weir-node admin connections create")
        .contains("NAME DESTINATION_ID")
        .contains("--kind=KIND")
        .contains("Default: webhook")
        .contains("--batch-size=N")
        .contains("--batch-interval-seconds=N")
        .contains("--signing-secret=SECRET");

    Run sql = run(Map.of(), "sql", "--help");
    assertThat(sql.status()).as(sql.err()).isZero();
    assertThat(sql.out())
        .contains("Usage: weir-node sql [-h] [--] QUERY [DB]")
        .contains("Default: warehouse.duckdb");
    assertThat(admin.err() + create.err() + sql.err()).isEmpty();
  }

  @Test
  void anUnknownCommandOrVerbIsAUsageErrorListingTheValidOnes() {
    Run verb = run(UNREACHABLE_NODE, "admin", "frobnicate");
    assertThat(verb.status()).isEqualTo(2);
    assertThat(verb.err())
        .startsWith("Unknown command 'weir-node admin frobnicate'.")
        .contains("Usage: weir-node admin")
        .contains("rotate-write-key")
        .contains("Run 'weir-node admin --help' for more.");
    assertThat(verb.out()).isEmpty();

    Run command = run(Map.of(), "frobnicate");
    assertThat(command.status()).isEqualTo(2);
    assertThat(command.err())
        .startsWith("Unknown command 'weir-node frobnicate'.")
        .contains("sql")
        .contains("admin");

    Run nested = run(UNREACHABLE_NODE, "admin", "connections", "c_1");
    assertThat(nested.status()).isEqualTo(2);
    assertThat(nested.err())
        .startsWith("Unknown command 'weir-node admin connections c_1'.")
        .contains("delete");
  }

  @Test
  void anUnknownOptionIsAUsageErrorThatNamesItButNotTheValueAfterIt() {
    Run r =
        run(
            UNREACHABLE_NODE,
            "admin",
            "connections",
            "create",
            "Shop",
            "d_1",
            "--signing-secrt",
            "s3cret-value");
    assertThat(r.status()).isEqualTo(2);
    assertThat(r.err())
        .startsWith("Unknown option '--signing-secrt' for 'weir-node admin connections create'.")
        .contains("--signing-secret")
        .doesNotContain("s3cret-value");
    assertThat(r.out()).isEmpty();

    Run joined = run(UNREACHABLE_NODE, "admin", "status", "--tokn=s3cret-value", "c_1");
    assertThat(joined.status()).isEqualTo(2);
    assertThat(joined.err()).startsWith("Unknown option '--tokn'").doesNotContain("s3cret-value");

    Run sql = run(Map.of(), "sql", "--nope", "SELECT 1");
    assertThat(sql.status()).isEqualTo(2);
    assertThat(sql.err()).startsWith("Unknown option '--nope' for 'weir-node sql'.");
  }

  @Test
  void missingArgumentsAndBadValuesAreUsageErrorsSayingWhatIsWrong() {
    Run noVerb = run(UNREACHABLE_NODE, "admin");
    assertThat(noVerb.status()).isEqualTo(2);
    assertThat(noVerb.err()).startsWith("Missing verb.").contains("dead-letters");

    Run noId = run(UNREACHABLE_NODE, "admin", "sync");
    assertThat(noId.status()).isEqualTo(2);
    assertThat(noId.err())
        .startsWith("Missing CONNECTION_ID.")
        .contains("Usage: weir-node admin sync [-h] CONNECTION_ID");

    Run noQuery = run(Map.of(), "sql");
    assertThat(noQuery.status()).isEqualTo(2);
    assertThat(noQuery.err()).startsWith("Missing QUERY.");

    Run tooMany = run(Map.of(), "sql", "SELECT 1", "a.duckdb", "b.duckdb");
    assertThat(tooMany.status()).isEqualTo(2);
    assertThat(tooMany.err()).startsWith("Unexpected argument 'b.duckdb' for 'weir-node sql'.");

    Run notInt = run(UNREACHABLE_NODE, "admin", "dead-letters", "c_1", "--limit", "many");
    assertThat(notInt.status()).isEqualTo(2);
    assertThat(notInt.err()).startsWith("Invalid value for option '--limit': 'many' is not an int");

    Run notDate = run(UNREACHABLE_NODE, "admin", "resync", "c_1", "--from", "2026-13-01");
    assertThat(notDate.status()).isEqualTo(2);
    assertThat(notDate.err())
        .startsWith(
            "Invalid value for option '--from': '2026-13-01' is not a date like 2026-11-21");

    Run badJson =
        run(
            UNREACHABLE_NODE,
            "admin",
            "destinations",
            "create",
            "pg",
            "postgres",
            "{\"password\":\"pw-s3cret\",");
    assertThat(badJson.status()).isEqualTo(2);
    assertThat(badJson.err())
        .contains("CONFIG_JSON")
        .contains("not valid JSON")
        .doesNotContain("pw-s3cret");

    Run twice =
        run(
            UNREACHABLE_NODE,
            "admin",
            "connections",
            "create",
            "Shop",
            "d_1",
            "--batch-size",
            "1",
            "--batch-size",
            "2");
    assertThat(twice.status()).isEqualTo(2);
    assertThat(twice.err()).contains("'--batch-size'").contains("only once");
    assertThat(
            noVerb.out() + noId.out() + noQuery.out() + notInt.out() + badJson.out() + twice.out())
        .isEmpty();
  }

  @Test
  void anUnreachableNodeIsAFailedOperationAndTheTokenIsNeverPrinted() {
    Run r = run(UNREACHABLE_NODE, "admin", "connections");
    assertThat(r.status()).isEqualTo(1);
    assertThat(r.err())
        .isEqualTo(
            "Cannot reach the admin API at http://127.0.0.1:1: connection refused"
                + System.lineSeparator());
    assertThat(r.out()).isEmpty();
  }

  @Test
  void withoutAnAdminTokenNothingIsCalledAndTheStatusIsTwo() {
    Run r = run(Map.of("WEIR_ADMIN_URL", "http://127.0.0.1:1"), "admin", "status", "c_1");
    assertThat(r.status()).isEqualTo(2);
    assertThat(r.err())
        .startsWith("No admin token: set WEIR_ADMIN_TOKEN")
        .contains(dataDir.resolve("admin-token").toString());
  }

  @Test
  void sqlPrintsATableOnStdoutAndAFailedQueryExitsOne() throws Exception {
    try (Connection c =
            DriverManager.getConnection("jdbc:duckdb:" + dataDir.resolve("warehouse.duckdb"));
        Statement s = c.createStatement()) {
      s.execute("CREATE SCHEMA demo");
      s.execute(
          "CREATE TABLE demo.events AS "
              + "SELECT * FROM (VALUES ('e1', 'track'), ('e2', 'page')) t(event_id, event)");
    }

    Run query = run(Map.of(), "sql", "SELECT event_id, event FROM demo.events ORDER BY event_id");
    assertThat(query.status()).as(query.err()).isZero();
    assertThat(query.out())
        .isEqualTo(
            """
        event_id | event
        ---------+------
        e1       | track
        e2       | page\s
        (2 rows)
        """);
    assertThat(query.err()).isEmpty();

    Run broken = run(Map.of(), "sql", "SELECT * FROM demo.no_such_table");
    assertThat(broken.status()).isEqualTo(1);
    assertThat(broken.err()).startsWith("Query failed: ").contains("no_such_table");
    assertThat(broken.out()).isEmpty();

    Run noFile = run(Map.of(), "sql", "SELECT 1", "other.duckdb");
    assertThat(noFile.status()).isEqualTo(1);
    assertThat(noFile.err()).contains("No warehouse yet at " + dataDir.resolve("other.duckdb"));
  }
}
