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
  private final String certificatePem;

  private KafkaBroker(
      KafkaRaftServer server,
      String bootstrap,
      Map<String, Object> clientAuth,
      String certificatePem) {
    this.server = server;
    this.bootstrap = bootstrap;
    this.clientAuth = clientAuth;
    this.certificatePem = certificatePem;
  }

  /**
   * The settings of a client of this broker (the admin user's credentials with SASL, the broker's
   * certificate as truststore with SSL).
   */
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
    return start(dir, users, null);
  }

  /**
   * A broker whose client listener (also the inter-broker one) takes SSL with a self-signed
   * certificate for {@code 127.0.0.1} and {@code localhost}, made now with the JDK's {@code
   * keytool}; {@link #certificatePem()} is what a client must trust.
   */
  public static KafkaBroker startSsl(Path dir) throws IOException {
    return start(dir, Map.of(), SelfSigned.create(dir.resolve("tls")));
  }

  /** The broker's self-signed certificate, PEM (null unless started with SSL). */
  public String certificatePem() {
    return certificatePem;
  }

  private static KafkaBroker start(Path dir, Map<String, String> users, SelfSigned tls)
      throws IOException {
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
    String client = tls != null ? "SSL" : users.isEmpty() ? "PLAINTEXT" : "SASL_PLAINTEXT";
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
    if (tls != null) {
      p.put("ssl.keystore.type", "PKCS12");
      p.put("ssl.keystore.location", tls.keystore().toString());
      p.put("ssl.keystore.password", SelfSigned.PASSWORD);
      p.put("ssl.key.password", SelfSigned.PASSWORD);
      // The broker is its own client on the inter-broker listener.
      p.put("ssl.truststore.type", "PEM");
      p.put("ssl.truststore.certificates", tls.pem());
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
    Map<String, Object> auth =
        tls != null
            ? Map.of(
                "security.protocol", "SSL",
                "ssl.truststore.type", "PEM",
                "ssl.truststore.certificates", tls.pem())
            : users.isEmpty() ? Map.of() : ADMIN_SASL;
    return new KafkaBroker(server, "127.0.0.1:" + port, auth, tls == null ? null : tls.pem());
  }

  /** A PKCS12 keystore holding a fresh self-signed key pair, and its certificate as PEM. */
  private record SelfSigned(Path keystore, String pem) {
    static final String PASSWORD = "weir-test-keystore";

    static SelfSigned create(Path dir) throws IOException {
      Files.createDirectories(dir);
      Path keystore = dir.resolve("broker.p12");
      Path pem = dir.resolve("broker.pem");
      Files.deleteIfExists(keystore);
      keytool(
          "-genkeypair",
          "-alias",
          "broker",
          "-keyalg",
          "RSA",
          "-keysize",
          "2048",
          "-validity",
          "2",
          "-storetype",
          "PKCS12",
          "-keystore",
          keystore.toString(),
          "-storepass",
          PASSWORD,
          "-keypass",
          PASSWORD,
          "-dname",
          "CN=localhost",
          "-ext",
          "SAN=ip:127.0.0.1,dns:localhost",
          "-noprompt");
      keytool(
          "-exportcert",
          "-rfc",
          "-alias",
          "broker",
          "-keystore",
          keystore.toString(),
          "-storepass",
          PASSWORD,
          "-file",
          pem.toString());
      return new SelfSigned(keystore, Files.readString(pem, StandardCharsets.US_ASCII));
    }

    private static void keytool(String... args) throws IOException {
      List<String> command = new java.util.ArrayList<>();
      command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
      command.addAll(List.of(args));
      Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
      try {
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0)
          throw new IOException("keytool " + args[0] + " failed: " + output);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted waiting for keytool", e);
      } finally {
        process.destroy();
      }
    }
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
