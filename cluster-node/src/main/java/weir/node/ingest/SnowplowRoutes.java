package weir.node.ingest;

import akka.http.javadsl.model.ContentType;
import akka.http.javadsl.model.HttpEntities;
import akka.http.javadsl.model.HttpHeader;
import akka.http.javadsl.model.HttpRequest;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.MediaTypes;
import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.model.headers.RawHeader;
import akka.http.javadsl.server.Route;
import akka.stream.Materializer;
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
import weir.node.registry.ConnectionDirectory;
import weir.persistence.registry.Connection;
import weir.persistence.registry.ConnectionKind;
import weir.protocol.BodyException;
import weir.protocol.Json;
import weir.protocol.Rejection;
import weir.protocol.StagedRow;
import weir.protocol.event.EventTables;
import weir.protocol.snowplow.SnowplowParser;

/**
 * The Snowplow collector (API.md): {@code POST /com.snowplowanalytics.snowplow/tp2} (payload_data), the GET
 * pixel at {@code /i} and {@code /com.snowplowanalytics.snowplow/i}, the same under {@code /s/{connectionId}/},
 * and CORS preflight on all of them. Events route to the snowplow connection whose {@code app_id} equals their
 * {@code aid} (or to the path's connection). The pixel always answers a 1×1 transparent GIF: 200 once the event
 * is durable or rejected as a dead letter, 503 (still a GIF) when the journal did not confirm. Events whose
 * {@code aid} matches no connection cannot be kept as dead letters (they belong to no connection): they are
 * answered as rejected, logged and counted ({@code weir_unroutable_events_total}).
 */
public final class SnowplowRoutes extends IngestRoutes {
  private static final String VENDOR = "com.snowplowanalytics.snowplow";
  /** A 1×1 transparent GIF. */
  static final byte[] PIXEL = Base64.getDecoder().decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7");
  private static final ContentType GIF = akka.http.javadsl.model.ContentTypes.create(MediaTypes.IMAGE_GIF);

  private final ConnectionDirectory directory;
  private final NodeMetrics metrics;

  public SnowplowRoutes(ConnectionDirectory directory, IngestGateway ingest, IngestSettings settings,
      Materializer materializer, NodeMetrics metrics) {
    super(ingest, settings, materializer);
    this.directory = directory;
    this.metrics = metrics;
  }

  public Route route() {
    return concat(
        collector(Optional.empty()),
        pathPrefix("s", () -> pathPrefix(akka.http.javadsl.server.PathMatchers.segment(), id ->
            collector(Optional.of(id)))));
  }

  /** The collector paths, for events routed by aid (empty) or to one connection. */
  private Route collector(Optional<String> connectionId) {
    return extractRequest(request -> concat(
        pathPrefix(VENDOR, () -> concat(
            path("tp2", () -> concat(options(() -> preflight(request)),
                post(() -> body(request, settings.maxBodyBytes(), bytes -> tp2(request, connectionId, bytes))))),
            path("i", () -> concat(options(() -> preflight(request)), get(() -> pixel(request, connectionId)))))),
        path("i", () -> concat(options(() -> preflight(request)), get(() -> pixel(request, connectionId))))));
  }

  private Route preflight(HttpRequest request) {
    return complete(cors(request, HttpResponse.create().withStatus(StatusCodes.OK))
        .addHeader(RawHeader.create("Access-Control-Allow-Methods", "POST, GET, OPTIONS"))
        .addHeader(RawHeader.create("Access-Control-Allow-Headers", "Content-Type, SP-Anonymous"))
        .addHeader(RawHeader.create("Access-Control-Max-Age", "3600")));
  }

  private static HttpResponse cors(HttpRequest request, HttpResponse response) {
    String origin = request.getHeader("Origin").map(HttpHeader::value).orElse("*");
    return response.addHeader(RawHeader.create("Access-Control-Allow-Origin", origin))
        .addHeader(RawHeader.create("Access-Control-Allow-Credentials", "true"))
        .addHeader(RawHeader.create("Vary", "Origin"));
  }

  private Route tp2(HttpRequest request, Optional<String> connectionId, byte[] body) {
    List<Map<String, String>> payloads;
    try {
      payloads = SnowplowParser.payloads(body);
    } catch (BodyException e) {
      return complete(cors(request, ApiErrors.response(StatusCodes.BAD_REQUEST, e.code(), e.getMessage())));
    }
    Instant receivedAt = Instant.now();
    return onSuccess(ingestAll(payloads, connectionId, receivedAt), result -> {
      if (result.failure() != null) return complete(cors(request, result.failure()));
      ObjectNode answer = Json.MAPPER.createObjectNode();
      answer.put("accepted", result.accepted());
      rejected(answer, result.rejections());
      return complete(cors(request, ApiErrors.json(StatusCodes.OK, answer)));
    });
  }

