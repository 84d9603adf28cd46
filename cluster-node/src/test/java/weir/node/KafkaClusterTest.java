package weir.node;

import static org.assertj.core.api.Assertions.assertThat;
import static weir.node.Eventually.eventually;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import weir.node.stream.KafkaBroker;

/**
 * Three node processes in a cluster share a 6-partition topic: Kafka assigns its partitions over
 * the nodes (every node consumes some, none the same), and when a node is killed its partitions go
 * to the others, which continue from the last commit; the warehouse holds every record once.
 */
class KafkaClusterTest {
  private static final String TOKEN = "kafka-cluster-token";
  private static final Pattern ASSIGNED =
      Pattern.compile("Adding newly assigned partitions: (\\S[^\\n]*)");

  private static void send(KafkaBroker broker, int from, int to) {
    List<String> keys = new ArrayList<>();
    List<String> values = new ArrayList<>();
    for (int i = from; i < to; i++) {
      keys.add("k" + i);
      values.add("{\"n\":" + i + "}");
    }
    broker.send("shared", keys, values);
  }

  private static String loaded(int pgPort) throws Exception {
    try (Connection c =
            DriverManager.getConnection(
                "jdbc:postgresql://127.0.0.1:" + pgPort + "/wh", "postgres", "");
        ResultSet rs =
            c.createStatement()
                .executeQuery(
                    "SELECT count(*), count(DISTINCT data->>'n') FROM shared_stream.events")) {
      rs.next();
      return rs.getLong(1) + "|" + rs.getLong(2);
    } catch (java.sql.SQLException notYet) {
      return "none";
    }
  }

  @Test
  void threeNodesShareATopicAndTheSurvivorsTakeOverAKilledNodesPartitions(@TempDir Path tmp)
      throws Exception {
    try (EmbeddedPostgres pg = EmbeddedPostgres.builder().start();
        KafkaBroker broker = KafkaBroker.start(tmp.resolve("kafka"))) {
      try (Connection c =
          DriverManager.getConnection(
              "jdbc:postgresql://127.0.0.1:" + pg.getPort() + "/postgres", "postgres", "")) {
        c.createStatement().execute("CREATE DATABASE wh");
      }
      broker.createTopic("shared", 6);
      Path staging = Files.createDirectories(tmp.resolve("shared-staging"));
      int[] remote = NodeProcess.freePorts(3);
      String masterKey = Base64.getEncoder().encodeToString(new byte[32]);
      List<NodeProcess> nodes = new ArrayList<>();
      try {
        for (int i = 0; i < 3; i++) {
          Map<String, String> env =
              NodeProcess.clusterEnv(
                  pg.getPort(),
                  TOKEN,
                  masterKey,
                  staging,
                  "127.0.0.1:" + remote[0] + ",127.0.0.1:" + remote[1],
                  remote[i]);
          nodes.add(
              NodeProcess.launch(
                  tmp.resolve("node-" + i),
                  tmp.resolve("node-" + i + ".log"),
                  env,
                  List.of("-Dakka.cluster.split-brain-resolver.stable-after=3s")));
        }
        for (NodeProcess n : nodes) n.awaitReady(Duration.ofSeconds(120));
        String destination =
            nodes
                .get(0)
                .admin(
                    TOKEN,
                    "POST",
                    "/v1/admin/destinations",
                    "{\"name\":\"wh\",\"type\":\"postgres\",\"config\":{\"url\":"
                        + "\"jdbc:postgresql://127.0.0.1:"
                        + pg.getPort()
                        + "/wh\",\"user\":\"postgres\",\"password\":\"unused\"}}")
                .get("id")
                .asText();
        nodes
            .get(0)
            .admin(
                TOKEN,
                "POST",
                "/v1/admin/connections",
                "{\"name\":\"Shared stream\",\"kind\":\"kafka\",\"destination_id\":\""
                    + destination
                    + "\",\"batch_interval_seconds\":1,\"sync_interval_minutes\":0.05,"
                    + "\"source\":{\"bootstrap_servers\":\""
                    + broker.bootstrap()
                    + "\",\"topics\":[\"shared\"]}}");
        send(broker, 0, 3000);
        eventually(
            Duration.ofSeconds(120), () -> assertThat(loaded(pg.getPort())).isEqualTo("3000|3000"));
        // Each node was given partitions of its own.
        List<String> assigned = new ArrayList<>();
        for (NodeProcess n : nodes) {
          Matcher m = ASSIGNED.matcher(Files.readString(n.log));
          String last = null;
          while (m.find()) last = m.group(1);
          assertThat(last).as("partitions assigned to " + n.log.getFileName()).isNotBlank();
          assigned.add(last);
        }

        nodes.get(2).kill();
        send(broker, 3000, 6000);
        eventually(
            Duration.ofSeconds(120), () -> assertThat(loaded(pg.getPort())).isEqualTo("6000|6000"));
      } finally {
        for (NodeProcess n : nodes) n.close();
      }
    }
  }
}
