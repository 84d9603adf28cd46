package weir.node.stream;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The test broker takes and serves records (the harness the Kafka connection tests stand on). */
class KafkaBrokerTest {
  @Test
  void theBrokerStoresAndServesRecords(@TempDir Path dir) throws Exception {
    try (KafkaBroker broker = KafkaBroker.start(dir)) {
      broker.createTopic("t", 2);
      broker.send("t", null, List.of("a", "b", "c"));
      List<String> seen = new ArrayList<>();
      try (KafkaConsumer<String, String> c =
          new KafkaConsumer<>(
              Map.of(
                  ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrap(),
                  ConsumerConfig.GROUP_ID_CONFIG, "g",
                  ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"),
              new StringDeserializer(),
              new StringDeserializer())) {
        c.subscribe(List.of("t"));
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (seen.size() < 3 && System.nanoTime() < deadline)
          c.poll(Duration.ofMillis(200)).forEach(r -> seen.add(r.value()));
      }
      assertThat(seen).containsExactlyInAnyOrder("a", "b", "c");
    }
  }
}
