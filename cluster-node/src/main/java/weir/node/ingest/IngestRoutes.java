package weir.node.ingest;

import akka.http.javadsl.model.HttpRequest;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.server.AllDirectives;
import akka.http.javadsl.server.Route;
import akka.http.scaladsl.model.EntityStreamSizeException;
import akka.stream.Materializer;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import weir.node.RootCause;
import weir.node.http.ApiErrors;
import weir.persistence.registry.Connection;
import weir.protocol.DeadLetters;
import weir.protocol.Rejection;
import weir.protocol.StagedRow;

/**
 * What the ingestion routes (webhooks, Segment, Snowplow) share: reading a body within its size limit, and
 * making a request's rows durable through the {@link IngestGateway} before answering (503 with
 * {@code Retry-After} when the journal cannot confirm, or the slot is full).
 */
abstract class IngestRoutes extends AllDirectives {
  private static final Logger log = LoggerFactory.getLogger(IngestRoutes.class);

  protected final IngestGateway ingest;
  protected final IngestSettings settings;
  private final Materializer materializer;

  IngestRoutes(IngestGateway ingest, IngestSettings settings, Materializer materializer) {
    this.ingest = ingest;
    this.settings = settings;
    this.materializer = materializer;
  }

  /** The request body as bytes, or 413 when it is larger than {@code limit}. */
  protected Route body(HttpRequest request, long limit, Function<byte[], Route> inner) {
    long declared = request.entity().getContentLengthOption().orElse(-1L);
    if (declared > limit) return tooLarge(limit);
    CompletionStage<byte[]> bytes = request.entity()
        .toStrict(settings.bodyReadTimeout().toMillis(), limit, materializer)
        .thenApply(strict -> strict.getData().toArray());
    return onComplete(bytes, read -> {
      if (read.isSuccess()) return inner.apply(read.get());
      if (RootCause.of(read.failed().get()) instanceof EntityStreamSizeException) return tooLarge(limit);
      return complete(ApiErrors.response(StatusCodes.BAD_REQUEST, "invalid_body",
          "The request body could not be read: " + RootCause.describe(read.failed().get())));
    });
  }

  protected Route tooLarge(long limit) {
    return complete(ApiErrors.response(StatusCodes.PAYLOAD_TOO_LARGE, "payload_too_large",
        "The request body is larger than " + limit + " bytes."));
  }

  /**
   * Persists the rows and the rejections of one request into the connection's buffer, then completes with
   * {@code answer}; 503 when nothing could be made durable.
   */
  protected Route persist(Connection connection, List<StagedRow> rows, List<Rejection> rejections,
      Instant receivedAt, java.util.function.Supplier<HttpResponse> answer) {
    return onSuccess(durable(connection, rows, rejections, receivedAt), outcome -> complete(respond(connection,
        outcome, answer)));
  }

  /**
   * The gateway call behind {@link #persist}: the rows, plus one {@code _weir_dead_letters} row per rejection
   * (kept and loaded like any event), in one journal event. An empty request needs no journal write.
   */
  protected CompletionStage<IngestGateway.Outcome> durable(Connection connection, List<StagedRow> rows,
      List<Rejection> rejections, Instant receivedAt) {
    if (rows.isEmpty() && rejections.isEmpty()) {
      return java.util.concurrent.CompletableFuture.completedFuture(new IngestGateway.Accepted(0));
    }
    List<StagedRow> all = rows;
    if (!rejections.isEmpty()) {
      all = new java.util.ArrayList<>(rows);
      for (Rejection r : rejections) all.add(DeadLetters.row(connection.id(), r, receivedAt));
    }
    List<ConnectionBuffer.DeadLetter> deadLetters = rejections.stream()
        .map(r -> ConnectionBuffer.DeadLetter.of(r, receivedAt.toEpochMilli())).toList();
    return ingest.accept(connection, all, deadLetters);
  }

  /** The HTTP answer for an outcome. */
  protected HttpResponse respond(Connection connection, IngestGateway.Outcome outcome,
      java.util.function.Supplier<HttpResponse> answer) {
    if (outcome instanceof IngestGateway.Accepted) return answer.get();
    if (outcome instanceof IngestGateway.Overloaded) {
      return ApiErrors.unavailable("overloaded", "The buffers of this connection are full; retry after the "
          + "Retry-After delay.", settings.retryAfter().toSeconds());
    }
    log.warn("Journal write for connection {} not confirmed: {}", connection.id(),
        ((IngestGateway.Unavailable) outcome).reason());
    return ApiErrors.unavailable("journal_unavailable",
        "The events could not be made durable in time; nothing was accepted, retry the request.",
        settings.retryAfter().toSeconds());
  }

  /** {@code [{"index", "code", "message"}, ...]} */
  protected static void rejected(ObjectNode into, List<Rejection> rejections) {
    ArrayNode array = into.putArray("rejected");
    for (Rejection r : rejections) {
      array.addObject().put("index", r.index()).put("code", r.code()).put("message", r.message());
    }
  }

  protected Route registryUnavailable(String what, Throwable error) {
    log.warn("Registry lookup of {} failed: {}", what, error.toString());
    return complete(ApiErrors.unavailable("registry_unavailable",
        "The connection registry is not reachable; retry shortly.", settings.retryAfter().toSeconds()));
  }
}
