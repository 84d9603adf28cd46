package weir.node.stream;

import akka.actor.typed.ActorSystem;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.services.kinesis.KinesisClient;
import software.amazon.awssdk.services.kinesis.model.ListShardsRequest;
import software.amazon.awssdk.services.kinesis.model.ListShardsResponse;
import software.amazon.awssdk.services.kinesis.model.Shard;
import weir.node.RootCause;
import weir.node.ingest.IngestGateway;
import weir.node.metrics.NodeMetrics;
import weir.persistence.JournalRetention;
import weir.persistence.registry.Connection;
import weir.persistence.registry.ConnectionKind;
import weir.persistence.secrets.SecretBox;
import weir.protocol.Json;

/**
 * The Kinesis connections of the cluster: every node lists each active {@code kinesis} connection's
 * shards ({@code ListShards}, every {@link #SHARD_LIST_TTL}) and wakes their readers ({@link
 * KinesisShard}, one sharded entity per shard, wherever Cluster Sharding puts it), with each
 * shard's parents, so a split's or merge's children wait for their parents' ends. Weir keeps the
 * checkpoints itself (in the readers' journal), no DynamoDB lease table.
 *
 * <p>A PATCH applies without restart (the readers look the connection up on every read; a changed
 * stream's readers stop and the new stream's start); a DELETE stops the readers at their next read
 * (what they took is in the journal and still loads).
 */
public final class KinesisSources {
  private static final Logger log = LoggerFactory.getLogger(KinesisSources.class);

  /** How long a node uses a stream's shard list before asking Kinesis again. */
  static final Duration SHARD_LIST_TTL = Duration.ofSeconds(10);

  /** Closed shards are woken rarely: once read to their end their readers stay stopped. */
  private static final Duration CLOSED_SHARD_WAKE = Duration.ofSeconds(30);

  private final ActorSystem<?> system;
  private final KinesisClients clients;
  private final Supplier<Collection<Connection>> connections;
  private final Executor blocking;
  private final NodeMetrics metrics;
  private final Duration askTimeout;
  private final Lag lag = new Lag();
  private final AtomicBoolean reconciling = new AtomicBoolean();
  private final Map<String, Listed> shardLists = new ConcurrentHashMap<>();
  private final Map<String, Long> closedWokenAt = new ConcurrentHashMap<>();
  private final Map<String, String> listErrors = new ConcurrentHashMap<>();

  /**
   * Shards read to their ends, as their readers last said (they stay listed for the stream's
   * retention): neither woken again nor asked for their progress, which would start them just to
   * answer.
   */
  private final Map<String, KinesisShard.Progress> ended = new ConcurrentHashMap<>();

  /** Per connection, the reads its shards may run at once on this node. */
  private final Map<String, java.util.concurrent.Semaphore> permits = new ConcurrentHashMap<>();

  /** Status requests ask Kinesis off the readers' threads, two at a time at most. */
  private final Executor statusExecutor =
      Executors.newFixedThreadPool(
          2,
          r -> {
            Thread t = new Thread(r, "weir-kinesis-status");
            t.setDaemon(true);
            return t;
          });

  /** A stream's shards, and its key ({@link KinesisShard#streamKey}), as last listed. */
  private record Listed(String stream, String streamKey, List<Shard> shards, long atMillis) {}

  public KinesisSources(
      ActorSystem<?> system,
      IngestGateway gateway,
      SecretBox secrets,
      Executor blocking,
      Supplier<Collection<Connection>> connections,
      Function<String, Optional<Connection>> lookup,
      JournalRetention retention,
      Duration askTimeout,
      NodeMetrics metrics) {
    this.system = system;
    this.clients = new KinesisClients(secrets);
    this.connections = connections;
    this.blocking = blocking;
    this.metrics = metrics;
    this.askTimeout = askTimeout;
    KinesisShard.init(
        system,
        new KinesisShard.Context(
            lookup,
            clients,
            gateway,
            blocking,
            retention,
            askTimeout,
            lag,
            (entityId, progress) -> ended.put(entityId, progress),
            connectionId ->
                Optional.ofNullable(shardLists.get(connectionId)).map(Listed::streamKey),
            connectionId ->
                permits.computeIfAbsent(
                    connectionId,
                    k -> new java.util.concurrent.Semaphore(KinesisShard.READS_PER_CONNECTION))));
    system.getWhenTerminated().thenRun(clients::close);
  }

