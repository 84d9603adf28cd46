package weir.node.ingest;

import akka.http.javadsl.model.HttpHeader;
import akka.http.javadsl.model.HttpRequest;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.server.AllDirectives;
import akka.http.javadsl.server.PathMatchers;
import akka.http.javadsl.server.Route;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import weir.node.http.ApiErrors;
import weir.node.registry.ConnectionLookup;
import weir.persistence.registry.Connection;
import weir.persistence.registry.ConnectionKind;
import weir.protocol.BodyException;
import weir.protocol.Json;
import weir.protocol.webhook.WebhookParser;
import weir.protocol.webhook.WebhookSignature;

/**
 * {@code POST /v1/webhooks/{connectionId}} (API.md, Generic webhooks): the webhook wire format over
 * the {@link IngestService} — the connection from the path, media type, signature, {@link
 * WebhookParser}, and the answer {@code {"accepted": N, "rejected": [...]}} once the events are in
 * the journal.
 */
public final class WebhookRoutes extends AllDirectives {
  private final ConnectionLookup connections;
  private final IngestService service;
  private final Function<String, String> openSecret;

  /**
   * @param openSecret turns a connection's stored (sealed) signing secret into the clear value
   */
  public WebhookRoutes(
      ConnectionLookup connections, IngestService service, Function<String, String> openSecret) {
    this.connections = connections;
    this.service = service;
    this.openSecret = openSecret;
  }

  public Route route() {
    return pathPrefix(
        "v1",
        () ->
            pathPrefix(
                "webhooks",
                () ->
                    path(
                        PathMatchers.segment(),
                        connectionId ->
                            post(
                                () ->
                                    extractRequest(
                                        request ->
                                            service.respond(
                                                "webhook",
                                                () -> receive(connectionId, request)))))));
  }

  private CompletionStage<HttpResponse> receive(String connectionId, HttpRequest request) {
    return connections
        .connection(connectionId)
        .handle(
            (found, error) -> {
              if (error != null) throw service.registryUnavailable(connectionId, error);
              return found
                  .filter(c -> c.kind() == ConnectionKind.webhook && c.active())
                  .orElseThrow(
                      () ->
                          new IngestRefusal(
                              StatusCodes.NOT_FOUND,
                              "connection_not_found",
                              "No webhook connection with id '" + connectionId + "'."));
            })
        .thenCompose(
            connection -> {
              String mediaType =
                  request.entity().getContentType().mediaType().toString().toLowerCase(Locale.ROOT);
              WebhookParser.Format format =
                  WebhookParser.Format.forMediaType(mediaType)
                      .orElseThrow(
                          () ->
                              new IngestRefusal(
                                  StatusCodes.UNSUPPORTED_MEDIA_TYPE,
                                  "unsupported_media_type",
                                  "Content-Type "
                                      + mediaType
                                      + " is not accepted; send application/json, application/x-ndjson or "
                                      + "application/x-www-form-urlencoded."));
              return service
                  .body(request, service.settings().maxBodyBytes())
                  .thenCompose(body -> handle(connection, request, format, body));
            });
  }

  private CompletionStage<HttpResponse> handle(
      Connection connection, HttpRequest request, WebhookParser.Format format, byte[] body) {
    Optional<String> secret = connection.signingSecretIfAny().map(openSecret);
    if (secret.isPresent()) {
      Optional<HttpHeader> signature = request.getHeader(WebhookSignature.HEADER);
      if (signature.isEmpty()) {
        throw new IngestRefusal(
            StatusCodes.UNAUTHORIZED,
            "missing_signature",
            "This connection requires an "
                + WebhookSignature.HEADER
                + " header (sha256=<hex HMAC of the body>).");
      }
      if (!WebhookSignature.verify(secret.get(), body, signature.get().value())) {
        throw new IngestRefusal(
            StatusCodes.UNAUTHORIZED,
            "invalid_signature",
            "The " + WebhookSignature.HEADER + " header does not match the body.");
      }
    }
    Instant receivedAt = Instant.now();
    WebhookParser.Result parsed;
    try {
      parsed =
          new WebhookParser(connection.table(), connection.idFieldIfAny())
              .parse(
                  body, format, request.getHeader("X-Event-Id").map(HttpHeader::value), receivedAt);
    } catch (BodyException e) {
      throw IngestRefusal.of(e);
    }
    return service
        .persist(connection, new IngestBatch(parsed.rows(), parsed.rejections(), receivedAt))
        .thenApply(
            accepted -> {
              ObjectNode answer = Json.MAPPER.createObjectNode();
              answer.put("accepted", accepted);
              IngestService.rejected(answer, parsed.rejections());
              return ApiErrors.json(StatusCodes.OK, answer);
            });
  }
}
