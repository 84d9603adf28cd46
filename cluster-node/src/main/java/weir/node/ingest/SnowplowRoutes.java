package weir.node.ingest;

import akka.http.javadsl.model.ContentType;
import akka.http.javadsl.model.ContentTypes;
import akka.http.javadsl.model.HttpEntities;
import akka.http.javadsl.model.HttpHeader;
import akka.http.javadsl.model.HttpRequest;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.MediaTypes;
import akka.http.javadsl.model.StatusCode;
import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.model.headers.RawHeader;
import akka.http.javadsl.server.AllDirectives;
import akka.http.javadsl.server.PathMatchers;
import akka.http.javadsl.server.Route;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import weir.node.http.ApiErrors;
import weir.node.metrics.NodeMetrics;
import weir.node.registry.ConnectionLookup;
import weir.persistence.registry.Connection;
import weir.persistence.registry.ConnectionKind;
import weir.protocol.BodyException;
import weir.protocol.DeadLetters;
import weir.protocol.Json;
import weir.protocol.Rejection;
import weir.protocol.StagedRow;
import weir.protocol.event.EventTables;
import weir.protocol.snowplow.SnowplowParser;

/**
 * The Snowplow collector (API.md) over the {@link IngestService}: {@code POST
 * /com.snowplowanalytics.snowplow/tp2} (payload_data), the GET pixel at {@code /i} and {@code
 * /com.snowplowanalytics.snowplow/i}, the same under {@code /s/{connectionId}/}, and CORS preflight
 * on all of them. Events route to the snowplow connection whose {@code app_id} equals their {@code
 * aid} (or to the path's connection). The pixel always answers a 1×1 transparent GIF, whatever
 * happened (never break a page): 200 once the event is durable or rejected as a dead letter, 503
 * when the journal or the registry did not answer. Events whose {@code aid} matches no connection
 * cannot be kept as dead letters (they belong to no connection): they are answered as rejected,
 * logged and counted ({@code weir_unroutable_events_total}).
 */
public final class SnowplowRoutes extends AllDirectives {
  private static final String VENDOR = "com.snowplowanalytics.snowplow";

  /** A 1×1 transparent GIF. */
  static final byte[] PIXEL =
      Base64.getDecoder().decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7");

  private static final ContentType GIF = ContentTypes.create(MediaTypes.IMAGE_GIF);

  private final ConnectionLookup directory;
  private final IngestService service;
  private final NodeMetrics metrics;

  public SnowplowRoutes(ConnectionLookup directory, IngestService service, NodeMetrics metrics) {
    this.directory = directory;
    this.service = service;
    this.metrics = metrics;
  }

  public Route route() {
    return concat(
        collector(Optional.empty()),
        pathPrefix(
            "s", () -> pathPrefix(PathMatchers.segment(), id -> collector(Optional.of(id)))));
  }

  /** The collector paths, for events routed by aid (empty) or to one connection. */
  private Route collector(Optional<String> connectionId) {
    return extractRequest(
        request ->
            concat(
                pathPrefix(
                    VENDOR,
                    () ->
                        concat(
                            path(
                                "tp2",
                                () ->
                                    concat(
                                        options(() -> preflight(request)),
                                        post(() -> tp2(request, connectionId)))),
                            path(
                                "i",
                                () ->
                                    concat(
                                        options(() -> preflight(request)),
                                        get(() -> pixel(request, connectionId)))))),
                path(
                    "i",
                    () ->
                        concat(
                            options(() -> preflight(request)),
                            get(() -> pixel(request, connectionId))))));
  }

  private Route preflight(HttpRequest request) {
    return complete(
        cors(request, HttpResponse.create().withStatus(StatusCodes.OK))
            .addHeader(RawHeader.create("Access-Control-Allow-Methods", "POST, GET, OPTIONS"))
            .addHeader(
                RawHeader.create("Access-Control-Allow-Headers", "Content-Type, SP-Anonymous"))
            .addHeader(RawHeader.create("Access-Control-Max-Age", "3600")));
  }

  private static HttpResponse cors(HttpRequest request, HttpResponse response) {
    String origin = request.getHeader("Origin").map(HttpHeader::value).orElse("*");
    return response
        .addHeader(RawHeader.create("Access-Control-Allow-Origin", origin))
        .addHeader(RawHeader.create("Access-Control-Allow-Credentials", "true"))
        .addHeader(RawHeader.create("Vary", "Origin"));
  }

  private Route tp2(HttpRequest request, Optional<String> connectionId) {
    return service.respond(
        "snowplow",
        () ->
            service
                .body(request, service.settings().maxBodyBytes())
                .thenCompose(
                    body -> {
                      List<Map<String, String>> payloads;
                      try {
                        payloads = SnowplowParser.payloads(body);
                      } catch (BodyException e) {
                        throw IngestRefusal.of(e);
                      }
                      return ingestAll(payloads, connectionId, Instant.now());
                    })
                .thenApply(
                    result -> {
                      ObjectNode answer = Json.MAPPER.createObjectNode();
                      answer.put("accepted", result.accepted());
                      IngestService.rejected(answer, result.rejections());
                      return cors(request, ApiErrors.json(StatusCodes.OK, answer));
                    }),
        failure -> cors(request, service.error(failure)));
  }

