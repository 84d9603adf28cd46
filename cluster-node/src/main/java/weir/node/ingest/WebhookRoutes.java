package weir.node.ingest;

import akka.http.javadsl.model.HttpHeader;
import akka.http.javadsl.model.HttpRequest;
import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.server.AllDirectives;
import akka.http.javadsl.server.PathMatchers;
import akka.http.javadsl.server.Route;
import akka.http.scaladsl.model.EntityStreamSizeException;
import akka.stream.Materializer;
import akka.util.ByteString;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import weir.node.RootCause;
import weir.node.http.ApiErrors;
import weir.persistence.registry.Connection;
import weir.persistence.registry.ConnectionKind;
import weir.protocol.BodyException;
import weir.protocol.Json;
import weir.protocol.Rejection;
import weir.protocol.webhook.WebhookParser;
import weir.protocol.webhook.WebhookSignature;

/**
 * {@code POST /v1/webhooks/{connectionId}} (API.md, Generic webhooks): resolves the connection from the
 * local registry cache, checks media type, size and signature, parses the body with {@link WebhookParser},
 * and answers only after the {@link IngestGateway} confirmed the rows are in the journal.
 */
public final class WebhookRoutes extends AllDirectives {
  private static final Logger log = LoggerFactory.getLogger(WebhookRoutes.class);

  private final Function<String, CompletionStage<Optional<Connection>>> connections;
  private final IngestGateway ingest;
  private final IngestSettings settings;
  private final Materializer materializer;
  private final Function<String, String> openSecret;

  /**
   * @param openSecret turns a connection's stored (sealed) signing secret into the clear value
   */
  public WebhookRoutes(Function<String, CompletionStage<Optional<Connection>>> connections, IngestGateway ingest,
      IngestSettings settings, Materializer materializer, Function<String, String> openSecret) {
    this.connections = connections;
    this.ingest = ingest;
    this.settings = settings;
    this.materializer = materializer;
    this.openSecret = openSecret;
  }

  public Route route() {
    return pathPrefix("v1", () -> pathPrefix("webhooks", () ->
        path(PathMatchers.segment(), connectionId -> post(() ->
            extractRequest(request -> onComplete(connections.apply(connectionId), found -> {
              if (found.isFailure()) {
                log.warn("Registry lookup of {} failed: {}", connectionId, found.failed().get().toString());
                return complete(ApiErrors.unavailable("registry_unavailable",
                    "The connection registry is not reachable; retry shortly.", settings.retryAfter().toSeconds()));
              }
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
    long declared = request.entity().getContentLengthOption().orElse(-1L);
    if (declared > settings.maxBodyBytes()) {
      return tooLarge();
    }
    CompletionStage<ByteString> body = request.entity()
        .toStrict(settings.bodyReadTimeout().toMillis(), settings.maxBodyBytes(), materializer)
        .thenApply(strict -> strict.getData());
    return onComplete(body, read -> {
      if (read.isFailure()) {
        if (RootCause.of(read.failed().get()) instanceof EntityStreamSizeException) return tooLarge();
        return complete(ApiErrors.response(StatusCodes.BAD_REQUEST, "invalid_body",
            "The request body could not be read: " + RootCause.describe(read.failed().get())));
      }
      return handle(connection, request, format.get(), read.get().toArray());
    });
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
    if (parsed.rows().isEmpty() && parsed.rejections().isEmpty()) {
      return complete(ApiErrors.json(StatusCodes.OK, answer(0, List.of())));
    }
    List<ConnectionBuffer.DeadLetter> deadLetters = parsed.rejections().stream()
        .map(r -> ConnectionBuffer.DeadLetter.of(r, receivedAt.toEpochMilli())).toList();
    return onSuccess(ingest.accept(connection, parsed.rows(), deadLetters), outcome -> {
      if (outcome instanceof IngestGateway.Accepted a) {
        return complete(ApiErrors.json(StatusCodes.OK, answer(a.count(), parsed.rejections())));
      }
      if (outcome instanceof IngestGateway.Overloaded) {
        return complete(ApiErrors.unavailable("overloaded",
            "The buffers of this connection are full; retry after the Retry-After delay.",
            settings.retryAfter().toSeconds()));
      }
      log.warn("Journal write for connection {} not confirmed: {}", connection.id(),
          ((IngestGateway.Unavailable) outcome).reason());
      return complete(ApiErrors.unavailable("journal_unavailable",
          "The events could not be made durable in time; nothing was accepted, retry the request.",
          settings.retryAfter().toSeconds()));
    });
  }

  private Route tooLarge() {
    return complete(ApiErrors.response(StatusCodes.PAYLOAD_TOO_LARGE, "payload_too_large",
        "The request body is larger than " + settings.maxBodyBytes() + " bytes."));
  }

  private static ObjectNode answer(int accepted, List<Rejection> rejections) {
    ObjectNode body = Json.MAPPER.createObjectNode();
    body.put("accepted", accepted);
    ArrayNode rejected = body.putArray("rejected");
    for (Rejection r : rejections) {
      rejected.addObject().put("index", r.index()).put("code", r.code()).put("message", r.message());
    }
    return body;
  }
}
