package weir.node.admin;

import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.server.AllDirectives;
import akka.http.javadsl.server.Route;
import akka.http.javadsl.unmarshalling.Unmarshaller;
import akka.pattern.StatusReply;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import weir.node.RootCause;
import weir.node.http.ApiErrors;
import weir.persistence.registry.Registry;
import weir.protocol.Json;

/** What every management resource shares: JSON bodies, and turning failures into API.md errors. */
abstract class AdminSupport extends AllDirectives {
  private static final Logger log = LoggerFactory.getLogger(AdminSupport.class);
  private static final long MAX_BODY = 1024 * 1024;

  /** The request body as a JSON object, or a 400. */
  protected Route jsonObject(Function<ObjectNode, Route> inner) {
    return withSizeLimit(
        MAX_BODY,
        () ->
            entity(
                Unmarshaller.entityToString(),
                text -> {
                  JsonNode node;
                  try {
                    node = text.isBlank() ? null : Json.MAPPER.readTree(text);
                  } catch (Exception e) {
                    return complete(
                        ApiErrors.response(
                            StatusCodes.BAD_REQUEST,
                            "invalid_json",
                            "The body is not valid JSON."));
                  }
                  if (!(node instanceof ObjectNode object)) {
                    return complete(
                        ApiErrors.response(
                            StatusCodes.BAD_REQUEST,
                            "invalid_json",
                            "The body must be a JSON object."));
                  }
                  return inner.apply(object);
                }));
  }

  /** Completes with the response, or with the API error a failure maps to. */
  protected Route respond(CompletionStage<HttpResponse> response) {
    return onComplete(
        response,
        result -> complete(result.isSuccess() ? result.get() : failure(result.failed().get())));
  }

  /** The API error for a failure: validation, registry refusal, or an unavailable registry. */
  static HttpResponse failure(Throwable error) {
    Throwable root = RootCause.of(error);
    if (root instanceof BadRequest bad) {
      return ApiErrors.response(StatusCodes.get(bad.status), bad.code, bad.getMessage());
    }
    if (root instanceof StatusReply.ErrorMessage refused) {
      String code = Registry.errorCode(refused.getMessage());
      int status =
          code.endsWith("_not_found")
              ? 404
              : code.endsWith("_in_use") || code.endsWith("_exists") ? 409 : 400;
      return ApiErrors.response(
          StatusCodes.get(status), code, Registry.errorSentence(refused.getMessage()));
    }
    log.warn("Management request failed: {}", RootCause.describe(error));
    return ApiErrors.unavailable(
        "registry_unavailable",
        "The registry did not answer in time; the change may not have been applied. Retry.",
        1);
  }

  static String instant(long millis) {
    return millis <= 0 ? null : Instant.ofEpochMilli(millis).toString();
  }

  /** Text of an optional string field; a non-string value is a 400 naming the field. */
  static String text(ObjectNode body, String field) throws BadRequest {
    JsonNode v = body.get(field);
    if (v == null || v.isNull()) return null;
    if (!v.isTextual())
      throw new BadRequest("invalid_field", "Field '" + field + "' must be a string.");
    return v.asText();
  }

  /** An optional integer field within bounds. */
  static Integer integer(ObjectNode body, String field, long min, long max) throws BadRequest {
    JsonNode v = body.get(field);
    if (v == null || v.isNull()) return null;
    if (!v.isIntegralNumber() || v.asLong() < min || v.asLong() > max) {
      throw new BadRequest(
          "invalid_field",
          "Field '" + field + "' must be a whole number from " + min + " to " + max + ".");
    }
    return v.asInt();
  }
}
