package weir.node.stream;

import akka.Done;
import akka.actor.typed.ActorSystem;
import akka.japi.Pair;
import akka.kafka.CommitterSettings;
import akka.kafka.ConsumerMessage;
import akka.kafka.ConsumerSettings;
import akka.kafka.Subscriptions;
import akka.kafka.javadsl.Committer;
import akka.kafka.javadsl.Consumer;
import akka.stream.KillSwitches;
import akka.stream.RestartSettings;
import akka.stream.UniqueKillSwitch;
import akka.stream.javadsl.Keep;
import akka.stream.javadsl.RestartSource;
import akka.stream.javadsl.Sink;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.config.SslConfigs;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import weir.node.RootCause;
import weir.node.ingest.IngestGateway;
import weir.node.ingest.JournalWrites;
import weir.persistence.registry.Connection;
import weir.persistence.registry.ConnectionKind;
import weir.persistence.secrets.SecretBox;
import weir.protocol.Json;

/**
 * The Kafka connections this node consumes: one Alpakka Kafka consumer per active {@code kafka}
 * connection, on every node, all in the connection's consumer group, so Kafka spreads the
 * partitions over the cluster (no partition is read by two nodes at once) and hands a lost node's
 * partitions to the others, which continue from the last commit.
 *
 * <p>Records go in groups (up to 500, or what arrived in 100 ms) through the same gateway as HTTP
 * requests ({@link JournalWrites}); the group's offsets are committed only after its journal write
 * succeeded, so a crash redelivers at most what was not committed, and event ids (the record's
 * {@code <topic>-<partition>-<offset>}, or the format's own id) keep redelivered records from
 * loading twice. While the buffers refuse, the group waits and the consumer stops pulling
 * (backpressure). A consumer that fails (the brokers refuse the credentials, the journal stays
 * down) restarts with backoff; its error shows in the connection's status.
 *
 * <p>Every few seconds the node compares the registry with what it runs: new connections start,
 * deleted ones stop, changed ones (a PATCH of {@code source}) restart with their new settings.
 */
public final class KafkaSources {
  private static final Logger log = LoggerFactory.getLogger(KafkaSources.class);
  private static final int GROUP_RECORDS = 2_000;

  /**
   * Groups written at once per consumer: their journal writes go to different buffer slots in
   * parallel, while their offsets are committed in order (each after its own write and every
   * earlier one).
   */
  private static final int WRITES_IN_FLIGHT = 4;

  private final ActorSystem<?> system;
  private final IngestGateway gateway;
  private final SecretBox secrets;
  private final Executor blocking;

  /** Status requests ask the brokers off the write threads (which may all wait for room). */
  private final Executor statusExecutor =
      java.util.concurrent.Executors.newCachedThreadPool(
          r -> {
            Thread t = new Thread(r, "weir-kafka-status");
            t.setDaemon(true);
            return t;
          });

  private final Supplier<Collection<Connection>> connections;
  private final Map<String, Running> running = new ConcurrentHashMap<>();
  private final Map<String, String> lastErrors = new ConcurrentHashMap<>();

  private record Running(
      Connection connection,
      UniqueKillSwitch kill,
      CompletionStage<Done> done,
      AtomicBoolean stopped,
      java.util.concurrent.atomic.AtomicReference<Consumer.Control> control) {}

  private final weir.node.metrics.NodeMetrics metrics;

  public KafkaSources(
      ActorSystem<?> system,
      IngestGateway gateway,
      SecretBox secrets,
      Executor blocking,
      Supplier<Collection<Connection>> connections,
      weir.node.metrics.NodeMetrics metrics) {
    this.metrics = metrics;
    this.system = system;
    this.gateway = gateway;
    this.secrets = secrets;
    this.blocking = blocking;
    this.connections = connections;
  }