  /** Wakes the shard readers every {@code interval} for as long as the actor system runs. */
  public void followEvery(Duration interval) {
    system
        .scheduler()
        .scheduleWithFixedDelay(
            Duration.ZERO,
            interval,
            () -> {
              // ListShards blocks: never on the scheduler's thread, never two rounds at once.
              if (reconciling.compareAndSet(false, true))
                blocking.execute(
                    () -> {
                      try {
                        reconcile();
                      } catch (RuntimeException e) {
                        log.warn(
                            "Kinesis connections: waking the readers failed: {}", e.toString());
                      } finally {
                        reconciling.set(false);
                      }
                    });
            },
            system.executionContext());
    system
        .scheduler()
        .scheduleWithFixedDelay(
            Duration.ofSeconds(5),
            Duration.ofSeconds(5),
            () -> metrics.replaceGauges("weir_source_lag_seconds", lag.gauges()),
            system.executionContext());
  }

  /** Lists the shards of every active kinesis connection and wakes their readers. */
  void reconcile() {
    ClusterSharding sharding = ClusterSharding.get(system);
    Set<String> active = new HashSet<>();
    long now = System.currentTimeMillis();
    for (Connection c : connections.get()) {
      if (c.kind() != ConnectionKind.kinesis || !c.active()) continue;
      active.add(c.id());
      List<Shard> shards;
      try {
        shards = shards(c, false);
        listErrors.remove(c.id());
      } catch (RuntimeException e) {
        String why = RootCause.describe(e);
        if (!why.equals(listErrors.put(c.id(), why)))
          log.warn("Kinesis connection {}: listing the shards failed: {}", c.id(), why);
        continue;
      }
      String streamKey = shardLists.get(c.id()).streamKey();
      Set<String> listed = new HashSet<>();
      shards.forEach(s -> listed.add(s.shardId()));
      for (Shard s : shards) {
        String entityId = KinesisShard.entityId(c.id(), streamKey, s.shardId());
        boolean closed = s.sequenceNumberRange().endingSequenceNumber() != null;
        if (closed && ended.containsKey(entityId)) continue;
        if (closed) {
          Long at = closedWokenAt.get(entityId);
          if (at != null && now - at < CLOSED_SHARD_WAKE.toMillis()) continue;
          closedWokenAt.put(entityId, now);
        }
        sharding
            .entityRefFor(KinesisShard.ENTITY_KEY, entityId)
            .tell(new KinesisShard.Wake(parents(s, listed)));
      }
    }
    for (String id : List.copyOf(shardLists.keySet())) if (!active.contains(id)) clients.forget(id);
    shardLists.keySet().retainAll(active);
    listErrors.keySet().retainAll(active);
    ended.keySet().removeIf(e -> !active.contains(e.substring(0, e.indexOf('~'))));
    for (String id : List.copyOf(lag.connections())) if (!active.contains(id)) lag.forget(id);
  }

  /** A shard's parents that still exist (an expired parent was read long ago). */
  private static List<String> parents(Shard s, Set<String> listed) {
    List<String> out = new ArrayList<>(2);
    if (s.parentShardId() != null && listed.contains(s.parentShardId())) out.add(s.parentShardId());
    if (s.adjacentParentShardId() != null && listed.contains(s.adjacentParentShardId()))
      out.add(s.adjacentParentShardId());
    return out;
  }

  /** The stream's shards, from the cache unless it is older than its TTL or {@code fresh}. */
  private List<Shard> shards(Connection c, boolean fresh) {
    String stream = c.source().get("stream");
    Listed cached = shardLists.get(c.id());
    if (!fresh
        && cached != null
        && cached.stream().equals(stream)
        && System.currentTimeMillis() - cached.atMillis() < SHARD_LIST_TTL.toMillis())
      return cached.shards();
    KinesisClient client = clients.client(c);
    String streamKey =
        KinesisShard.streamKey(
            stream,
            client
                .describeStreamSummary(b -> b.streamName(stream))
                .streamDescriptionSummary()
                .streamCreationTimestamp());
    List<Shard> all = new ArrayList<>();
    String next = null;
    do {
      ListShardsRequest request =
          next == null
              ? ListShardsRequest.builder().streamName(stream).build()
              : ListShardsRequest.builder().nextToken(next).build();
      ListShardsResponse page = client.listShards(request);
      all.addAll(page.shards());
      next = page.nextToken();
    } while (next != null);
    shardLists.put(
        c.id(), new Listed(stream, streamKey, List.copyOf(all), System.currentTimeMillis()));
    return all;
  }

