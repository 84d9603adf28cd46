package weir.node.ingest;

import akka.http.javadsl.model.HttpHeader;
import akka.http.javadsl.model.StatusCode;
import akka.http.javadsl.model.StatusCodes;
import java.util.ArrayList;
import java.util.List;
import weir.protocol.BodyException;

/**
 * A request refused as a whole, before or instead of accepting anything: its HTTP status, the
 * stable error code and the sentence of API.md's error body, and for 503s the {@code Retry-After}
 * seconds. {@link IngestService} turns it into the answer, in one place.
 */
public final class IngestRefusal extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final transient StatusCode status;
  private final String code;
  private final long retryAfterSeconds;
  private final transient List<HttpHeader> headers;

  public IngestRefusal(StatusCode status, String code, String message) {
    this(status, code, message, 0, List.of());
  }

  private IngestRefusal(
      StatusCode status,
      String code,
      String message,
      long retryAfterSeconds,
      List<HttpHeader> headers) {
    super(message, null, false, false);
    this.status = status;
    this.code = code;
    this.retryAfterSeconds = retryAfterSeconds;
    this.headers = List.copyOf(headers);
  }

  /** This refusal answered with {@code header} too (a {@code WWW-Authenticate} challenge, say). */
  public IngestRefusal with(HttpHeader header) {
    List<HttpHeader> more = new ArrayList<>(headers);
    more.add(header);
    return new IngestRefusal(status, code, getMessage(), retryAfterSeconds, more);
  }

  /** 503 with {@code Retry-After}: nothing was accepted, the same request may be sent again. */
  public static IngestRefusal unavailable(String code, String message, long retryAfterSeconds) {
    return new IngestRefusal(
        StatusCodes.SERVICE_UNAVAILABLE, code, message, Math.max(1, retryAfterSeconds), List.of());
  }

  /** 400 for a body nothing of which can be used. */
  public static IngestRefusal of(BodyException e) {
    return new IngestRefusal(StatusCodes.BAD_REQUEST, e.code(), e.getMessage());
  }

  public StatusCode status() {
    return status;
  }

  public String code() {
    return code;
  }

  /** Headers the answer carries besides the error body. */
  public List<HttpHeader> headers() {
    return headers;
  }

  /** Seconds of the {@code Retry-After} header; 0 for answers without one. */
  public long retryAfterSeconds() {
    return retryAfterSeconds;
  }
}