  /** Follows the registry every {@code interval} for as long as the actor system runs. */
  public void followEvery(Duration interval) {
    system
        .scheduler()
        .scheduleWithFixedDelay(
            Duration.ZERO,
            interval,
            () -> guarded("following the registry", this::reconcile),
            system.executionContext());
    system
        .scheduler()
        .scheduleWithFixedDelay(
            Duration.ofSeconds(5),
            Duration.ofSeconds(5),
            () -> guarded("publishing weir_source_lag", this::publishLag),
            system.executionContext());
    // A stopping node stops consuming first, draining: no new records, the groups being written
    // finish and their offsets are committed (for at most DRAIN), so the group's other consumers
    // (or its next start) take over from there, not from older commits. What it took is drained
    // with the buffers after this.
    akka.actor.CoordinatedShutdown.get(system)
        .addTask(
            akka.actor.CoordinatedShutdown.PhaseServiceUnbind(),
            "weir-stop-kafka-consumers",
            this::drainAll);
    system.getWhenTerminated().thenRun(this::stopAll);
  }

  /** A scheduled task that must not end its schedule by throwing (the scheduler would stop it). */
  private static void guarded(String what, Runnable task) {
    try {
      task.run();
    } catch (RuntimeException e) {
      log.warn("Kafka connections: {} failed: {}", what, RootCause.describe(e));
    }
  }

  private synchronized void stopAll() {
    stopping = true;
    List.copyOf(running.keySet()).forEach(this::stop);
  }

  /** How long a stopping node waits for its consumers' groups in flight to be written. */
  static final Duration DRAIN = Duration.ofSeconds(4);

  /**
   * Stops every consumer from taking records, waits (at most {@link #DRAIN}) until what each had
   * taken is written and committed, then stops them.
   */
  private CompletionStage<Done> drainAll() {
    List<CompletableFuture<Done>> drained = new ArrayList<>();
    synchronized (this) {
      stopping = true;
      for (Running r : running.values()) {
        Consumer.Control control = r.control().get();
        if (control == null) continue;
        control.stop();
        drained.add(
            r.done()
                .toCompletableFuture()
                .completeOnTimeout(Done.getInstance(), DRAIN.toMillis(), TimeUnit.MILLISECONDS)
                .exceptionally(e -> Done.getInstance()));
      }
    }
    return CompletableFuture.allOf(drained.toArray(new CompletableFuture<?>[0]))
        .thenApply(
            v -> {
              stopAll();
              return Done.getInstance();
            });
  }

  private volatile boolean stopping;

  /**
   * {@code weir_source_lag{connection, topic, partition}}: the records behind the end of each
   * partition this node consumes, from its consumers' own metrics ({@code records-lag}).
   */
  private void publishLag() {
    Map<Map<String, String>, Double> lag = new ConcurrentHashMap<>();
    List<CompletableFuture<?>> all = new ArrayList<>();
    for (Map.Entry<String, Running> e : running.entrySet()) {
      Consumer.Control control = e.getValue().control().get();
      if (control == null) continue;
      all.add(
          control
              .getMetrics()
              .thenAccept(
                  m ->
                      m.forEach(
                          (name, metric) -> {
                            if (!name.name().equals("records-lag")
                                || !name.tags().containsKey("partition")) return;
                            Object v = metric.metricValue();
                            if (!(v instanceof Number n) || Double.isNaN(n.doubleValue())) return;
                            lag.put(
                                Map.of(
                                    "connection", e.getKey(),
                                    "topic", name.tags().getOrDefault("topic", ""),
                                    "partition", name.tags().get("partition")),
                                n.doubleValue());
                          }))
              .toCompletableFuture());
    }
    CompletableFuture.allOf(all.toArray(new CompletableFuture<?>[0]))
        .whenComplete((done, failure) -> metrics.replaceGauges("weir_source_lag", lag));
  }

  /** Starts, stops and restarts consumers to match the registry. */
  public synchronized void reconcile() {
    if (stopping) return;
    Map<String, Connection> wanted = new HashMap<>();
    for (Connection c : connections.get())
      if (c.kind() == ConnectionKind.kafka && c.active()) wanted.put(c.id(), c);
    for (String id : List.copyOf(running.keySet())) {
      Connection w = wanted.get(id);
      if (w == null || !sameSettings(w, running.get(id).connection())) stop(id);
    }
    for (Connection c : wanted.values()) if (!running.containsKey(c.id())) start(c);
  }

  private static boolean sameSettings(Connection a, Connection b) {
    return a.source().equals(b.source())
        && Objects.equals(a.table(), b.table())
        && Objects.equals(a.idField(), b.idField())
        && a.destinationId().equals(b.destinationId());
  }

