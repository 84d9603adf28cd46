package weir.node.ingest;

import akka.http.javadsl.model.HttpRequest;
import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.model.headers.HttpChallenge;
import akka.http.javadsl.model.headers.WWWAuthenticate;
import akka.http.javadsl.server.PathMatchers;
import akka.http.javadsl.server.Route;
import akka.stream.Materializer;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import weir.node.http.ApiErrors;
import weir.node.registry.ConnectionDirectory;
import weir.persistence.registry.Connection;
import weir.persistence.registry.ConnectionKind;
import weir.protocol.BodyException;
import weir.protocol.Json;
import weir.protocol.StagedRow;
import weir.protocol.event.CanonicalEvent;
import weir.protocol.event.EventTables;
import weir.protocol.segment.SegmentParser;

/**
 * The Segment-compatible HTTP Tracking API (API.md): {@code POST /v1/track}, {@code identify}, {@code page},
 * {@code screen}, {@code group}, {@code alias}, {@code batch}, {@code import}. The write key comes from HTTP
 * Basic auth (user name, empty password) or the body's {@code writeKey}; an unknown or missing key is 401.
 * Requests over 500 KB are 413; invalid messages of a batch become dead letters and the rest is accepted.
 */
public final class SegmentRoutes extends IngestRoutes {
  private static final Set<String> ENDPOINTS = Set.of("track", "identify", "page", "screen", "group", "alias",
      "batch", "import");

  private final ConnectionDirectory directory;

  public SegmentRoutes(ConnectionDirectory directory, IngestGateway ingest, IngestSettings settings,
      Materializer materializer) {
    super(ingest, settings, materializer);
    this.directory = directory;
  }

  public Route route() {
    // Segment's libraries post to e.g. /v1/import/ (trailing slash): both forms are accepted.
    return pathPrefix("v1", () -> pathPrefix(PathMatchers.segment(), endpoint -> ENDPOINTS.contains(endpoint)
        ? pathEndOrSingleSlash(() -> post(() -> extractRequest(request -> body(request,
            SegmentParser.MAX_REQUEST_BYTES, bytes -> handle(endpoint, request, bytes)))))
        : reject()));
  }

  private Route handle(String endpoint, HttpRequest request, byte[] body) {
    Instant receivedAt = Instant.now();
    SegmentParser.Result parsed;
    try {
      parsed = SegmentParser.parse(endpoint, body, "", receivedAt);
    } catch (BodyException e) {
      return complete(ApiErrors.response(StatusCodes.BAD_REQUEST, e.code(), e.getMessage()));
    }
    Optional<String> writeKey = basicUser(request).or(parsed::writeKey).filter(k -> !k.isBlank());
    if (writeKey.isEmpty()) return unauthorized("Send the connection's write key as the HTTP Basic user name.");
    return onComplete(directory.byWriteKey(ConnectionKind.segment, writeKey.get()), found -> {
      if (found.isFailure()) return registryUnavailable("a write key", found.failed().get());
      if (found.get().isEmpty()) return unauthorized("Unknown write key.");
      Connection connection = found.get().get();
      List<StagedRow> rows = new ArrayList<>();
      for (CanonicalEvent e : parsed.events()) rows.addAll(EventTables.rows(e.withConnectionId(connection.id())));
      return persist(connection, rows, parsed.rejections(), receivedAt, () -> {
        ObjectNode answer = Json.MAPPER.createObjectNode();
        answer.put("success", true);
        answer.put("accepted", parsed.events().size());
        rejected(answer, parsed.rejections());
        return ApiErrors.json(StatusCodes.OK, answer);
      });
    });
  }

  private Route unauthorized(String message) {
    return complete(ApiErrors.response(StatusCodes.UNAUTHORIZED, "invalid_write_key", message)
        .addHeader(WWWAuthenticate.create(HttpChallenge.createBasic("weir"))));
  }

  /** The user name of an HTTP Basic {@code Authorization} header. */
  static Optional<String> basicUser(HttpRequest request) {
    return request.getHeader("Authorization").map(h -> h.value().strip())
        .filter(v -> v.regionMatches(true, 0, "Basic ", 0, 6))
        .flatMap(v -> {
          try {
            String decoded = new String(Base64.getDecoder().decode(v.substring(6).strip()), StandardCharsets.UTF_8);
            int colon = decoded.indexOf(':');
            return Optional.of(colon < 0 ? decoded : decoded.substring(0, colon));
          } catch (IllegalArgumentException e) {
            return Optional.empty();
          }
        });
  }
}
