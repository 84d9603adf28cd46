package weir.node.ingest;

import akka.http.javadsl.model.HttpRequest;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.model.headers.HttpChallenge;
import akka.http.javadsl.model.headers.WWWAuthenticate;
import akka.http.javadsl.server.AllDirectives;
import akka.http.javadsl.server.PathMatchers;
import akka.http.javadsl.server.Route;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import weir.node.http.ApiErrors;
import weir.node.registry.ConnectionLookup;
import weir.persistence.registry.ConnectionKind;
import weir.protocol.BodyException;
import weir.protocol.Json;
import weir.protocol.StagedRow;
import weir.protocol.event.CanonicalEvent;
import weir.protocol.event.EventTables;
import weir.protocol.segment.SegmentParser;

/**
 * The Segment-compatible HTTP Tracking API (API.md) over the {@link IngestService}: {@code POST
 * /v1/track}, {@code identify}, {@code page}, {@code screen}, {@code group}, {@code alias}, {@code
 * batch}, {@code import}. The write key comes from HTTP Basic auth (user name, empty password) or
 * the body's {@code writeKey}; an unknown or missing key is 401. Requests over 500 KB (decoded) are
 * 413; invalid messages of a batch become dead letters and the rest is accepted.
 */
public final class SegmentRoutes extends AllDirectives {
  private static final Set<String> ENDPOINTS =
      Set.of("track", "identify", "page", "screen", "group", "alias", "batch", "import");

  private final ConnectionLookup directory;
  private final IngestService service;

  public SegmentRoutes(ConnectionLookup directory, IngestService service) {
    this.directory = directory;
    this.service = service;
  }

  public Route route() {
    // Segment's libraries post to e.g. /v1/import/ (trailing slash): both forms are accepted.
    return pathPrefix(
        "v1",
        () ->
            pathPrefix(
                PathMatchers.segment(),
                endpoint ->
                    ENDPOINTS.contains(endpoint)
                        ? pathEndOrSingleSlash(
                            () ->
                                post(
                                    () ->
                                        extractRequest(
                                            request ->
                                                service.respond(
                                                    "segment",
                                                    () ->
                                                        service
                                                            .body(
                                                                request,
                                                                SegmentParser.MAX_REQUEST_BYTES)
                                                            .thenCompose(
                                                                body ->
                                                                    handle(
                                                                        endpoint, request,
                                                                        body))))))
                        : reject()));
  }

  private CompletionStage<HttpResponse> handle(String endpoint, HttpRequest request, byte[] body) {
    Instant receivedAt = Instant.now();
    SegmentParser.Result parsed;
    try {
      parsed = SegmentParser.parse(endpoint, body, "", receivedAt);
    } catch (BodyException e) {
      throw IngestRefusal.of(e);
    }
    String writeKey =
        basicUser(request)
            .or(parsed::writeKey)
            .filter(k -> !k.isBlank())
            .orElseThrow(
                () -> unauthorized("Send the connection's write key as the HTTP Basic user name."));
    return directory
        .byWriteKey(ConnectionKind.segment, writeKey)
        .handle(
            (found, error) -> {
              if (error != null) throw service.registryUnavailable("a write key", error);
              return found.orElseThrow(() -> unauthorized("Unknown write key."));
            })
        .thenCompose(
            connection -> {
              List<StagedRow> rows = new ArrayList<>(parsed.events().size());
              for (CanonicalEvent e : parsed.events())
                rows.add(EventTables.row(e.withConnectionId(connection.id())));
              return service.persist(
                  connection, new IngestBatch(rows, parsed.rejections(), receivedAt));
            })
        .thenApply(
            accepted -> {
              ObjectNode answer = Json.MAPPER.createObjectNode();
              answer.put("success", true);
              answer.put("accepted", accepted);
              IngestService.rejected(answer, parsed.rejections());
              return ApiErrors.json(StatusCodes.OK, answer);
            });
  }

  private static IngestRefusal unauthorized(String message) {
    return new IngestRefusal(StatusCodes.UNAUTHORIZED, "invalid_write_key", message)
        .with(WWWAuthenticate.create(HttpChallenge.createBasic("weir")));
  }

  /** The user name of an HTTP Basic {@code Authorization} header. */
  static Optional<String> basicUser(HttpRequest request) {
    return request
        .getHeader("Authorization")
        .map(h -> h.value().strip())
        .filter(v -> v.regionMatches(true, 0, "Basic ", 0, 6))
        .flatMap(
            v -> {
              try {
                String decoded =
                    new String(
                        Base64.getDecoder().decode(v.substring(6).strip()), StandardCharsets.UTF_8);
                int colon = decoded.indexOf(':');
                return Optional.of(colon < 0 ? decoded : decoded.substring(0, colon));
              } catch (IllegalArgumentException e) {
                return Optional.empty();
              }
            });
  }
}
