package weir.node.ingest;

import akka.http.javadsl.model.HttpHeader;
import akka.http.javadsl.model.HttpRequest;
import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.server.PathMatchers;
import akka.http.javadsl.server.Route;
import akka.stream.Materializer;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import weir.node.http.ApiErrors;
import weir.persistence.registry.Connection;
import weir.persistence.registry.ConnectionKind;
import weir.protocol.BodyException;
import weir.protocol.Json;
import weir.protocol.webhook.WebhookParser;
import weir.protocol.webhook.WebhookSignature;

/**
 * {@code POST /v1/webhooks/{connectionId}} (API.md, Generic webhooks): resolves the connection from the
 * local registry cache, checks media type, size and signature, parses the body with {@link WebhookParser},
 * and answers only after the {@link IngestGateway} confirmed the rows are in the journal.
 */
public final class WebhookRoutes extends IngestRoutes {
  private final Function<String, CompletionStage<Optional<Connection>>> connections;
  private final Function<String, String> openSecret;

  /**
   * @param openSecret turns a connection's stored (sealed) signing secret into the clear value
   */
  public WebhookRoutes(Function<String, CompletionStage<Optional<Connection>>> connections, IngestGateway ingest,
      IngestSettings settings, Materializer materializer, Function<String, String> openSecret) {
    super(ingest, settings, materializer);
    this.connections = connections;
    this.openSecret = openSecret;
  }

  public Route route() {
    return pathPrefix("v1", () -> pathPrefix("webhooks", () ->
        path(PathMatchers.segment(), connectionId -> post(() ->
            extractRequest(request -> onComplete(connections.apply(connectionId), found -> {
              if (found.isFailure()) return registryUnavailable(connectionId, found.failed().get());
              Optional<Connection> connection = found.get().filter(c -> c.kind() == ConnectionKind.webhook && c.active());
              if (connection.isEmpty()) {
                return complete(ApiErrors.response(StatusCodes.NOT_FOUND, "connection_not_found",
                    "No webhook connection with id '" + connectionId + "'."));
              }
              return receive(connection.get(), request);
            }))))));
  }

  private Route receive(Connection connection, HttpRequest request) {
    String mediaType = request.entity().getContentType().mediaType().toString().toLowerCase(Locale.ROOT);
    Optional<WebhookParser.Format> format = WebhookParser.Format.forMediaType(mediaType);
    if (format.isEmpty()) {
      return complete(ApiErrors.response(StatusCodes.UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
          "Content-Type " + mediaType + " is not accepted; send application/json, application/x-ndjson or "
              + "application/x-www-form-urlencoded."));
    }
    return body(request, settings.maxBodyBytes(), bytes -> handle(connection, request, format.get(), bytes));
  }

  private Route handle(Connection connection, HttpRequest request, WebhookParser.Format format, byte[] body) {
    Optional<String> secret = connection.signingSecretIfAny().map(openSecret);
    if (secret.isPresent()) {
      Optional<HttpHeader> signature = request.getHeader(WebhookSignature.HEADER);
      if (signature.isEmpty()) {
        return complete(ApiErrors.response(StatusCodes.UNAUTHORIZED, "missing_signature",
            "This connection requires an " + WebhookSignature.HEADER + " header (sha256=<hex HMAC of the body>)."));
      }
      if (!WebhookSignature.verify(secret.get(), body, signature.get().value())) {
        return complete(ApiErrors.response(StatusCodes.UNAUTHORIZED, "invalid_signature",
            "The " + WebhookSignature.HEADER + " header does not match the body."));
      }
    }
    Instant receivedAt = Instant.now();
    WebhookParser.Result parsed;
    try {
      parsed = new WebhookParser(connection.table(), connection.idFieldIfAny())
          .parse(body, format, request.getHeader("X-Event-Id").map(HttpHeader::value), receivedAt);
    } catch (BodyException e) {
      return complete(ApiErrors.response(StatusCodes.BAD_REQUEST, e.code(), e.getMessage()));
    }
    return persist(connection, parsed.rows(), parsed.rejections(), receivedAt, () -> {
      ObjectNode answer = Json.MAPPER.createObjectNode();
      answer.put("accepted", parsed.rows().size());
      rejected(answer, parsed.rejections());
      return ApiErrors.json(StatusCodes.OK, answer);
    });
  }
}
