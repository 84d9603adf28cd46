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
 * node's counted from the connection's creation until every record is in the journal (durable;
 * offsets committed after that) and until every record is loaded, and their ratio. One run, same
 * machine, same topic.
 *
 * <p>Two rounds, each on a topic of its own: a warm-up of N/4 records, then the measured N. Both
 * consumers take part in both, so that each is measured with its code compiled (the JVM is cold at
 * first for both; on 2 cores the node's much larger code path is still being compiled for most of a
 * first round). The warm-up round's figures are printed too.
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
      int warmup = Math.max(1, records / 4);
      produce(broker, "warmup", partitions, warmup);
      produce(broker, "bench", partitions, records);
      double warmPerf = consumerPerfTest(broker, "warmup", warmup);
      double perfRate = consumerPerfTest(broker, "bench", records);

      Path warehouse = dir.resolve("wh.duckdb");
      WeirNode node =
          TestNodes.inProcess(dir.resolve("node"), Map.of("weir.admin.token", "bench-token"));
      try {
        NodeApi api = new NodeApi(node, "bench-token");
        String destination = api.duckdbDestination(warehouse);
        double[] warm = consume(api, broker, destination, warehouse, "warmup", warmup);
        System.out.printf(
            "warm-up round (%d records, cold JVM): kafka-consumer-perf-test %.0f records/s, weir"
                + " %.0f records/s durable (%.2f), %.0f records/s loaded%n",
            warmup, warmPerf, warmup / warm[0], warmup / warm[0] / warmPerf, warmup / warm[1]);
        double[] measured = consume(api, broker, destination, warehouse, "bench", records);
        double durableRate = records / measured[0];
        System.out.printf(
            "weir kafka connection: %d records durable in %.1f s (%.0f records/s), loaded into"
                + " DuckDB in %.1f s (%.0f records/s)%n",
            records, measured[0], durableRate, measured[1], records / measured[1]);
        System.out.printf(
            "ratio durable/kafka-consumer-perf-test: %.2f (goal >= 0.5)%n", durableRate / perfRate);
      } finally {
        node.stop(Duration.ofSeconds(60));
      }
    }
  }

  private static void produce(KafkaBroker broker, String topic, int partitions, int records)
      throws Exception {
    broker.createTopic(topic, partitions);
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
        producer.send(new ProducerRecord<>(topic, v.getBytes(StandardCharsets.UTF_8)));
      }
      producer.flush();
    }
    System.out.printf(
        "produced %d records on %s in %.1f s%n", records, topic, (System.nanoTime() - t0) / 1e9);
  }

  /** Kafka's own consumer benchmark on {@code topic}: its records/s (nMsg.sec). */
  private static double consumerPerfTest(KafkaBroker broker, String topic, int records)
      throws Exception {
    PrintStream out = System.out;
    ByteArrayOutputStream perf = new ByteArrayOutputStream();
    System.setOut(new PrintStream(perf, true, StandardCharsets.UTF_8));
    try {
      ConsumerPerformance.main(
          new String[] {
            "--bootstrap-server",
            broker.bootstrap(),
            "--topic",
            topic,
            "--messages",
            Integer.toString(records),
            "--group",
            "perf-test-" + topic,
            "--timeout",
            "60000"
          });
    } finally {
      System.setOut(out);
    }
    String[] lines = perf.toString(StandardCharsets.UTF_8).strip().split("\n");
    String[] cols = lines[lines.length - 1].split(",\\s*");
    System.out.println("kafka-consumer-perf-test (" + topic + "): " + lines[lines.length - 1]);
    return Double.parseDouble(cols[5]);
  }

  /**
   * A new kafka connection on {@code topic} into {@code bench.<topic>}: seconds from its creation
   * until all {@code records} are durable, and until they are all loaded.
   */
  private static double[] consume(
      NodeApi api,
      KafkaBroker broker,
      String destination,
      Path warehouse,
      String topic,
      int records)
      throws Exception {
    long start = System.nanoTime();
    String id =
        api.admin(
                "POST",
                "/v1/admin/connections",
                "{\"name\":\"Bench "
                    + topic
                    + "\",\"kind\":\"kafka\",\"destination_id\":\""
                    + destination
                    + "\",\"schema\":\"bench\",\"table\":\""
                    + topic
                    + "\",\"batch_size\":50000,\"batch_interval_seconds\":5,"
                    + "\"sync_interval_minutes\":0.1,\"source\":{\"bootstrap_servers\":\""
                    + broker.bootstrap()
                    + "\",\"topics\":[\""
                    + topic
                    + "\"]}}")
            .get("id")
            .asText();
    double durableSeconds;
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
    while (true) {
      String n;
      try {
        n = DuckDbRows.query(warehouse, "SELECT count(*) FROM bench." + topic).get(0);
      } catch (java.sql.SQLException notYet) {
        n = "0";
      }
      if (Long.parseLong(n) >= records) {
        return new double[] {durableSeconds, (System.nanoTime() - start) / 1e9};
      }
      if ((System.nanoTime() - start) > Duration.ofMinutes(30).toNanos())
        throw new IllegalStateException("not all records loaded after 30 min");
      Thread.sleep(250);
    }
  }
}
