package weir.node.http;

import akka.event.LoggingAdapter;
import akka.http.ParsingErrorHandler;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.StatusCodes;
import akka.http.scaladsl.model.ErrorInfo;
import akka.http.scaladsl.model.StatusCode;
import akka.http.scaladsl.settings.ServerSettings;

/**
 * Requests Akka HTTP refuses before any route sees them (malformed framing, a request line or
 * header over the parsing limits, an unknown method or HTTP version) answered as API.md's JSON
 * errors, never as a 5xx: an unknown method is 405 (Akka would say 501) and an unsupported HTTP
 * version 400 (Akka: 505), since only 503 means "retry" to a client of Weir. Set as {@code
 * akka.http.server.parsing.error-handler}.
 */
public final class JsonParsingErrors extends ParsingErrorHandler {

  @Override
  public HttpResponse handle(
      StatusCode status, ErrorInfo error, LoggingAdapter log, ServerSettings settings) {
    log.debug("Illegal request, answered {}: {}", status.intValue(), error.summary());
    int code = status.intValue();
    String summary =
        error.summary().length() > 200 ? error.summary().substring(0, 200) : error.summary();
    return switch (code) {
      case 413 ->
          ApiErrors.response(
              StatusCodes.PAYLOAD_TOO_LARGE,
              "payload_too_large",
              "The request is larger than this server accepts: " + summary);
      case 414 ->
          ApiErrors.response(
              StatusCodes.URI_TOO_LONG, "uri_too_long", "The request URI is too long.");
      case 431 ->
          ApiErrors.response(
              StatusCodes.REQUEST_HEADER_FIELDS_TOO_LARGE,
              "headers_too_large",
              "A request header is too large: " + summary);
      case 501 ->
          ApiErrors.response(
              StatusCodes.METHOD_NOT_ALLOWED,
              "method_not_allowed",
              "The request method is not supported: " + summary);
      case 505 ->
          ApiErrors.response(
              StatusCodes.BAD_REQUEST,
              "unsupported_http_version",
              "Only HTTP/1.0 and HTTP/1.1 are accepted: " + summary);
      case 408 ->
          ApiErrors.response(
              StatusCodes.REQUEST_TIMEOUT,
              "request_timeout",
              "The request was not complete " + "in time.");
      default ->
          ApiErrors.response(
              code >= 500 ? StatusCodes.BAD_REQUEST : StatusCodes.get(code),
              "malformed_request",
              "The request is not valid HTTP: " + summary);
    };
  }
}
