package weir.persistence;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The H2 journal's file holds about what is live, not what was ever written: the journal's own
 * pattern (events appended one commit at a time by several entities, the ones before each snapshot
 * deleted), on the journal's URL and, for contrast, on the same URL with H2's default retention of
 * dead chunks.
 */
class JournalCompactionTest {
  private static final int ENTITIES = 8;
  private static final int COMMITS = 6_000;
  private static final int LIVE_PER_ENTITY = 40;
  private static final int PAYLOAD = 4 * 1024;
  private static final long WRITTEN = (long) COMMITS * PAYLOAD; // ~24 MB of payloads
  private static final long LIVE = (long) ENTITIES * LIVE_PER_ENTITY * PAYLOAD; // ~1.3 MB

  @Test
  void theJournalFileStaysNearWhatIsLiveWhileEventsAreWrittenAndDeleted(@TempDir Path dir)
      throws Exception {
    JournalDatabase db = JournalDatabase.h2File(dir);
    assertThat(db.url()).contains("RETENTION_TIME=0");
    long size = churn(dir, db.url());
    assertThat(size).isLessThan(Math.max(8 * LIVE, 16L * 1024 * 1024)).isLessThan(WRITTEN);
  }

  @Test
  void withH2sDefaultRetentionTheSameWritesGrowTheFile(@TempDir Path dir) throws Exception {
    String url =
        JournalDatabase.h2File(dir).url().replace("RETENTION_TIME=0", "RETENTION_TIME=45000");
    assertThat(churn(dir, url)).isGreaterThan(WRITTEN);
  }

  /**
   * Under load a commit's chunk also holds pages that stay live (other entities' events that are
   * not deleted yet): chunks stay a little live and their space is never reused. {@link
   * H2Compaction} moves those pages out, so the file stays smaller than without it.
   */
  @Test
  void compactionGivesBackChunksThatStayALittleLive(@TempDir Path without, @TempDir Path with)
      throws Exception {
    long grown = churnWithLongLivedRows(without, false);
    long compacted = churnWithLongLivedRows(with, true);
    assertThat(compacted).isLessThan(grown * 2 / 3);
  }

  @Test
  void theJournalReopensWithEveryLiveEventAfterTheChurn(@TempDir Path dir) throws Exception {
    JournalDatabase db = JournalDatabase.h2File(dir);
    churn(dir, db.url());
    try (Connection c = DriverManager.getConnection(db.url(), db.user(), db.password());
        ResultSet rs =
            c.createStatement()
                .executeQuery(
                    "SELECT count(*), count(DISTINCT \"persistence_id\"),"
                        + " min(octet_length(\"event_payload\")) FROM \"event_journal\"")) {
      rs.next();
      assertThat(rs.getLong(1)).isEqualTo((long) ENTITIES * LIVE_PER_ENTITY);
      assertThat(rs.getLong(2)).isEqualTo(ENTITIES);
      assertThat(rs.getLong(3)).isEqualTo(PAYLOAD);
    }
  }

  /**
   * Each commit appends one large event that is deleted soon and one small event of a slow entity
   * that is kept; returns the file's size before it is closed.
   */
  private static long churnWithLongLivedRows(Path dir, boolean compact) throws Exception {
    JournalDatabase db = JournalDatabase.h2File(dir);
    JournalSchema.ensure(db);
    Random random = new Random(5);
    byte[] large = new byte[PAYLOAD];
    byte[] small = new byte[300];
    try (Connection c = DriverManager.getConnection(db.url(), db.user(), db.password());
        PreparedStatement insert =
            c.prepareStatement(
                "INSERT INTO \"event_journal\" (\"persistence_id\", \"sequence_number\", \"writer\","
                    + " \"write_timestamp\", \"adapter_manifest\", \"event_payload\", \"event_ser_id\","
                    + " \"event_ser_manifest\") VALUES (?, ?, 'w', 0, '', ?, 1, '')");
        PreparedStatement delete =
            c.prepareStatement(
                "DELETE FROM \"event_journal\" WHERE \"persistence_id\" = ? AND \"sequence_number\" < ?")) {
      c.setAutoCommit(false);
      for (int i = 1; i <= COMMITS; i++) {
        random.nextBytes(large);
        random.nextBytes(small);
        insert.setString(1, "fast");
        insert.setLong(2, i);
        insert.setBytes(3, large);
        insert.executeUpdate();
        insert.setString(1, "slow-" + (i % 50));
        insert.setLong(2, i);
        insert.setBytes(3, small);
        insert.executeUpdate();
        if (i % LIVE_PER_ENTITY == 0) {
          delete.setString(1, "fast");
          delete.setLong(2, i - LIVE_PER_ENTITY + 1);
          delete.executeUpdate();
        }
        c.commit();
        if (compact && i % 200 == 0) H2Compaction.compact(c);
      }
      return Files.size(dir.resolve("journal.mv.db"));
    }
  }

  /** Writes and deletes as the journal does; returns the file's size before it is closed. */
  private static long churn(Path dir, String url) throws Exception {
    JournalDatabase db = JournalDatabase.h2File(dir);
    JournalSchema.ensure(db);
    Random random = new Random(7);
    byte[] payload = new byte[PAYLOAD];
    long[] next = new long[ENTITIES];
    try (Connection c = DriverManager.getConnection(url, db.user(), db.password());
        PreparedStatement insert =
            c.prepareStatement(
                "INSERT INTO \"event_journal\" (\"persistence_id\", \"sequence_number\", \"writer\","
                    + " \"write_timestamp\", \"adapter_manifest\", \"event_payload\", \"event_ser_id\","
                    + " \"event_ser_manifest\") VALUES (?, ?, 'w', 0, '', ?, 1, '')");
        PreparedStatement delete =
            c.prepareStatement(
                "DELETE FROM \"event_journal\" WHERE \"persistence_id\" = ? AND \"sequence_number\" < ?")) {
      c.setAutoCommit(true);
      for (int i = 0; i < COMMITS; i++) {
        int entity = random.nextInt(ENTITIES);
        random.nextBytes(payload);
        insert.setString(1, "ConnectionBuffer|c-" + entity);
        insert.setLong(2, ++next[entity]);
        insert.setBytes(3, payload);
        insert.executeUpdate();
        if (next[entity] % LIVE_PER_ENTITY == 0) { // a snapshot: the events before it go
          delete.setString(1, "ConnectionBuffer|c-" + entity);
          delete.setLong(2, next[entity] - LIVE_PER_ENTITY + 1);
          delete.executeUpdate();
        }
      }
      // leave exactly LIVE_PER_ENTITY events per entity, for the reopen check
      for (int entity = 0; entity < ENTITIES; entity++) {
        while (next[entity] % LIVE_PER_ENTITY != 0) {
          insert.setString(1, "ConnectionBuffer|c-" + entity);
          insert.setLong(2, ++next[entity]);
          insert.setBytes(3, payload);
          insert.executeUpdate();
        }
        delete.setString(1, "ConnectionBuffer|c-" + entity);
        delete.setLong(2, next[entity] - LIVE_PER_ENTITY + 1);
        delete.executeUpdate();
      }
      return Files.size(dir.resolve("journal.mv.db"));
    }
  }
}
