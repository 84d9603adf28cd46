package weir.node.registry;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Props;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.pubsub.Topic;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.sharding.typed.javadsl.EntityRef;
import akka.pattern.StatusReply;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import weir.persistence.CborSerializable;
import weir.persistence.registry.Connection;
import weir.persistence.registry.ConnectionKind;
import weir.persistence.registry.Destination;
import weir.persistence.registry.Export;
import weir.persistence.registry.Registry;

/**
 * This node's read-through cache of the {@link Registry}: the ingestion hot path reads connections
 * from memory; a miss (a connection created on another node a moment ago) refreshes from the
 * registry, at most once per {@code missRefreshInterval}, coalescing concurrent misses. Every
 * change written through a directory is announced on a cluster-wide topic, and every node's
 * directory refreshes when it hears one, so a change (a rotated write key, a new batch size)
 * applies on all nodes at once; a periodic refresh is the safety net.
 */
public final class ConnectionDirectory implements ConnectionLookup {
  private static final Logger log = LoggerFactory.getLogger(ConnectionDirectory.class);

  private final ActorSystem<?> system;
  private final Duration askTimeout;
  private final Duration missRefreshInterval;
  private volatile Registry.Listing snapshot = new Registry.Listing(Map.of(), Map.of(), Map.of());

  /** Active connections by (kind, write key) and (kind, app id), rebuilt with each snapshot. */
  private volatile Map<String, Connection> byWriteKey = Map.of();

  private volatile Map<String, Connection> byAppId = Map.of();
  private final AtomicReference<CompletableFuture<Registry.Listing>> inFlight =
      new AtomicReference<>();
  private volatile long lastRefreshAtMillis;

  /** The notice published after a registry change. */
  public record RegistryChanged() implements CborSerializable {}

  private final ActorRef<Topic.Command<RegistryChanged>> changes;

  public ConnectionDirectory(
      ActorSystem<?> system, Duration askTimeout, Duration missRefreshInterval) {
    this.system = system;
    this.askTimeout = askTimeout;
    this.missRefreshInterval = missRefreshInterval;
    this.changes =
        system.systemActorOf(
            Topic.create(RegistryChanged.class, "weir-registry-changes"),
            "weir-registry-changes-" + UUID.randomUUID(),
            Props.empty());
    ActorRef<RegistryChanged> listener =
        system.systemActorOf(
            Behaviors.receiveMessage(
                changed -> {
                  refreshQuietly();
                  return Behaviors.same();
                }),
            "weir-registry-listener-" + UUID.randomUUID(),
            Props.empty());
    changes.tell(Topic.subscribe(listener));
  }

  /** Refreshes every {@code interval} for as long as the actor system runs. */
  public void refreshEvery(Duration interval) {
    system
        .scheduler()
        .scheduleWithFixedDelay(
            interval, interval, this::refreshQuietly, system.executionContext());
  }

  private void refreshQuietly() {
    refresh()
        .exceptionally(
            e -> {
              log.warn("Registry refresh failed: {}", e.toString());
              return null;
            });
  }

  /** Reloads the registry into the cache; concurrent calls share one ask. */
  public CompletionStage<Registry.Listing> refresh() {
    CompletableFuture<Registry.Listing> mine = new CompletableFuture<>();
    CompletableFuture<Registry.Listing> existing = inFlight.compareAndExchange(null, mine);
    if (existing != null) return existing;
    registry()
        .<Registry.Listing>ask(Registry.Get::new, askTimeout)
        .whenComplete(
            (s, e) -> {
              if (s != null) {
                index(s);
                lastRefreshAtMillis = System.currentTimeMillis();
              }
              inFlight.set(null);
              if (e != null) mine.completeExceptionally(e);
              else mine.complete(s);
            });
    return mine;
  }

  /** The connection from the cache only. */
  public Optional<Connection> cached(String connectionId) {
    return Optional.ofNullable(snapshot.connections().get(connectionId));
  }

