package weir.node.stream;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.tools.ConsumerPerformance;
import weir.node.DuckDbRows;
import weir.node.NodeApi;
import weir.node.TestNodes;
import weir.node.WeirNode;

/**
 * {@code deploy/bench/kafka-bench.sh}: N records on a local topic (a KRaft broker in this JVM),
 * read once by Kafka's own {@code kafka-consumer-perf-test} ({@link ConsumerPerformance}), then
 * consumed by a Kafka connection of an in-process node into DuckDB. Prints records/s of both, the
 * node's counted until every record is in the journal (durable; offsets committed after that) and
 * until every record is loaded, and their ratio. One run, same machine, same topic.
 *
 * <p>Args: {@code records partitions dir}.
 */
public final class KafkaBench {
  private KafkaBench() {}

  public static void main(String[] args) throws Exception {
    int records = Integer.parseInt(args[0]);
    int partitions = Integer.parseInt(args[1]);
    Path dir = Path.of(args[2]);
    Files.createDirectories(dir);
    try (KafkaBroker broker = KafkaBroker.start(dir.resolve("kafka"))) {
      broker.createTopic("bench", partitions);
      Map<String, Object> config = new HashMap<>(broker.client());
      config.put(ProducerConfig.ACKS_CONFIG, "1");
      config.put(ProducerConfig.LINGER_MS_CONFIG, "20");
      config.put(ProducerConfig.BATCH_SIZE_CONFIG, "262144");
      long t0 = System.nanoTime();
      try (KafkaProducer<byte[], byte[]> producer =
          new KafkaProducer<>(config, new ByteArraySerializer(), new ByteArraySerializer())) {
        for (int i = 0; i < records; i++) {
          String v =
              "{\"n\":"
                  + i
                  + ",\"user\":\"u"
                  + (i % 1000)
                  + "\",\"event\":\"Order Completed\",\"value\":"
                  + (i % 97)
                  + ".5}";
          producer.send(new ProducerRecord<>("bench", v.getBytes(StandardCharsets.UTF_8)));
        }
        producer.flush();
      }
      System.out.printf("produced %d records in %.1f s%n", records, (System.nanoTime() - t0) / 1e9);

      // Kafka's own consumer benchmark on the same topic.
      PrintStream out = System.out;
      ByteArrayOutputStream perf = new ByteArrayOutputStream();
      System.setOut(new PrintStream(perf, true, StandardCharsets.UTF_8));
      try {
        ConsumerPerformance.main(
            new String[] {
              "--bootstrap-server", broker.bootstrap(),
              "--topic", "bench",
              "--messages", Integer.toString(records),
              "--group", "perf-test",
              "--timeout", "60000"
            });
      } finally {
        System.setOut(out);
      }
      String[] lines = perf.toString(StandardCharsets.UTF_8).strip().split("\n");
      String[] cols = lines[lines.length - 1].split(",\\s*");
      double perfRate = Double.parseDouble(cols[5]);
      System.out.println("kafka-consumer-perf-test: " + lines[lines.length - 1]);

      Path warehouse = dir.resolve("wh.duckdb");
      WeirNode node =
          TestNodes.inProcess(dir.resolve("node"), Map.of("weir.admin.token", "bench-token"));
      try {
        NodeApi api = new NodeApi(node, "bench-token");
        String destination = api.duckdbDestination(warehouse);
        long start = System.nanoTime();
        String id =
            api.admin(
                    "POST",
                    "/v1/admin/connections",
                    "{\"name\":\"Bench\",\"kind\":\"kafka\",\"destination_id\":\""
                        + destination
                        + "\",\"batch_size\":50000,\"batch_interval_seconds\":5,"
                        + "\"sync_interval_minutes\":0.1,\"source\":{\"bootstrap_servers\":\""
                        + broker.bootstrap()
                        + "\",\"topics\":[\"bench\"]}}")
                .get("id")
                .asText();
        double durableSeconds = 0;
        while (true) {
          JsonNode status = api.admin("GET", "/v1/admin/connections/" + id + "/status", null);
          if (status.get("accepted_total").asLong() >= records) {
            durableSeconds = (System.nanoTime() - start) / 1e9;
            break;
          }
          if ((System.nanoTime() - start) > Duration.ofMinutes(20).toNanos())
            throw new IllegalStateException("not all records in the journal after 20 min");
          Thread.sleep(100);
        }
        double loadedSeconds;
        while (true) {
          String n;
          try {
            n = DuckDbRows.query(warehouse, "SELECT count(*) FROM bench.events").get(0);
          } catch (java.sql.SQLException notYet) {
            n = "0";
          }
          if (Long.parseLong(n) >= records) {
            loadedSeconds = (System.nanoTime() - start) / 1e9;
            break;
          }
          if ((System.nanoTime() - start) > Duration.ofMinutes(30).toNanos())
            throw new IllegalStateException("not all records loaded after 30 min");
          Thread.sleep(250);
        }
        double durableRate = records / durableSeconds;
        System.out.printf(
            "weir kafka connection: %d records durable in %.1f s (%.0f records/s), loaded into"
                + " DuckDB in %.1f s (%.0f records/s)%n",
            records, durableSeconds, durableRate, loadedSeconds, records / loadedSeconds);
        System.out.printf(
            "ratio durable/kafka-consumer-perf-test: %.2f (goal >= 0.5)%n", durableRate / perfRate);
      } finally {
        node.stop(Duration.ofSeconds(60));
      }
    }
  }
}