  private void stop(String id) {
    Running r = running.remove(id);
    if (r == null) return;
    r.stopped().set(true);
    r.kill().shutdown();
    Consumer.Control control = r.control().get();
    if (control != null) control.shutdown();
    lastErrors.remove(id);
    log.info("Kafka connection {}: consumer stopped", id);
  }

  private void start(Connection c) {
    ConsumerSettings<byte[], byte[]> settings;
    try {
      settings = consumerSettings(c);
    } catch (RuntimeException e) {
      lastErrors.put(c.id(), RootCause.describe(e));
      return;
    }
    List<String> topics = topics(c);
    AtomicBoolean stopped = new AtomicBoolean();
    java.util.concurrent.atomic.AtomicReference<Consumer.Control> control =
        new java.util.concurrent.atomic.AtomicReference<>();
    CommitterSettings committer = CommitterSettings.create(system);
    RestartSettings restart =
        RestartSettings.create(Duration.ofSeconds(1), Duration.ofSeconds(30), 0.2);
    Pair<UniqueKillSwitch, CompletionStage<Done>> run =
        RestartSource.onFailuresWithBackoff(
                restart,
                () ->
                    akka.stream.javadsl.Source.completionStage(startAtTheEnd(c))
                        .flatMapConcat(
                            fixed ->
                                Consumer.committableSource(
                                        // Once the start is fixed as offsets, a partition without
                                        // any (added to the topic later, or past retention) is
                                        // read from its beginning: everything in it came later.
                                        fixed
                                            ? settings.withProperty(
                                                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest")
                                            : settings,
                                        Subscriptions.topics(topics.toArray(new String[0])))
                                    .mapMaterializedValue(
                                        c2 -> {
                                          control.set(c2);
                                          return c2;
                                        }))
                        .groupedWithin(GROUP_RECORDS, Duration.ofMillis(50))
                        .mapAsync(WRITES_IN_FLIGHT, group -> persist(c, group, stopped))
                        .via(Committer.flow(committer))
                        .map(
                            done -> {
                              lastErrors.remove(c.id());
                              return done;
                            })
                        .watchTermination(
                            (mat, finished) -> {
                              finished.whenComplete(
                                  (d, e) -> {
                                    if (e != null && !stopped.get()) {
                                      lastErrors.put(c.id(), RootCause.describe(e));
                                      log.warn(
                                          "Kafka connection {}: consumer failed, restarting: {}",
                                          c.id(),
                                          RootCause.describe(e));
                                    }
                                  });
                              return mat;
                            }))
            .viaMat(KillSwitches.single(), Keep.right())
            .toMat(Sink.ignore(), Keep.both())
            .run(system);
    running.put(c.id(), new Running(c, run.first(), run.second(), stopped, control));
    log.info(
        "Kafka connection {}: consuming {} from {} (group {}, format {})",
        c.id(),
        topics,
        c.source().get("bootstrap_servers"),
        groupId(c),
        c.eventFormat());
  }

  /**
   * A {@code latest} connection's start, fixed once: the group's offsets, for every partition that
   * has none, are committed at the partitions' current ends before the first consumer runs. Every
   * consumer (this one after a restart, another node's after a failover) then starts from committed
   * offsets, so records put after the connection started are never skipped, even before its first
   * commit ({@code auto.offset.reset=latest} alone would start a new consumer at the new end). The
   * brokers refuse to change the offsets of a group with members: then another consumer has already
   * done this, and nothing needs to.
   */
  private CompletionStage<Boolean> startAtTheEnd(Connection c) {
    if (!"latest".equals(c.source().get("start"))) return CompletableFuture.completedFuture(false);
    return CompletableFuture.supplyAsync(
        () -> {
          try (Admin a = Admin.create(adminSettings(c))) {
            Map<TopicPartition, OffsetAndMetadata> committed =
                a.listConsumerGroupOffsets(groupId(c))
                    .partitionsToOffsetAndMetadata()
                    .get(10, TimeUnit.SECONDS);
            Map<TopicPartition, OffsetSpec> ends = new HashMap<>();
            a.describeTopics(topics(c))
                .allTopicNames()
                .get(10, TimeUnit.SECONDS)
                .values()
                .forEach(
                    d ->
                        d.partitions()
                            .forEach(
                                p -> {
                                  TopicPartition tp = new TopicPartition(d.name(), p.partition());
                                  if (committed.get(tp) == null) ends.put(tp, OffsetSpec.latest());
                                }));
            if (ends.isEmpty()) return true;
            Map<TopicPartition, OffsetAndMetadata> start = new HashMap<>();
            a.listOffsets(ends)
                .all()
                .get(10, TimeUnit.SECONDS)
                .forEach((tp, info) -> start.put(tp, new OffsetAndMetadata(info.offset())));
            a.alterConsumerGroupOffsets(groupId(c), start).all().get(10, TimeUnit.SECONDS);
            log.info(
                "Kafka connection {}: start latest fixed at the current ends of {} partitions",
                c.id(),
                start.size());
            return true;
          } catch (Exception e) {
            if (RootCause.of(e) instanceof org.apache.kafka.common.errors.GroupNotEmptyException)
              return true;
            log.warn(
                "Kafka connection {}: the latest start could not be fixed as offsets ({}); a"
                    + " consumer without a commit starts at the partition's end",
                c.id(),
                RootCause.describe(e));
            return false;
          }
        },
        statusExecutor);
  }

  /** An admin client's settings for {@code c}'s brokers (with its security). */
  private Map<String, Object> adminSettings(Connection c) {
    Map<String, Object> admin = new HashMap<>();
    admin.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, c.source().get("bootstrap_servers"));
    admin.put(CommonClientConfigs.REQUEST_TIMEOUT_MS_CONFIG, 5000);
    admin.put(CommonClientConfigs.DEFAULT_API_TIMEOUT_MS_CONFIG, 5000);
    admin.putAll(clientSecurity(c));
    return admin;
  }