  /**
   * The status of a kinesis connection: per shard its parents, checkpoint, whether it is read to
   * its end, how far behind the newest record its reader is ({@code millis_behind_latest}; Kinesis
   * does not count records behind), and its last error.
   */
  public CompletionStage<ObjectNode> status(Connection c) {
    return CompletableFuture.supplyAsync(
        () -> {
          ObjectNode out = Json.MAPPER.createObjectNode();
          String stream = c.source().get("stream");
          out.put("stream", stream);
          ArrayNode shardsOut = out.putArray("shards");
          List<Shard> shards;
          try {
            shards = shards(c, false);
          } catch (RuntimeException e) {
            out.put("error", "Kinesis did not answer: " + RootCause.describe(e));
            return out;
          }
          Set<String> listed = new HashSet<>();
          shards.forEach(s -> listed.add(s.shardId()));
          String streamKey = shardLists.get(c.id()).streamKey();
          ClusterSharding sharding = ClusterSharding.get(system);
          Map<String, CompletableFuture<KinesisShard.Progress>> asks = new HashMap<>();
          for (Shard s : shards) {
            String entityId = KinesisShard.entityId(c.id(), streamKey, s.shardId());
            KinesisShard.Progress known = ended.get(entityId);
            asks.put(
                s.shardId(),
                known != null
                    ? CompletableFuture.completedFuture(known)
                    : sharding
                        .entityRefFor(KinesisShard.ENTITY_KEY, entityId)
                        .<KinesisShard.Progress>ask(KinesisShard.GetProgress::new, askTimeout)
                        .toCompletableFuture());
          }
          long behind = 0;
          String lastError = listErrors.get(c.id());
          for (Shard s : shards) {
            ObjectNode o = shardsOut.addObject();
            o.put("shard", s.shardId());
            ArrayNode parents = o.putArray("parents");
            parents(s, listed).forEach(parents::add);
            o.put("closed", s.sequenceNumberRange().endingSequenceNumber() != null);
            try {
              KinesisShard.Progress p =
                  asks.get(s.shardId()).get(askTimeout.toMillis(), TimeUnit.MILLISECONDS);
              if (p.ended()) ended.put(KinesisShard.entityId(c.id(), streamKey, s.shardId()), p);
              o.put("checkpoint", p.sequence());
              o.put("ended", p.ended());
              o.put("reading", p.reading());
              o.put("waiting_for_parent", p.waitingForParent());
              o.put(
                  "millis_behind_latest",
                  p.millisBehindLatest() < 0 ? null : p.millisBehindLatest());
              o.put("records_total", p.recordsTotal());
              o.put("last_error", p.lastError());
              if (p.millisBehindLatest() > 0 && !p.ended())
                behind = Math.max(behind, p.millisBehindLatest());
              if (p.lastError() != null) lastError = s.shardId() + ": " + p.lastError();
            } catch (Exception e) {
              o.put("last_error", "its reader did not answer: " + RootCause.describe(e));
            }
          }
          out.put("millis_behind_latest", behind);
          out.put("last_error", lastError);
          return out;
        },
        statusExecutor);
  }

  /** The readers' {@code MillisBehindLatest} on this node, for {@code weir_source_lag_seconds}. */
  public static final class Lag {
    private final Map<String, Map<List<String>, Long>> byConnection = new ConcurrentHashMap<>();

    void put(String connection, String stream, String shard, long millis) {
      byConnection
          .computeIfAbsent(connection, k -> new ConcurrentHashMap<>())
          .put(List.of(stream, shard), millis);
    }

    void remove(String connection, String shard) {
      Map<List<String>, Long> m = byConnection.get(connection);
      if (m != null) m.keySet().removeIf(k -> k.get(1).equals(shard));
    }

    Set<String> connections() {
      return byConnection.keySet();
    }

    void forget(String connection) {
      byConnection.remove(connection);
    }

    Map<Map<String, String>, Double> gauges() {
      Map<Map<String, String>, Double> out = new HashMap<>();
      byConnection.forEach(
          (c, shards) ->
              shards.forEach(
                  (k, millis) ->
                      out.put(
                          Map.of("connection", c, "stream", k.get(0), "shard", k.get(1)),
                          millis / 1000.0)));
      return out;
    }
  }
}
