package weir.node.stream;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.utils.Time;

/**
 * A real Kafka broker (KRaft, broker and controller in one) in the test JVM, on free ports, its log
 * under a temporary directory: what the Kafka connection tests consume from.
 */
public final class KafkaBroker implements AutoCloseable {
  private final KafkaRaftServer server;
  private final String bootstrap;
  private final Map<String, Object> clientAuth;

  private KafkaBroker(KafkaRaftServer server, String bootstrap, Map<String, Object> clientAuth) {
    this.server = server;
    this.bootstrap = bootstrap;
    this.clientAuth = clientAuth;
  }

  /** The settings of a client of this broker (the admin user's credentials with SASL). */
  public Map<String, Object> client() {
    Map<String, Object> out = new java.util.HashMap<>(clientAuth);
    out.put("bootstrap.servers", bootstrap);
    return out;
  }

  public static KafkaBroker start(Path dir) throws IOException {
    return start(dir, Map.of());
  }

  /**
   * A broker whose client listener takes SASL/PLAIN with {@code users} (name → password) when
   * given, else PLAINTEXT.
   */
  public static KafkaBroker start(Path dir, Map<String, String> users) throws IOException {
    int port;
    int controller;
    // Both sockets held at once: two free ports that differ.
    try (ServerSocket a = new ServerSocket(0);
        ServerSocket b = new ServerSocket(0)) {
      port = a.getLocalPort();
      controller = b.getLocalPort();
    }
    Properties p = new Properties();
    p.put("process.roles", "broker,controller");
    p.put("node.id", "1");
    p.put("controller.quorum.voters", "1@127.0.0.1:" + controller);
    String client = users.isEmpty() ? "PLAINTEXT" : "SASL_PLAINTEXT";
    p.put("listeners", client + "://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controller);
    p.put("advertised.listeners", client + "://127.0.0.1:" + port);
    p.put("controller.listener.names", "CONTROLLER");
    p.put("listener.security.protocol.map", client + ":" + client + ",CONTROLLER:PLAINTEXT");
    p.put("inter.broker.listener.name", client);
    if (!users.isEmpty()) {
      StringBuilder jaas =
          new StringBuilder(
              "org.apache.kafka.common.security.plain.PlainLoginModule required"
                  + " username=\"admin\" password=\"admin-secret\" user_admin=\"admin-secret\"");
      users.forEach(
          (u, pw) -> jaas.append(" user_").append(u).append("=\"").append(pw).append('"'));
      p.put("sasl.enabled.mechanisms", "PLAIN");
      p.put("sasl.mechanism.inter.broker.protocol", "PLAIN");
      p.put("listener.name.sasl_plaintext.plain.sasl.jaas.config", jaas.append(';').toString());
    }
    p.put("log.dirs", dir.resolve("log").toString());
    p.put("offsets.topic.replication.factor", "1");
    p.put("offsets.topic.num.partitions", "3");
    p.put("transaction.state.log.replication.factor", "1");
    p.put("transaction.state.log.min.isr", "1");
    p.put("group.initial.rebalance.delay.ms", "0");
    p.put("auto.create.topics.enable", "false");
    Files.createDirectories(dir);
    Path config = dir.resolve("server.properties");
    try (var out = Files.newOutputStream(config)) {
      p.store(out, "weir test broker");
    }
    ByteArrayOutputStream formatted = new ByteArrayOutputStream();
    int rc =
        StorageTool.execute(
            new String[] {
              "format",
              "-t",
              Uuid.randomUuid().toString(),
              "-c",
              config.toString(),
              "--ignore-formatted"
            },
            new PrintStream(formatted, true, StandardCharsets.UTF_8));
    if (rc != 0) throw new IOException("formatting the broker's log failed: " + formatted);
    KafkaRaftServer server = new KafkaRaftServer(KafkaConfig.fromProps(p), Time.SYSTEM);
    server.startup();
    return new KafkaBroker(server, "127.0.0.1:" + port, users.isEmpty() ? Map.of() : ADMIN_SASL);
  }

  private static final Map<String, Object> ADMIN_SASL =
      Map.of(
          "security.protocol",
          "SASL_PLAINTEXT",
          "sasl.mechanism",
          "PLAIN",
          "sasl.jaas.config",
          "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"admin\""
              + " password=\"admin-secret\";");

  public String bootstrap() {
    return bootstrap;
  }

  public void createTopic(String topic, int partitions) throws Exception {
    try (Admin admin = Admin.create(client())) {
      admin
          .createTopics(List.of(new NewTopic(topic, partitions, (short) 1)))
          .all()
          .get(30, TimeUnit.SECONDS);
    }
  }

  /** Sends {@code values} to {@code topic} (partition chosen by key when given), flushed. */
  public void send(String topic, List<String> keys, List<String> values) {
    Map<String, Object> config = client();
    config.put(ProducerConfig.ACKS_CONFIG, "all");
    config.put(ProducerConfig.LINGER_MS_CONFIG, "5");
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(config, new ByteArraySerializer(), new ByteArraySerializer())) {
      for (int i = 0; i < values.size(); i++) {
        byte[] key = keys == null ? null : keys.get(i).getBytes(StandardCharsets.UTF_8);
        producer.send(
            new ProducerRecord<>(topic, key, values.get(i).getBytes(StandardCharsets.UTF_8)));
      }
      producer.flush();
    }
  }

  @Override
  public void close() {
    server.shutdown();
    server.awaitShutdown();
  }
}
