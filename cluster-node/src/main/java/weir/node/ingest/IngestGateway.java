package weir.node.ingest;

import java.util.concurrent.CompletionStage;
import weir.persistence.registry.Connection;

/**
 * What the ingest service calls to make one request's events durable: completes once they are in
 * the journal. Callers know nothing of entities; tests substitute an in-memory implementation.
 */
public interface IngestGateway {

  /** The outcome of one request. */
  sealed interface Outcome {}

  /** Every event and rejection of the request is durable; {@code events}: the accepted events. */
  record Accepted(int events) implements Outcome {}

  /** The buffers hold too much: nothing was accepted, the client should retry later. */
  record Overloaded() implements Outcome {}

  /** The request's rows are more than one journal event may hold: nothing is accepted (413). */
  record TooLarge(long bytes, long limit) implements Outcome {}

  /** The journal did not confirm in time, or failed: nothing is acknowledged. */
  record Unavailable(String reason) implements Outcome {}

  /**
   * Persists the events and the rejections of one request (each rejection is kept as a dead letter)
   * into one of the connection's buffer slots, all or nothing.
   */
  CompletionStage<Outcome> accept(Connection connection, IngestBatch batch);
}
