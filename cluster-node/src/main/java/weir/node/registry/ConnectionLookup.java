package weir.node.registry;

import java.util.Optional;
import java.util.concurrent.CompletionStage;
import weir.persistence.registry.Connection;
import weir.persistence.registry.ConnectionKind;

/**
 * How the ingestion routes find a request's connection: by id, by write key, by Snowplow app id. A
 * failed stage means the registry could not be read (the routes answer 503); an empty one, that
 * there is no such connection. {@link ConnectionDirectory} is the node's implementation; tests use
 * in-memory ones.
 */
public interface ConnectionLookup {
  CompletionStage<Optional<Connection>> connection(String connectionId);

  /** The active connection of {@code kind} whose write key is {@code writeKey}. */
  CompletionStage<Optional<Connection>> byWriteKey(ConnectionKind kind, String writeKey);

  /** The active connection of {@code kind} whose {@code app_id} is {@code appId}. */
  CompletionStage<Optional<Connection>> byAppId(ConnectionKind kind, String appId);
}