  /** One group of records into the journal; its offsets once that succeeded. */
  private CompletionStage<ConsumerMessage.CommittableOffsetBatch> persist(
      Connection c,
      List<ConsumerMessage.CommittableMessage<byte[], byte[]>> group,
      AtomicBoolean stopped) {
    return CompletableFuture.supplyAsync(
        () -> {
          List<StreamRecords.StreamRecord> records = new ArrayList<>(group.size());
          List<ConsumerMessage.Committable> offsets = new ArrayList<>(group.size());
          for (ConsumerMessage.CommittableMessage<byte[], byte[]> m : group) {
            ConsumerRecord<byte[], byte[]> r = m.record();
            records.add(
                new StreamRecords.StreamRecord(
                    r.topic() + "-" + r.partition() + "-" + r.offset(), r.value()));
            offsets.add(m.committableOffset());
          }
          StreamRecords.Parsed parsed = StreamRecords.parse(c, records);
          try {
            JournalWrites.forStream(gateway, c, stopped::get)
                .write(parsed.rows(), parsed.rejections());
          } catch (Exception e) {
            throw new java.util.concurrent.CompletionException(e);
          }
          return ConsumerMessage.createCommittableOffsetBatch(offsets);
        },
        blocking);
  }

  /** The consumer group of a connection: its {@code group_id}, else {@code weir-<id>}. */
  public static String groupId(Connection c) {
    String g = c.source().get("group_id");
    return g == null || g.isBlank() ? "weir-" + c.id() : g;
  }

  /** The topics a connection consumes. */
  public static List<String> topics(Connection c) {
    return Arrays.stream(c.source().getOrDefault("topics", "").split(","))
        .map(String::strip)
        .filter(t -> !t.isEmpty())
        .toList();
  }

