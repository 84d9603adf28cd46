package weir.node.ingest;

import java.util.List;
import java.util.concurrent.CompletionStage;
import weir.persistence.registry.Connection;
import weir.protocol.StagedRow;

/**
 * What ingestion routes call to make a request's rows durable: completes once they are in the journal.
 * The routes know nothing of entities; tests substitute an in-memory implementation.
 */
public interface IngestGateway {

  /** The outcome of one request. */
  sealed interface Outcome {}

  /** All rows are durable. */
  record Accepted(int count) implements Outcome {}

  /** The buffer holds too many events: the client should retry later. */
  record Overloaded() implements Outcome {}

  /** The journal did not confirm in time, or failed: nothing is acknowledged. */
  record Unavailable(String reason) implements Outcome {}

  /**
   * Persists the rows and dead letters of one request into one of the connection's buffer slots. {@code rows}
   * include one {@code _weir_dead_letters} row per dead letter (so that every rejection is loaded too);
   * {@code deadLetters} feed the counters and the recent list the management API shows.
   */
  CompletionStage<Outcome> accept(Connection connection, List<StagedRow> rows,
      List<ConnectionBuffer.DeadLetter> deadLetters);
}
