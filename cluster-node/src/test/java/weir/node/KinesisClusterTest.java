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
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import weir.node.stream.Kinesalite;

/**
 * Two node processes in a cluster share an 8-shard Kinesis stream (kinesalite): Cluster Sharding
 * puts the shard readers on both nodes, never one shard on two; when one node is SIGKILLed in the
 * middle, its readers start on the survivor from their checkpoints, without new records, and the
 * warehouse holds every record once.
 */
class KinesisClusterTest {
  private static final String TOKEN = "kinesis-cluster-token";
  private static final int RECORDS = 20_000;
  private static final Pattern READING =
      Pattern.compile("reading shard (shardId-\\d+) of stream shared");

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

  private static Set<String> shardsRead(NodeProcess n) throws Exception {
    Set<String> out = new TreeSet<>();
    Matcher m = READING.matcher(Files.readString(n.log));
    while (m.find()) out.add(m.group(1));
    return out;
  }

  @Test
  void twoNodesShareAStreamAndTheSurvivorTakesOverAKilledNodesShards(@TempDir Path tmp)
      throws Exception {
    try (EmbeddedPostgres pg = EmbeddedPostgres.builder().start();
        Kinesalite kinesis = Kinesalite.start(tmp.resolve("kinesalite.log"))) {
      try (Connection c =
          DriverManager.getConnection(
              "jdbc:postgresql://127.0.0.1:" + pg.getPort() + "/postgres", "postgres", "")) {
        c.createStatement().execute("CREATE DATABASE wh");
      }
      kinesis.createStream("shared", 8);
      List<String> values = new ArrayList<>();
      for (int i = 0; i < RECORDS; i++)
        values.add("{\"n\":" + i + ",\"pad\":\"" + "x".repeat(200) + "\"}");
      kinesis.put("shared", null, values);

      Path staging = Files.createDirectories(tmp.resolve("shared-staging"));
      int[] remote = NodeProcess.freePorts(2);
      String masterKey = Base64.getEncoder().encodeToString(new byte[32]);
      List<NodeProcess> nodes = new ArrayList<>();
      try {
        for (int i = 0; i < 2; i++) {
          Map<String, String> env =
              NodeProcess.clusterEnv(
                  pg.getPort(), TOKEN, masterKey, staging, "127.0.0.1:" + remote[0], remote[i]);
          nodes.add(
              NodeProcess.launch(
                  tmp.resolve("node-" + i),
                  tmp.resolve("node-" + i + ".log"),
                  env,
                  List.of(
                      "-Dakka.cluster.split-brain-resolver.stable-after=3s",
                      Kinesalite.JSON_PROTOCOL)));
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
        String id =
            nodes
                .get(0)
                .admin(
                    TOKEN,
                    "POST",
                    "/v1/admin/connections",
                    "{\"name\":\"Shared stream\",\"kind\":\"kinesis\",\"destination_id\":\""
                        + destination
                        + "\",\"batch_interval_seconds\":1,\"sync_interval_minutes\":0.05,"
                        + "\"source\":{\"stream\":\"shared\",\"region\":\"us-east-1\","
                        + "\"endpoint\":\""
                        + kinesis.endpoint()
                        + "\",\"access_key_id\":\"k\",\"secret_access_key\":\"s\"}}")
                .get("id")
                .asText();
        // Both nodes read shards, none the same.
        eventually(
            Duration.ofSeconds(60),
            () -> {
              Set<String> a = shardsRead(nodes.get(0));
              Set<String> b = shardsRead(nodes.get(1));
              assertThat(a).isNotEmpty();
              assertThat(b).isNotEmpty();
              assertThat(a).doesNotContainAnyElementsOf(b);
              assertThat(a.size() + b.size()).isEqualTo(8);
            });
        long[] accepted = new long[1];
        eventually(
            Duration.ofSeconds(60),
            () -> {
              accepted[0] =
                  nodes
                      .get(0)
                      .admin(TOKEN, "GET", "/v1/admin/connections/" + id + "/status", null)
                      .get("accepted_total")
                      .asLong();
              assertThat(accepted[0]).isGreaterThan(500);
            });
        // Of two, split-brain resolution (keep-majority) keeps the side with the lowest address:
        // the node with the higher remote port is the one that can be lost.
        int victim = remote[1] > remote[0] ? 1 : 0;
        NodeProcess survivor = nodes.get(1 - victim);
        Set<String> killedShards = shardsRead(nodes.get(victim));
        nodes.get(victim).kill();
        assertThat(loaded(pg.getPort()))
            .as("killed mid-stream")
            .isNotEqualTo(RECORDS + "|" + RECORDS);
        eventually(
            Duration.ofSeconds(180),
            () -> assertThat(loaded(pg.getPort())).isEqualTo(RECORDS + "|" + RECORDS));
        // The survivor reads the killed node's shards too, from their checkpoints, once the killed
        // node is downed; its records may all be durable (and loaded) before that.
        eventually(
            Duration.ofSeconds(90),
            () -> assertThat(shardsRead(survivor)).containsAll(killedShards));
      } finally {
        for (NodeProcess n : nodes) n.close();
      }
    }
  }
}
