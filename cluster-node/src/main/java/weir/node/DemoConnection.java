package weir.node;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CompletableFuture;
import weir.node.registry.ConnectionDirectory;
import weir.persistence.registry.Connection;
import weir.persistence.registry.ConnectionKind;
import weir.persistence.registry.Destination;
import weir.persistence.registry.Ids;

/**
 * On the first start of a single node: a DuckDB destination ({@code <data-dir>/warehouse.duckdb}, staging
 * in {@code <data-dir>/staging}) and a webhook connection named {@code demo} (schema {@code demo}, table
 * {@code events}) so that a newcomer can post an event right away.
 */
final class DemoConnection {
  static final String NAME = "demo";
  static final String DESTINATION_NAME = "local-warehouse";

  private DemoConnection() {}

  /** The demo connection, created if the registry has no active one (deleting it is respected: see WeirNode). */
  static CompletionStage<Connection> ensure(ConnectionDirectory directory, NodeSettings settings) {
    Optional<Connection> existing = directory.connections().values().stream()
        .filter(c -> c.name().equals(NAME) && c.active()).findFirst();
    if (existing.isPresent()) return CompletableFuture.completedFuture(existing.get());

    long now = System.currentTimeMillis();
    Destination warehouse = directory.destinations().values().stream()
        .filter(d -> d.name().equals(DESTINATION_NAME) && d.active()).findFirst()
        .orElse(new Destination(Ids.newId("d"), DESTINATION_NAME, "duckdb",
            Map.of("path", settings.dataDir().resolve("warehouse.duckdb").toString()),
            Map.of("type", "filesystem", "path", settings.dataDir().resolve("staging").toString()), now, 0));
    CompletionStage<Destination> destination = directory.destination(warehouse.id()).isPresent()
        ? CompletableFuture.completedFuture(warehouse)
        : directory.create(warehouse);
    return destination.thenCompose(d -> directory.create(new Connection(Ids.newId("c"), NAME, ConnectionKind.webhook,
        d.id(), "demo", "events", 500, settings.demoBatchIntervalSeconds(), settings.demoSyncIntervalSeconds(),
        settings.ingest().defaultPartitions(), null, null, Ids.newSecret(), null, now, 0)));
  }
}
