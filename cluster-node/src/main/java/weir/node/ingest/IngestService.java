package weir.node.ingest;

import akka.http.javadsl.model.HttpEntity;
import akka.http.javadsl.model.HttpHeader;
import akka.http.javadsl.model.HttpRequest;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.server.AllDirectives;
import akka.http.javadsl.server.Route;
import akka.http.scaladsl.model.EntityStreamSizeException;
import akka.stream.Materializer;
import akka.stream.StreamLimitReachedException;
import akka.stream.javadsl.Compression;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import akka.util.ByteString;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.zip.GZIPInputStream;
import java.util.zip.InflaterInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import weir.node.RootCause;
import weir.node.http.ApiErrors;
import weir.node.metrics.NodeMetrics;
import weir.persistence.registry.Connection;
import weir.protocol.BodyException;
import weir.protocol.Rejection;

/**
 * The ingest pipeline every collector route composes — resolve the connection, read the body, parse
 * it (the route's wire format), persist, answer — and the one place where a refused request becomes
 * its answer.
 *
 * <ul>
 *   <li>{@link #body}: the decoded body ({@code Content-Encoding} gzip, deflate or identity;
 *       another encoding is 415), at most {@code limit} bytes after decoding (413 as soon as it is
 *       exceeded, so a gzip bomb is never inflated whole), read within {@code body-read-timeout}
 *       (408).
 *   <li>{@link #persist}: the events and rejections of one request into the journal through the
 *       {@link IngestGateway}; 503 with {@code Retry-After} when nothing could be made durable.
 *   <li>{@link #respond}: completes a route with the response, or with the JSON error of its
 *       failure ({@link IngestRefusal}, or a {@link BodyException} as 400). Anything else is a bug:
 *       logged, 500.
 * </ul>
 */
public final class IngestService extends AllDirectives {
  private static final Logger log = LoggerFactory.getLogger(IngestService.class);
  private static final int INFLATE_CHUNK = 64 * 1024;

  private final IngestGateway gateway;
  private final IngestSettings settings;
  private final Materializer materializer;
  private final NodeMetrics metrics;

  public IngestService(
      IngestGateway gateway,
      IngestSettings settings,
      Materializer materializer,
      NodeMetrics metrics) {
    this.gateway = gateway;
    this.settings = settings;
    this.materializer = materializer;
    this.metrics = metrics;
  }

  public IngestSettings settings() {
    return settings;
  }

  /** The request body, decoded, within {@code limit} bytes; fails with an {@link IngestRefusal}. */
  public CompletionStage<byte[]> body(HttpRequest request, long limit) {
    long declared = request.entity().getContentLengthOption().orElse(-1L);
    if (declared > limit) return CompletableFuture.failedFuture(tooLarge(limit));
    String encoding =
        request
            .getHeader("Content-Encoding")
            .map(HttpHeader::value)
            .orElse("identity")
            .strip()
            .toLowerCase(Locale.ROOT);
    if (request.entity() instanceof HttpEntity.Strict strict) {
      // The whole body arrived with the headers (most requests): decoded here, no stream to run.
      return strictBody(strict.getData(), encoding, limit);
    }
    Source<ByteString, Object> raw =
        request.entity().getDataBytes().limitWeighted(limit, b -> (long) b.size());
    Source<ByteString, Object> decoded =
        switch (encoding) {
          case "", "identity" -> raw;
          case "gzip", "x-gzip" -> raw.via(Compression.gunzip(INFLATE_CHUNK));
          case "deflate" -> raw.via(Compression.inflate(INFLATE_CHUNK));
          default -> null;
        };
    if (decoded == null) {
      request.discardEntityBytes(materializer);
      return CompletableFuture.failedFuture(unsupportedEncoding(encoding));
    }
    return decoded
        .limitWeighted(limit, b -> (long) b.size())
        .completionTimeout(settings.bodyReadTimeout())
        .runWith(
            Sink.<ByteString, ByteString>fold(ByteString.emptyByteString(), (a, b) -> a.concat(b)),
            materializer)
        .<byte[]>thenApply(ByteString::toArray)
        .exceptionally(
            e -> {
              Throwable cause = RootCause.of(e);
              if (cause instanceof StreamLimitReachedException
                  || cause instanceof EntityStreamSizeException) {
                throw tooLarge(limit);
              }
              if (cause instanceof TimeoutException) {
                throw new IngestRefusal(
                    StatusCodes.REQUEST_TIMEOUT,
                    "body_timeout",
                    "The request body did not arrive "
                        + "within "
                        + settings.bodyReadTimeout().toSeconds()
                        + " s.");
              }
              if (!encoding.equals("identity") && !encoding.isEmpty()) {
                throw new IngestRefusal(
                    StatusCodes.BAD_REQUEST,
                    "invalid_body",
                    "The "
                        + encoding
                        + "-encoded body could not be decoded: "
                        + RootCause.describe(e));
              }
              throw new IngestRefusal(
                  StatusCodes.BAD_REQUEST,
                  "invalid_body",
                  "The request body could not be read: " + RootCause.describe(e));
            });
  }