  private Route pixel(HttpRequest request, Optional<String> connectionId) {
    Map<String, String> fields = new LinkedHashMap<>();
    request.getUri().query().toMap().forEach(fields::put);
    return service.respond(
        "snowplow",
        () ->
            ingestAll(List.of(fields), connectionId, Instant.now())
                .thenApply(result -> gif(request, StatusCodes.OK)),
        failure -> {
          // Never JSON, never a 500 on a page: the tracker only sees the status of a GIF.
          int status = service.error(failure).status().intValue();
          return gif(request, status == 503 ? StatusCodes.SERVICE_UNAVAILABLE : StatusCodes.OK);
        });
  }

  private static HttpResponse gif(HttpRequest request, StatusCode status) {
    return cors(
        request,
        HttpResponse.create()
            .withStatus(status)
            .withEntity(HttpEntities.create(GIF, PIXEL))
            .addHeader(RawHeader.create("Cache-Control", "no-cache, no-store, must-revalidate")));
  }

  /** Outcome of a collector request: accepted count and rejections. */
  private record Result(int accepted, List<Rejection> rejections) {}

  /**
   * Routes each event to its connection, parses it, and persists each connection's events and dead
   * letters. Fails (503) when any connection's write did not succeed, or the registry did not
   * answer: the client retries, and events already written are deduplicated by their eid.
   */
  private CompletionStage<Result> ingestAll(
      List<Map<String, String>> payloads, Optional<String> fixed, Instant receivedAt) {
    List<CompletableFuture<Optional<Connection>>> lookups = new ArrayList<>();
    for (Map<String, String> p : payloads) {
      CompletionStage<Optional<Connection>> c =
          fixed.isPresent()
              ? directory
                  .connection(fixed.get())
                  .thenApply(o -> o.filter(x -> x.active() && x.kind() == ConnectionKind.snowplow))
              : Optional.ofNullable(p.get("aid"))
                  .filter(a -> !a.isBlank())
                  .map(aid -> directory.byAppId(ConnectionKind.snowplow, aid))
                  .orElse(CompletableFuture.completedFuture(Optional.empty()));
      lookups.add(c.toCompletableFuture());
    }
    return CompletableFuture.allOf(lookups.toArray(CompletableFuture[]::new))
        .handle(
            (ignored, error) -> {
              if (error != null) throw service.registryUnavailable("a snowplow connection", error);
              return null;
            })
        .thenCompose(
            ignored -> {
              Map<String, Connection> connections = new LinkedHashMap<>();
              Map<String, List<StagedRow>> rows = new LinkedHashMap<>();
              Map<String, List<Rejection>> deadLetters = new LinkedHashMap<>();
              List<Rejection> rejections = new ArrayList<>();
              int accepted = 0;
              for (int i = 0; i < payloads.size(); i++) {
                Map<String, String> p = payloads.get(i);
                Optional<Connection> connection = lookups.get(i).join();
                String raw = DeadLetters.truncate(Json.write(Json.MAPPER.valueToTree(p)));
                if (connection.isEmpty()) {
                  String why =
                      fixed.isPresent()
                          ? "No snowplow connection with id '" + fixed.get() + "'."
                          : "No snowplow connection has app_id '"
                              + p.getOrDefault("aid", "")
                              + "'.";
                  rejections.add(
                      new Rejection(
                          i,
                          fixed.isPresent() ? "connection_not_found" : "unknown_app_id",
                          why,
                          raw));
                  metrics.increment("weir_unroutable_events_total", 1);
                  continue;
                }
                Connection c = connection.get();
                connections.put(c.id(), c);
                rows.computeIfAbsent(c.id(), k -> new ArrayList<>());
                try {
                  rows.get(c.id())
                      .add(EventTables.row(SnowplowParser.toEvent(p, c.id(), receivedAt)));
                  accepted++;
                } catch (SnowplowParser.InvalidEvent e) {
                  Rejection r = new Rejection(i, e.code(), e.getMessage(), raw);
                  rejections.add(r);
                  deadLetters.computeIfAbsent(c.id(), k -> new ArrayList<>()).add(r);
                }
              }
              List<CompletableFuture<Integer>> writes = new ArrayList<>();
              for (Connection c : connections.values()) {
                writes.add(
                    service
                        .persist(
                            c,
                            new IngestBatch(
                                rows.get(c.id()),
                                deadLetters.getOrDefault(c.id(), List.of()),
                                receivedAt))
                        .toCompletableFuture());
              }
              int acceptedTotal = accepted;
              return CompletableFuture.allOf(writes.toArray(CompletableFuture[]::new))
                  .thenApply(done -> new Result(acceptedTotal, rejections));
            });
  }
}
