package weir.persistence;

import java.sql.Connection;
import java.sql.SQLException;
import org.h2.engine.SessionLocal;
import org.h2.jdbc.JdbcConnection;
import org.h2.mvstore.MVStore;

/**
 * Moves the live pages of the journal file's emptiest chunks into new chunks, so that their space
 * is reused and the file stays near what is live.
 *
 * <p>Why: H2 appends every commit as a new chunk and reuses a chunk's space once none of its pages
 * is live ({@code RETENTION_TIME=0}: at once). Journal events are deleted after each snapshot
 * ({@link JournalRetention}), but a chunk written under load also holds pages that stay live a
 * while longer (other slots' events, index nodes), so many chunks stay a little live and none of
 * their space comes back: under 100-event batches the file grew to 320 MB with its chunks 35 %
 * live. H2 rewrites such chunks in its background writer, which exists only with a write delay; the
 * journal runs with {@code WRITE_DELAY=0} (a commit is on disk before the 200), so Weir does it
 * here.
 *
 * <p>It uses H2's store API ({@link MVStore#compact}, reached through the embedded session): H2 has
 * no SQL statement for online compaction, only {@code SHUTDOWN COMPACT}. H2's version is pinned in
 * the parent POM; {@code JournalCompactionTest} fails if a new version breaks this.
 */
final class H2Compaction {
  /** Compact when less than this share of the chunks' bytes is live. */
  static final int TARGET_FILL_RATE = 60;

  /** Bytes of live pages moved per round at most (a round holds H2's store lock). */
  static final int WRITE_PER_ROUND = 4 * 1024 * 1024;

  /** Rounds per call at most. */
  static final int MAX_ROUNDS = 8;

  private H2Compaction() {}

  /** What one call did. */
  record Result(int fillRateBefore, int fillRateAfter, int rounds, long fileBytes) {}

  /**
   * Compacts the store behind {@code connection} (an embedded H2 connection) until its chunks are
   * {@link #TARGET_FILL_RATE} % live or {@link #MAX_ROUNDS} rounds ran.
   */
  static Result compact(Connection connection) throws SQLException {
    MVStore store = store(connection);
    int before = store.getFileStore().getChunksFillRate();
    int rounds = 0;
    while (rounds < MAX_ROUNDS && store.compact(TARGET_FILL_RATE, WRITE_PER_ROUND)) rounds++;
    if (rounds > 0) store.commit(); // writes the moved pages; the old chunks are freed with it
    return new Result(
        before, store.getFileStore().getChunksFillRate(), rounds, store.getFileStore().size());
  }

  private static MVStore store(Connection connection) throws SQLException {
    JdbcConnection h2 = connection.unwrap(JdbcConnection.class);
    if (!(h2.getSession() instanceof SessionLocal session))
      throw new SQLException("not an embedded H2 connection: no store to compact");
    return session.getDatabase().getStore().getMvStore();
  }
}
