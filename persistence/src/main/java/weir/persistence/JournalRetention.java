package weir.persistence;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deletes the journal events and snapshots that a saved snapshot made unnecessary.
 *
 * <p>Why this exists: Akka 2.8's typed persistence deletes events only after snapshots taken every
 * N events ({@code RetentionCriteria.snapshotEvery}); a snapshot taken on a predicate ({@code
 * shouldSnapshot}), which is when Weir's entities are small (a buffer right after a flush), deletes
 * nothing. Entities call {@link #deleteBefore} from their {@code SnapshotCompleted} signal; it
 * removes, in Akka Persistence JDBC's tables, the events of that persistence id before the
 * snapshot's sequence number and the older snapshots. The event at the snapshot's sequence number
 * stays, so the journal's highest sequence number never goes back; recovery reads the snapshot and
 * the events after it, as before.
 *
 * <p>On H2 the space the deleted events took is given back too: every {@link
 * Jdbc#COMPACTION_INTERVAL_SECONDS} seconds {@link H2Compaction} rewrites the emptiest chunks of
 * the journal file.
 *
 * <p>Threading: deletions and compactions run one at a time on a small queue of their own (never on
 * an actor's thread); a failure is logged and the next snapshot deletes the rest.
 */
public interface JournalRetention extends AutoCloseable {

  /**
   * Deletes events with sequence numbers below {@code sequenceNr}, and snapshots below it,
   * asynchronously.
   */
  void deleteBefore(String persistenceId, long sequenceNr);

  /**
   * Stops deleting and closes the connection (the node's actor system has terminated): the H2
   * database closes with its last connection, and compacts its file when it does.
   */
  @Override
  default void close() {}

  /** Keeps everything (tests with an in-memory journal). */
  static JournalRetention keepAll() {
    return (persistenceId, sequenceNr) -> {};
  }

  /** Deletion in {@code db}, the database behind the Akka Persistence JDBC journal. */
  static JournalRetention jdbc(JournalDatabase db) {
    return new Jdbc(db);
  }

  /**
   * {@link JournalRetention} on the JDBC journal's own tables ({@code event_journal}, {@code
   * snapshot}).
   */
  final class Jdbc implements JournalRetention {
    private static final Logger log = LoggerFactory.getLogger(JournalRetention.class);

    /**
     * Deletions waiting beyond this are dropped: the next snapshot of the same entity covers them.
     */
    private static final int MAX_QUEUED = 10_000;

    /** How often the H2 journal file is compacted. */
    static final int COMPACTION_INTERVAL_SECONDS = 2;

    private final JournalDatabase db;
    private final ExecutorService executor =
        new ThreadPoolExecutor(
            1,
            1,
            0,
            TimeUnit.MILLISECONDS,
            new LinkedBlockingQueue<>(MAX_QUEUED),
            r -> {
              Thread t = new Thread(r, "weir-journal-retention");
              t.setDaemon(true);
              return t;
            },
            new ThreadPoolExecutor.DiscardPolicy());
    private final ScheduledExecutorService compactionTimer;
    private Connection connection;

    Jdbc(JournalDatabase db) {
      this.db = db;
      if (db.dialect() == JournalDatabase.Dialect.H2) {
        ScheduledThreadPoolExecutor timer =
            new ScheduledThreadPoolExecutor(
                1,
                r -> {
                  Thread t = new Thread(r, "weir-journal-compaction");
                  t.setDaemon(true);
                  return t;
                });
        timer.scheduleWithFixedDelay(
            () -> executor.execute(this::compact),
            COMPACTION_INTERVAL_SECONDS,
            COMPACTION_INTERVAL_SECONDS,
            TimeUnit.SECONDS);
        compactionTimer = timer;
      } else {
        compactionTimer = null;
      }
    }

    @Override
    public void deleteBefore(String persistenceId, long sequenceNr) {
      executor.execute(
          () -> {
            try {
              delete(persistenceId, sequenceNr);
            } catch (SQLException e) {
              log.warn(
                  "Deleting journal events of {} before {} failed (the next snapshot retries): {}",
                  persistenceId,
                  sequenceNr,
                  e.getMessage());
              closeQuietly();
            }
          });
    }

    private void compact() {
      try {
        H2Compaction.Result r = H2Compaction.compact(connection());
        if (r.rounds() > 0 && log.isDebugEnabled())
          log.debug(
              "Compacted the journal: chunks {}% live before, {}% after ({} rounds), file {} bytes",
              r.fillRateBefore(), r.fillRateAfter(), r.rounds(), r.fileBytes());
      } catch (SQLException | RuntimeException e) {
        log.warn(
            "Compacting the journal file failed (retried in {} s): {}",
            COMPACTION_INTERVAL_SECONDS,
            e.toString());
        closeQuietly();
      }
    }

    private Connection connection() throws SQLException {
      if (connection == null || connection.isClosed()) {
        connection = DriverManager.getConnection(db.url(), db.user(), db.password());
        connection.setAutoCommit(true);
      }
      return connection;
    }

    // Quoted: the H2 DDL creates lower-case quoted names (PostgreSQL's are lower case either way).
    private void delete(String persistenceId, long sequenceNr) throws SQLException {
      Connection connection = connection();
      try (PreparedStatement events =
              connection.prepareStatement(
                  "DELETE FROM \"event_journal\" WHERE \"persistence_id\" = ? AND \"sequence_number\" < ?");
          PreparedStatement snapshots =
              connection.prepareStatement(
                  "DELETE FROM \"snapshot\" WHERE \"persistence_id\" = ? AND \"sequence_number\" < ?")) {
        events.setString(1, persistenceId);
        events.setLong(2, sequenceNr);
        int n = events.executeUpdate();
        snapshots.setString(1, persistenceId);
        snapshots.setLong(2, sequenceNr);
        snapshots.executeUpdate();
        if (log.isDebugEnabled())
          log.debug("Deleted {} journal events of {} before {}", n, persistenceId, sequenceNr);
      }
    }

    private void closeQuietly() {
      try {
        if (connection != null) connection.close();
      } catch (SQLException ignored) {
        // reopened on the next deletion
      }
      connection = null;
    }

    @Override
    public void close() {
      if (compactionTimer != null) compactionTimer.shutdownNow();
      executor.shutdown();
      try {
        executor.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      closeQuietly();
    }
  }
}