  private ConsumerSettings<byte[], byte[]> consumerSettings(Connection c) {
    ConsumerSettings<byte[], byte[]> s =
        ConsumerSettings.create(system, new ByteArrayDeserializer(), new ByteArrayDeserializer())
            .withBootstrapServers(c.source().get("bootstrap_servers"))
            .withGroupId(groupId(c))
            .withClientId("weir-" + c.id())
            .withProperty(
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG,
                "latest".equals(c.source().get("start")) ? "latest" : "earliest")
            .withProperty(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    for (Map.Entry<String, String> e : clientSecurity(c).entrySet())
      s = s.withProperty(e.getKey(), e.getValue());
    return s;
  }

  /**
   * The client settings of {@code security} (the password opened here, only in memory); without a
   * {@code truststore}, SSL trusts the JVM's default trust store.
   */
  private Map<String, String> clientSecurity(Connection c) {
    Map<String, String> out = new TreeMap<>();
    String protocol = c.source().get("security.protocol");
    if (protocol == null || protocol.equals("PLAINTEXT")) return out;
    out.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, protocol);
    String truststore = c.source().get("security.truststore");
    if (truststore != null && protocol.endsWith("SSL")) {
      out.put(SslConfigs.SSL_TRUSTSTORE_TYPE_CONFIG, "PEM");
      out.put(SslConfigs.SSL_TRUSTSTORE_CERTIFICATES_CONFIG, truststore);
    }
    String mechanism = c.source().getOrDefault("security.sasl_mechanism", "PLAIN");
    if (protocol.startsWith("SASL")) {
      out.put(SaslConfigs.SASL_MECHANISM, mechanism);
      String module =
          mechanism.startsWith("SCRAM")
              ? "org.apache.kafka.common.security.scram.ScramLoginModule"
              : "org.apache.kafka.common.security.plain.PlainLoginModule";
      String password = c.source().get("security.password");
      out.put(
          SaslConfigs.SASL_JAAS_CONFIG,
          module
              + " required username=\""
              + jaas(c.source().getOrDefault("security.username", ""))
              + "\" password=\""
              + jaas(password == null ? "" : secrets.open(password))
              + "\";");
    }
    return out;
  }

  private static String jaas(String s) {
    return s.replace("\\", "\\\\").replace("\"", "\\\"");
  }

  /**
   * The status of a Kafka connection, from the brokers (any node answers for the whole group): per
   * partition the committed offset, the end offset and the lag, their total, and this node's
   * consumer's last error.
   */
  public CompletionStage<ObjectNode> status(Connection c) {
    return CompletableFuture.supplyAsync(
        () -> {
          ObjectNode out = Json.MAPPER.createObjectNode();
          out.put("group_id", groupId(c));
          out.put("consuming_here", running.containsKey(c.id()));
          out.put("last_error", lastErrors.get(c.id()));
          Map<String, Object> admin;
          ArrayNode partitions = out.putArray("partitions");
          long lag = 0;
          try {
            admin = adminSettings(c);
          } catch (RuntimeException e) {
            out.put("error", "the connection's credentials cannot be opened: " + e.getMessage());
            return out;
          }
          try (Admin a = Admin.create(admin)) {
            Map<TopicPartition, OffsetAndMetadata> committed =
                a.listConsumerGroupOffsets(groupId(c))
                    .partitionsToOffsetAndMetadata()
                    .get(5, TimeUnit.SECONDS);
            Map<String, TopicDescription> described =
                a.describeTopics(topics(c)).allTopicNames().get(5, TimeUnit.SECONDS);
            Map<TopicPartition, OffsetSpec> ends = new HashMap<>();
            described
                .values()
                .forEach(
                    d ->
                        d.partitions()
                            .forEach(
                                p ->
                                    ends.put(
                                        new TopicPartition(d.name(), p.partition()),
                                        OffsetSpec.latest())));
            Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> end =
                a.listOffsets(ends).all().get(5, TimeUnit.SECONDS);
            for (TopicPartition tp :
                new java.util.TreeSet<>(
                    java.util.Comparator.comparing(TopicPartition::topic)
                        .thenComparingInt(TopicPartition::partition)) {
                  {
                    addAll(end.keySet());
                  }
                }) {
              long e = end.get(tp).offset();
              OffsetAndMetadata o = committed.get(tp);
              long position = o == null ? 0 : o.offset();
              long behind = Math.max(0, e - position);
              lag += behind;
              partitions
                  .addObject()
                  .put("topic", tp.topic())
                  .put("partition", tp.partition())
                  .put("committed_offset", o == null ? null : o.offset())
                  .put("end_offset", e)
                  .put("lag", behind);
            }
            out.put("lag", lag);
          } catch (Exception e) {
            out.put("error", "the brokers did not answer: " + RootCause.describe(e));
          }
          return out;
        },
        statusExecutor);
  }

  /** The connection ids this node consumes (for tests and logs). */
  public Set<String> consuming() {
    return Set.copyOf(running.keySet());
  }
}
