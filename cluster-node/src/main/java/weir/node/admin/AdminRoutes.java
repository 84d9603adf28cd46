package weir.node.admin;

import akka.actor.typed.ActorSystem;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.model.headers.HttpChallenge;
import akka.http.javadsl.model.headers.WWWAuthenticate;
import akka.http.javadsl.server.AllDirectives;
import akka.http.javadsl.server.PathMatchers;
import akka.http.javadsl.server.Route;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.function.Supplier;
import weir.node.http.ApiErrors;
import weir.node.load.LoadCoordinator;
import weir.node.registry.ConnectionDirectory;
import weir.persistence.registry.Connection;
import weir.protocol.Json;

/**
 * The management API on the admin port (API.md, Management API). This build serves a connection's
 * {@code status} and {@code sync}; every {@code /v1/admin} route requires the bearer admin token.
 */
public final class AdminRoutes extends AllDirectives {
  private final AdminToken token;
  private final ConnectionDirectory directory;
  private final ConnectionStatusQuery statusQuery;
  private final ClusterSharding sharding;

  public AdminRoutes(ActorSystem<?> system, AdminToken token, ConnectionDirectory directory,
      ConnectionStatusQuery statusQuery) {
    this.token = token;
    this.directory = directory;
    this.statusQuery = statusQuery;
    this.sharding = ClusterSharding.get(system);
  }

  public Route route() {
    return pathPrefix("v1", () -> pathPrefix("admin", () -> authenticated(() ->
        pathPrefix("connections", () -> pathPrefix(PathMatchers.segment(), id -> concat(
            path("status", () -> get(() -> withConnection(id, this::status))),
            path("sync", () -> post(() -> withConnection(id, this::sync)))))))));
  }

  private Route authenticated(Supplier<Route> inner) {
    return optionalHeaderValueByName("Authorization", header -> {
      String value = header.orElse("");
      boolean ok = value.regionMatches(true, 0, "Bearer ", 0, 7) && token.matches(value.substring(7).strip());
      if (!ok) {
        return complete(ApiErrors.response(StatusCodes.UNAUTHORIZED, "unauthorized",
                "Send the admin token as 'Authorization: Bearer <token>'.")
            .addHeader(WWWAuthenticate.create(HttpChallenge.create("Bearer", "weir"))));
      }
      return inner.get();
    });
  }

  private Route withConnection(String id, java.util.function.Function<Connection, Route> inner) {
    return onSuccess(directory.connection(id), found -> found.map(inner)
        .orElseGet(() -> complete(ApiErrors.response(StatusCodes.NOT_FOUND, "connection_not_found",
            "No connection with id '" + id + "'."))));
  }

  private Route status(Connection connection) {
    return onComplete(statusQuery.status(connection), result -> {
      if (result.isFailure()) {
        return complete(ApiErrors.unavailable("status_unavailable",
            "The connection's buffers or coordinator did not answer in time.", 1));
      }
      ConnectionStatusQuery.ConnectionStatus s = result.get();
      ObjectNode body = Json.MAPPER.createObjectNode();
      body.put("state", s.state());
      body.put("buffered_events", s.bufferedEvents());
      body.put("staged_batches_pending", s.stagedBatchesPending());
      body.put("loaded_rows_total", s.loadedRowsTotal());
      body.put("last_flush_at", instant(s.lastFlushAtMillis()));
      body.put("last_sync_at", instant(s.lastSyncAtMillis()));
      body.put("next_sync_at", instant(s.nextSyncAtMillis()));
      body.put("last_error", s.lastError());
      body.put("dead_letters_total", s.deadLettersTotal());
      body.put("accepted_total", s.acceptedTotal());
      return complete(ApiErrors.json(StatusCodes.OK, body));
    });
  }

  private Route sync(Connection connection) {
    sharding.entityRefFor(LoadCoordinator.ENTITY_KEY, connection.destinationId())
        .tell(new LoadCoordinator.Sync(connection.id(), null));
    ObjectNode body = Json.MAPPER.createObjectNode();
    body.put("connection_id", connection.id());
    body.put("sync", "started");
    return complete(ApiErrors.json(StatusCodes.ACCEPTED, body));
  }

  private static String instant(long millis) {
    return millis <= 0 ? null : Instant.ofEpochMilli(millis).toString();
  }

}
