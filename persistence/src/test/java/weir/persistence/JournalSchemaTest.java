package weir.persistence;

import static org.assertj.core.api.Assertions.assertThat;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JournalSchemaTest {

  @Test
  void h2SchemaIsCreatedAndReapplyingItIsHarmless(@TempDir Path dir) throws Exception {
    JournalDatabase db = JournalDatabase.h2File(dir);
    JournalSchema.ensure(db);
    JournalSchema.ensure(db);
    try (Connection c = DriverManager.getConnection(db.url(), db.user(), db.password())) {
      assertThat(tables(c, null))
          .contains("event_journal", "snapshot", "durable_state", "event_tag");
    }
  }

  @Test
  void postgresSchemaSurvivesSeveralNodesStartingAtOnce() throws Exception {
    try (EmbeddedPostgres pg = EmbeddedPostgres.builder().start()) {
      String url = pg.getJdbcUrl("postgres", "postgres");
      JournalDatabase db = JournalDatabase.postgres(url, "postgres", "");
      ExecutorService pool = Executors.newFixedThreadPool(3);
      try {
        List<Future<Object>> starts = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
          starts.add(
              pool.submit(
                  (Callable<Object>)
                      () -> {
                        JournalSchema.ensure(db);
                        return null;
                      }));
        }
        for (Future<Object> f : starts) f.get();
      } finally {
        pool.shutdown();
      }
      JournalSchema.ensure(db);
      try (Connection c = DriverManager.getConnection(url, "postgres", "")) {
        assertThat(tables(c, "public"))
            .contains("event_journal", "snapshot", "durable_state", "event_tag");
        try (ResultSet rs =
            c.createStatement()
                .executeQuery(
                    "SELECT count(*) FROM pg_indexes WHERE indexname IN ('event_journal_ordering_idx', 'state_tag_idx', "
                        + "'state_global_offset_idx')")) {
          rs.next();
          assertThat(rs.getInt(1)).isEqualTo(3);
        }
      }
    }
  }

  @Test
  void everyCreateStatementIsMadeIdempotent() {
    for (JournalDatabase.Dialect d : JournalDatabase.Dialect.values()) {
      assertThat(JournalSchema.statements(d))
          .filteredOn(s -> s.toUpperCase().startsWith("CREATE"))
          .isNotEmpty()
          .allSatisfy(
              s ->
                  assertThat(s.toUpperCase())
                      .contains("IF NOT EXISTS")
                      .doesNotContain("CONCURRENTLY"));
    }
  }

  private static List<String> tables(Connection c, String schema) throws Exception {
    List<String> out = new ArrayList<>();
    try (ResultSet rs = c.getMetaData().getTables(null, schema, "%", new String[] {"TABLE"})) {
      while (rs.next()) out.add(rs.getString("TABLE_NAME"));
    }
    return out;
  }
}
