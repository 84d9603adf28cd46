package weir.node.admin;

import akka.actor.typed.ActorSystem;
import akka.http.javadsl.model.ContentTypes;
import akka.http.javadsl.model.HttpEntities;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.model.headers.HttpChallenge;
import akka.http.javadsl.model.headers.WWWAuthenticate;
import akka.http.javadsl.server.Route;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.Supplier;
import weir.loaders.destination.DestinationTypes;
import weir.node.http.ApiErrors;
import weir.node.metrics.NodeMetrics;
import weir.node.registry.ConnectionDirectory;
import weir.persistence.secrets.SecretBox;

/**
 * The admin port (API.md, Management API): {@code /v1/admin/...}, {@code /metrics} and the
 * console's static files under {@code /console} ({@link ConsoleRoutes}: no data, no auth). Every
 * other route requires {@code Authorization: Bearer <admin token>} (compared in constant time),
 * except {@code /metrics} when {@code weir.admin.metrics-open} is on. {@code
 * /v1/admin/openapi.json} documents exactly these routes.
 */
public final class AdminRoutes extends AdminSupport {
  private final AdminToken token;
  private final boolean metricsOpen;
  private final NodeMetrics metrics;
  private final DestinationRoutes destinations;
  private final ConnectionRoutes connections;
  private final ClusterRoutes cluster;
  private final ExportRoutes exports;
  private final ConnectorRoutes connectors;
  private final ConsoleRoutes console = new ConsoleRoutes();
  private final byte[] openApi;

  public AdminRoutes(
      ActorSystem<?> system,
      AdminToken token,
      boolean metricsOpen,
      NodeMetrics metrics,
      ConnectionDirectory directory,
      DestinationTypes types,
      SecretBox secrets,
      Path stagingDir,
      boolean localFilesystemStaging,
      Duration askTimeout,
      int defaultSlots,
      Supplier<String> ingestBaseUrl,
      weir.persistence.connectors.ConnectorJars jars,
      weir.node.stream.StreamSources streams,
      java.util.concurrent.Executor blocking,
      Path scratch,
      weir.node.ingest.ClusterTail tail,
      weir.node.metrics.ConnectionActivity activity) {
    this.token = token;
    this.metricsOpen = metricsOpen;
    this.metrics = metrics;
    this.destinations =
        new DestinationRoutes(directory, types, secrets, stagingDir, localFilesystemStaging);
    this.connections =
        new ConnectionRoutes(
            system,
            directory,
            secrets,
            types,
            localFilesystemStaging,
            new ConnectionStatusQuery(system, askTimeout),
            askTimeout,
            defaultSlots,
            ingestBaseUrl,
            jars,
            streams,
            tail,
            activity);
    this.cluster = new ClusterRoutes(system, askTimeout);
    this.exports = new ExportRoutes(system, directory, types, askTimeout);
    this.connectors = new ConnectorRoutes(jars, blocking, scratch);
    this.openApi = OpenApiDocument.render(types);
  }

  public Route route() {
    return concat(
        console.route(),
        path("metrics", () -> get(() -> metricsOpen ? metrics() : authenticated(this::metrics))),
        pathPrefix(
            "v1",
            () ->
                pathPrefix(
                    "admin",
                    () ->
                        authenticated(
                            () ->
                                concat(
                                    destinations.route(),
                                    connections.route(),
                                    exports.route(),
                                    connectors.route(),
                                    cluster.route(),
                                    path(
                                        "openapi.json",
                                        () ->
                                            get(
                                                () ->
                                                    complete(
                                                        HttpResponse.create()
                                                            .withEntity(
                                                                HttpEntities.create(
                                                                    ContentTypes.APPLICATION_JSON,
                                                                    openApi))))))))));
  }

  private Route metrics() {
    return complete(
        HttpResponse.create()
            .withEntity(
                HttpEntities.create(
                    ContentTypes.parse("text/plain; version=0.0.4; charset=utf-8"),
                    metrics.render().getBytes(StandardCharsets.UTF_8))));
  }

  private Route authenticated(Supplier<Route> inner) {
    return optionalHeaderValueByName(
        "Authorization",
        header -> {
          String value = header.orElse("");
          boolean ok =
              value.regionMatches(true, 0, "Bearer ", 0, 7)
                  && token.matches(value.substring(7).strip());
          if (!ok) {
            return complete(
                ApiErrors.response(
                        StatusCodes.UNAUTHORIZED,
                        "unauthorized",
                        "Send the admin token as 'Authorization: Bearer <token>'.")
                    .addHeader(WWWAuthenticate.create(HttpChallenge.create("Bearer", "weir"))));
          }
          return inner.get();
        });
  }
}
