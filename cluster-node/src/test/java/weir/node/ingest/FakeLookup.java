package weir.node.ingest;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Predicate;
import weir.node.registry.ConnectionLookup;
import weir.persistence.registry.Connection;
import weir.persistence.registry.ConnectionKind;

/**
 * An in-memory registry for route tests; while {@link #down} is set, every lookup fails like a
 * registry timeout.
 */
final class FakeLookup implements ConnectionLookup {
  private final Map<String, Connection> connections;
  volatile boolean down;

  FakeLookup(Map<String, Connection> connections) {
    this.connections = connections;
  }

  private CompletionStage<Optional<Connection>> find(Predicate<Connection> p) {
    if (down) return CompletableFuture.failedFuture(new RuntimeException("registry timeout"));
    return CompletableFuture.completedFuture(
        connections.values().stream().filter(c -> c.active() && p.test(c)).findFirst());
  }

  @Override
  public CompletionStage<Optional<Connection>> connection(String connectionId) {
    if (down) return CompletableFuture.failedFuture(new RuntimeException("registry timeout"));
    return CompletableFuture.completedFuture(Optional.ofNullable(connections.get(connectionId)));
  }

  @Override
  public CompletionStage<Optional<Connection>> byWriteKey(ConnectionKind kind, String writeKey) {
    return find(c -> c.kind() == kind && c.writeKey().equals(writeKey));
  }

  @Override
  public CompletionStage<Optional<Connection>> byAppId(ConnectionKind kind, String appId) {
    return find(c -> c.kind() == kind && appId.equals(c.appId()));
  }
}