  /** A body already in memory: as is, or inflated here within {@code limit} bytes. */
  private static CompletionStage<byte[]> strictBody(ByteString data, String encoding, long limit) {
    try {
      return CompletableFuture.completedFuture(
          switch (encoding) {
            case "", "identity" -> data.toArray();
            case "gzip", "x-gzip" -> inflate(data, limit, true, encoding);
            case "deflate" -> inflate(data, limit, false, encoding);
            default -> throw unsupportedEncoding(encoding);
          });
    } catch (IngestRefusal e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /**
   * Inflates a gzip or zlib body, refusing as soon as more than {@code limit} bytes come out (a
   * bomb is never inflated whole).
   */
  private static byte[] inflate(ByteString data, long limit, boolean gzip, String encoding) {
    try (InputStream in =
        gzip
            ? new GZIPInputStream(data.iterator().asInputStream(), INFLATE_CHUNK)
            : new InflaterInputStream(data.iterator().asInputStream())) {
      ByteArrayOutputStream out = new ByteArrayOutputStream(Math.max(1024, data.size() * 4));
      byte[] chunk = new byte[INFLATE_CHUNK];
      for (int n = in.read(chunk); n >= 0; n = in.read(chunk)) {
        if (out.size() + (long) n > limit) throw tooLarge(limit);
        out.write(chunk, 0, n);
      }
      return out.toByteArray();
    } catch (IOException e) {
      throw new IngestRefusal(
          StatusCodes.BAD_REQUEST,
          "invalid_body",
          "The " + encoding + "-encoded body could not be decoded: " + RootCause.describe(e));
    }
  }

  private static IngestRefusal unsupportedEncoding(String encoding) {
    return new IngestRefusal(
        StatusCodes.UNSUPPORTED_MEDIA_TYPE,
        "unsupported_encoding",
        "Content-Encoding '" + encoding + "' is not accepted; send gzip, deflate or identity.");
  }

  private static IngestRefusal tooLarge(long limit) {
    return new IngestRefusal(
        StatusCodes.PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "The request body is larger than " + limit + " bytes (after decoding).");
  }

  /**
   * Makes one request's events and rejections durable in the connection's buffers; completes with
   * the number of events accepted, or fails with a 503 {@link IngestRefusal} when nothing was
   * acknowledged. An empty batch needs no journal write.
   */
  public CompletionStage<Integer> persist(Connection connection, IngestBatch batch) {
    if (batch.isEmpty()) return CompletableFuture.completedFuture(0);
    return gateway
        .accept(connection, batch)
        .thenApply(
            outcome -> {
              if (outcome instanceof IngestGateway.Accepted a) return a.events();
              if (outcome instanceof IngestGateway.TooLarge t) {
                throw new IngestRefusal(
                    StatusCodes.PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "The request's events take "
                        + t.bytes()
                        + " bytes once parsed, more than the "
                        + t.limit()
                        + " one request may journal; send them in "
                        + "smaller requests.");
              }
              if (outcome instanceof IngestGateway.Overloaded) {
                throw IngestRefusal.unavailable(
                    "overloaded",
                    "The buffers of this connection are full; retry after the "
                        + "Retry-After delay.",
                    settings.retryAfter().toSeconds());
              }
              log.warn(
                  "Journal write for connection {} not confirmed: {}",
                  connection.id(),
                  ((IngestGateway.Unavailable) outcome).reason());
              throw IngestRefusal.unavailable(
                  "journal_unavailable",
                  "The events could not be made durable in time; nothing was accepted, retry the request.",
                  settings.retryAfter().toSeconds());
            });
  }

  /** The refusal for a registry that could not be read (the connection's existence is unknown). */
  public IngestRefusal registryUnavailable(String what, Throwable error) {
    log.warn("Registry lookup of {} failed: {}", what, RootCause.describe(error));
    return IngestRefusal.unavailable(
        "registry_unavailable",
        "The connection registry is not reachable; retry " + "shortly.",
        settings.retryAfter().toSeconds());
  }

  /**
   * {@code work} (which may also throw), completed with its response or with the JSON error of its
   * failure.
   *
   * @param collector the route family, for the request counter ({@code webhook}, {@code segment},
   *     ...)
   */
  public Route respond(String collector, Supplier<CompletionStage<HttpResponse>> work) {
    return respond(collector, work, this::error);
  }

  /** As {@link #respond(String, Supplier)}, with the failure answered by {@code onError}. */
  public Route respond(
      String collector,
      Supplier<CompletionStage<HttpResponse>> work,
      Function<Throwable, HttpResponse> onError) {
    CompletionStage<HttpResponse> response;
    try {
      response = work.get();
    } catch (RuntimeException e) {
      response = CompletableFuture.failedFuture(e);
    }
    return onComplete(
        response.handle(
            (ok, failure) -> {
              HttpResponse r = failure == null ? ok : onError.apply(failure);
              metrics.increment(
                  "weir_ingest_requests_total",
                  1,
                  "collector",
                  collector,
                  "status",
                  Integer.toString(r.status().intValue()));
              return r;
            }),
        done -> complete(done.get()));
  }

  /**
   * {@code "rejected": [{"index", "code", "message"}, ...]}, the part of every collector's answer.
   */
  public static void rejected(ObjectNode into, List<Rejection> rejections) {
    ArrayNode array = into.putArray("rejected");
    for (Rejection r : rejections) {
      array.addObject().put("index", r.index()).put("code", r.code()).put("message", r.message());
    }
  }

  /** The JSON error answer of a failure. */
  public HttpResponse error(Throwable failure) {
    Throwable e = RootCause.of(failure);
    if (e instanceof IngestRefusal r) {
      HttpResponse answer =
          r.retryAfterSeconds() > 0
              ? ApiErrors.unavailable(r.code(), r.getMessage(), r.retryAfterSeconds())
              : ApiErrors.response(r.status(), r.code(), r.getMessage());
      return answer.addHeaders(r.headers());
    }
    if (e instanceof BodyException b)
      return ApiErrors.response(StatusCodes.BAD_REQUEST, b.code(), b.getMessage());
    log.error("Unhandled error while serving an ingestion request", e);
    return ApiErrors.response(
        StatusCodes.INTERNAL_SERVER_ERROR,
        "internal_error",
        "An internal error occurred; it has been logged.");
  }
}
