package weir.node.http;

import akka.http.javadsl.model.ContentTypes;
import akka.http.javadsl.model.HttpEntities;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.StatusCode;
import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.model.headers.RetryAfter;
import akka.http.javadsl.server.AuthorizationFailedRejection;
import akka.http.javadsl.server.Directives;
import akka.http.javadsl.server.ExceptionHandler;
import akka.http.javadsl.server.MalformedRequestContentRejection;
import akka.http.javadsl.server.MethodRejection;
import akka.http.javadsl.server.MissingHeaderRejection;
import akka.http.javadsl.server.RejectionHandler;
import akka.http.javadsl.server.UnsupportedRequestContentTypeRejection;
import akka.http.scaladsl.model.EntityStreamSizeException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import weir.protocol.Json;

/**
 * The one place that produces Weir's JSON error bodies ({@code {"error": {"code", "message"}}},
 * API.md), and the rejection and exception handlers that turn everything else into them. No client
 * input ever gets a 500: unexpected exceptions are logged and answered {@code 500 internal_error}
 * without details.
 */
public final class ApiErrors {
  private static final Logger log = LoggerFactory.getLogger(ApiErrors.class);

  private ApiErrors() {}

  /** An error response. */
  public static HttpResponse response(StatusCode status, String code, String message) {
    ObjectNode body = Json.MAPPER.createObjectNode();
    ObjectNode error = body.putObject("error");
    error.put("code", code);
    error.put("message", message);
    return HttpResponse.create()
        .withStatus(status)
        .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, Json.write(body)));
  }

  /** {@code 503 overloaded} with {@code Retry-After}. */
  public static HttpResponse unavailable(String code, String message, long retryAfterSeconds) {
    return response(StatusCodes.SERVICE_UNAVAILABLE, code, message)
        .addHeader(RetryAfter.create(Math.max(1, retryAfterSeconds)));
  }

  /** A JSON success response. */
  public static HttpResponse json(StatusCode status, ObjectNode body) {
    return HttpResponse.create()
        .withStatus(status)
        .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, Json.write(body)));
  }

  /** Rejections (no route matched, wrong method, ...) as JSON errors. */
  public static RejectionHandler rejectionHandler() {
    return RejectionHandler.newBuilder()
        .handleAll(
            MethodRejection.class,
            rejections ->
                Directives.complete(
                    response(
                        StatusCodes.METHOD_NOT_ALLOWED,
                        "method_not_allowed",
                        "Method not allowed here; allowed: "
                            + rejections.stream()
                                .map(r -> r.supported().name())
                                .distinct()
                                .collect(Collectors.joining(", "))
                            + ".")))
        .handle(
            UnsupportedRequestContentTypeRejection.class,
            r ->
                Directives.complete(
                    response(
                        StatusCodes.UNSUPPORTED_MEDIA_TYPE,
                        "unsupported_media_type",
                        "Unsupported content type.")))
        .handle(
            MalformedRequestContentRejection.class,
            r ->
                Directives.complete(
                    response(
                        StatusCodes.BAD_REQUEST, "invalid_body", "The request body is malformed.")))
        .handle(
            MissingHeaderRejection.class,
            r ->
                Directives.complete(
                    response(
                        StatusCodes.BAD_REQUEST,
                        "missing_header",
                        "Missing header " + r.headerName() + ".")))
        .handle(
            AuthorizationFailedRejection.class,
            r -> Directives.complete(response(StatusCodes.FORBIDDEN, "forbidden", "Not allowed.")))
        .handleNotFound(
            Directives.extractUnmatchedPath(
                path ->
                    Directives.complete(
                        response(StatusCodes.NOT_FOUND, "not_found", "No such resource."))))
        .build()
        .withFallback(RejectionHandler.defaultHandler())
        .mapRejectionResponse(ApiErrors::asJsonError);
  }

  /** Any response of the default rejection handler that is not JSON yet becomes a JSON error. */
  private static HttpResponse asJsonError(HttpResponse response) {
    if (response.entity().getContentType().equals(ContentTypes.APPLICATION_JSON)) return response;
    int code = response.status().intValue();
    String reason = response.status().reason().toLowerCase().replaceAll("[^a-z0-9]+", "_");
    return response(
        response.status(),
        code == 400 ? "bad_request" : reason,
        "The request was rejected: " + response.status().reason() + ".");
  }

  /** Unexpected exceptions: logged with their stack, answered without details. */
  public static ExceptionHandler exceptionHandler() {
    return ExceptionHandler.newBuilder()
        .match(
            EntityStreamSizeException.class,
            e ->
                Directives.complete(
                    response(
                        StatusCodes.PAYLOAD_TOO_LARGE,
                        "payload_too_large",
                        "The request body is larger than " + e.limit() + " bytes.")))
        .matchAny(
            e -> {
              log.error("Unhandled error while serving a request", e);
              return Directives.complete(
                  response(
                      StatusCodes.INTERNAL_SERVER_ERROR,
                      "internal_error",
                      "An internal error occurred; it has been logged."));
            })
        .build();
  }
}