  /** The destination from the cache only. */
  public Optional<Destination> destination(String destinationId) {
    return Optional.ofNullable(snapshot.destinations().get(destinationId));
  }

  /** Every cached connection. */
  public Map<String, Connection> connections() {
    return snapshot.connections();
  }

  /** Every cached destination. */
  public Map<String, Destination> destinations() {
    return snapshot.destinations();
  }

  /** Every cached export (stopped ones too). */
  public Map<String, Export> exports() {
    return snapshot.exports();
  }

  /** The export from the cache only. */
  public Optional<Export> export(String exportId) {
    return Optional.ofNullable(snapshot.exports().get(exportId));
  }

  /** The connection, refreshing the cache on a miss (rate-limited). */
  @Override
  public CompletionStage<Optional<Connection>> connection(String connectionId) {
    return lookup(s -> Optional.ofNullable(s.connections().get(connectionId)));
  }

  /**
   * The active connection of {@code kind} whose write key is {@code writeKey} (refreshing on a
   * miss).
   */
  @Override
  public CompletionStage<Optional<Connection>> byWriteKey(ConnectionKind kind, String writeKey) {
    return lookup(s -> Optional.ofNullable(byWriteKey.get(kind + "\n" + writeKey)));
  }

  /**
   * The active connection of {@code kind} whose {@code app_id} is {@code appId} (refreshing on a
   * miss).
   */
  @Override
  public CompletionStage<Optional<Connection>> byAppId(ConnectionKind kind, String appId) {
    return lookup(s -> Optional.ofNullable(byAppId.get(kind + "\n" + appId)));
  }

  /**
   * Installs a registry snapshot and the key indexes the ingestion hot path looks connections up
   * by.
   */
  private void index(Registry.Listing s) {
    Map<String, Connection> keys = new HashMap<>();
    Map<String, Connection> apps = new HashMap<>();
    for (Connection c : s.connections().values()) {
      if (!c.active()) continue;
      keys.put(c.kind() + "\n" + c.writeKey(), c);
      if (c.appId() != null) apps.put(c.kind() + "\n" + c.appId(), c);
    }
    byWriteKey = Map.copyOf(keys);
    byAppId = Map.copyOf(apps);
    snapshot = s;
  }

  private CompletionStage<Optional<Connection>> lookup(
      Function<Registry.Listing, Optional<Connection>> find) {
    Optional<Connection> hit = find.apply(snapshot);
    if (hit.isPresent()) return CompletableFuture.completedFuture(hit);
    if (System.currentTimeMillis() - lastRefreshAtMillis < missRefreshInterval.toMillis()) {
      return CompletableFuture.completedFuture(Optional.empty());
    }
    return refresh().thenApply(find);
  }

  /** Creates a destination in the registry and refreshes the cache. */
  public CompletionStage<Destination> create(Destination destination) {
    return write(r -> new Registry.CreateDestination(destination, r));
  }

  /** Creates a connection in the registry and refreshes the cache. */
  public CompletionStage<Connection> create(Connection connection) {
    return write(r -> new Registry.CreateConnection(connection, r));
  }

  /**
   * Sends a change to the registry and, once it is persisted, refreshes this node's cache so the
   * change applies here at once. Fails with the registry's {@code "<code>: <sentence>"} error when
   * refused.
   */
  public <T> CompletionStage<T> write(
      Function<ActorRef<StatusReply<T>>, Registry.Command> command) {
    return registry()
        .<T>askWithStatus(r -> command.apply(r), askTimeout)
        .thenCompose(
            result ->
                refresh()
                    .thenApply(
                        s -> {
                          changes.tell(Topic.publish(new RegistryChanged()));
                          return result;
                        }));
  }

  private EntityRef<Registry.Command> registry() {
    return ClusterSharding.get(system).entityRefFor(Registry.ENTITY_KEY, Registry.ENTITY_ID);
  }
}
