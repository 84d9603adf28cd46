package weir.node;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import weir.node.registry.ConnectionDirectory;
import weir.persistence.registry.Connection;
import weir.persistence.registry.ConnectionKind;
import weir.persistence.registry.Destination;
import weir.persistence.registry.Ids;

/**
 * On the first start of a single node: a DuckDB destination ({@code <data-dir>/warehouse.duckdb},
 * staging in {@code <data-dir>/staging}), a webhook connection named {@code demo} (schema {@code
 * demo}, table {@code events}), a Segment connection {@code demo-segment} (schema {@code
 * demo_segment}) and a Snowplow connection {@code demo-snowplow} (schema {@code demo_snowplow}, app
 * id {@code weir-demo}), so that a newcomer can send events right away.
 */
final class DemoConnection {
  static final String NAME = "demo";
  static final String DESTINATION_NAME = "local-warehouse";

  private DemoConnection() {}

  static final String SEGMENT_NAME = "demo-segment";
  static final String SNOWPLOW_NAME = "demo-snowplow";
  static final String SNOWPLOW_APP_ID = "weir-demo";

  /** The demo connections: webhook, segment, snowplow (each created on first start). */
  record Demo(Connection webhook, Connection segment, Connection snowplow) {}

  static CompletionStage<Demo> ensureAll(ConnectionDirectory directory, NodeSettings settings) {
    return ensure(directory, settings, NAME, ConnectionKind.webhook, "demo", "events", null)
        .thenCompose(
            webhook ->
                ensure(
                        directory,
                        settings,
                        SEGMENT_NAME,
                        ConnectionKind.segment,
                        "demo_segment",
                        null,
                        null)
                    .thenCompose(
                        segment ->
                            ensure(
                                    directory,
                                    settings,
                                    SNOWPLOW_NAME,
                                    ConnectionKind.snowplow,
                                    "demo_snowplow",
                                    null,
                                    SNOWPLOW_APP_ID)
                                .thenApply(snowplow -> new Demo(webhook, segment, snowplow))));
  }

  /** One demo connection, created if the registry has no active one of that name. */
  private static CompletionStage<Connection> ensure(
      ConnectionDirectory directory,
      NodeSettings settings,
      String name,
      ConnectionKind kind,
      String schema,
      String table,
      String appId) {
    Optional<Connection> existing =
        directory.connections().values().stream()
            .filter(c -> c.name().equals(name) && c.active())
            .findFirst();
    if (existing.isPresent()) return CompletableFuture.completedFuture(existing.get());

    long now = System.currentTimeMillis();
    Destination warehouse =
        directory.destinations().values().stream()
            .filter(d -> d.name().equals(DESTINATION_NAME) && d.active())
            .findFirst()
            .orElse(
                new Destination(
                    Ids.newId("d"),
                    DESTINATION_NAME,
                    "duckdb",
                    Map.of("path", settings.dataDir().resolve("warehouse.duckdb").toString()),
                    Map.of("type", "filesystem", "path", settings.stagingDir().toString()),
                    now,
                    0));
    CompletionStage<Destination> destination =
        directory.destination(warehouse.id()).isPresent()
            ? CompletableFuture.completedFuture(warehouse)
            : directory.create(warehouse);
    return destination.thenCompose(
        d ->
            directory.create(
                new Connection(
                    Ids.newId("c"),
                    name,
                    kind,
                    d.id(),
                    schema,
                    table,
                    500,
                    settings.demoBatchIntervalSeconds(),
                    settings.demoSyncIntervalSeconds(),
                    settings.ingest().defaultSlots(),
                    null,
                    null,
                    Ids.newSecret(),
                    appId,
                    now,
                    0)));
  }
}