  private Route pixel(HttpRequest request, Optional<String> connectionId) {
    Map<String, String> fields = new LinkedHashMap<>();
    request.getUri().query().toMap().forEach(fields::put);
    Instant receivedAt = Instant.now();
    return onSuccess(ingestAll(List.of(fields), connectionId, receivedAt), result -> complete(cors(request,
        HttpResponse.create().withStatus(result.failure() == null ? StatusCodes.OK : StatusCodes.SERVICE_UNAVAILABLE)
            .withEntity(HttpEntities.create(GIF, PIXEL))
            .addHeader(RawHeader.create("Cache-Control", "no-cache, no-store, must-revalidate")))));
  }

  /** Outcome of a collector request: accepted count and rejections, or the failure response. */
  private record Result(int accepted, List<Rejection> rejections, HttpResponse failure) {}

  /**
   * Routes each event to its connection, parses it, and persists each connection's rows and dead letters.
   * Fails (503) when any connection's write did not succeed: the client retries, and events already written
   * are deduplicated by their eid.
   */
  private CompletionStage<Result> ingestAll(List<Map<String, String>> payloads, Optional<String> fixed,
      Instant receivedAt) {
    List<CompletableFuture<Optional<Connection>>> lookups = new ArrayList<>();
    for (Map<String, String> p : payloads) {
      CompletionStage<Optional<Connection>> c = fixed.isPresent()
          ? directory.connection(fixed.get()).thenApply(o -> o.filter(x -> x.active() && x.kind() == ConnectionKind.snowplow))
          : Optional.ofNullable(p.get("aid")).filter(a -> !a.isBlank())
              .map(aid -> directory.byAppId(ConnectionKind.snowplow, aid))
              .orElse(CompletableFuture.completedFuture(Optional.empty()));
      lookups.add(c.toCompletableFuture());
    }
    return CompletableFuture.allOf(lookups.toArray(CompletableFuture[]::new)).thenCompose(ignored -> {
      Map<String, Connection> connections = new LinkedHashMap<>();
      Map<String, List<StagedRow>> rows = new LinkedHashMap<>();
      Map<String, List<Rejection>> deadLetters = new LinkedHashMap<>();
      List<Rejection> rejections = new ArrayList<>();
      int accepted = 0;
      for (int i = 0; i < payloads.size(); i++) {
        Map<String, String> p = payloads.get(i);
        Optional<Connection> connection = lookups.get(i).join();
        String raw = weir.protocol.DeadLetters.truncate(Json.write(Json.MAPPER.valueToTree(p)));
        if (connection.isEmpty()) {
          String why = fixed.isPresent() ? "No snowplow connection with id '" + fixed.get() + "'."
              : "No snowplow connection has app_id '" + p.getOrDefault("aid", "") + "'.";
          rejections.add(new Rejection(i, fixed.isPresent() ? "connection_not_found" : "unknown_app_id", why, raw));
          metrics.increment("weir_unroutable_events_total", 1);
          continue;
        }
        Connection c = connection.get();
        connections.put(c.id(), c);
        try {
          rows.computeIfAbsent(c.id(), k -> new ArrayList<>())
              .addAll(EventTables.rows(SnowplowParser.toEvent(p, c.id(), receivedAt)));
          accepted++;
        } catch (SnowplowParser.InvalidEvent e) {
          Rejection r = new Rejection(i, e.code(), e.getMessage(), raw);
          rejections.add(r);
          deadLetters.computeIfAbsent(c.id(), k -> new ArrayList<>()).add(r);
        }
      }
      List<CompletableFuture<HttpResponse>> writes = new ArrayList<>();
      for (Connection c : connections.values()) {
        writes.add(durable(c, rows.getOrDefault(c.id(), List.of()), deadLetters.getOrDefault(c.id(), List.of()),
            receivedAt).thenApply(outcome -> outcome instanceof IngestGateway.Accepted ? null
                : respond(c, outcome, () -> null)).toCompletableFuture());
      }
      int acceptedTotal = accepted;
      return CompletableFuture.allOf(writes.toArray(CompletableFuture[]::new)).thenApply(done -> {
        HttpResponse failure = writes.stream().map(CompletableFuture::join).filter(java.util.Objects::nonNull)
            .findFirst().orElse(null);
        return new Result(acceptedTotal, rejections, failure);
      });
    });
  }

}
