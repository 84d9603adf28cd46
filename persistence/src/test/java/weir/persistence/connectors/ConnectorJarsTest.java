package weir.persistence.connectors;

import static org.assertj.core.api.Assertions.assertThat;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import weir.persistence.JournalDatabase;
import weir.persistence.JournalSchema;

/** Connector jars stored in the journal database: H2 (single node) and PostgreSQL (cluster). */
class ConnectorJarsTest {
  private static void storesAndFinds(JournalDatabase db) throws Exception {
    ConnectorJars jars = new ConnectorJars(db);
    byte[] bytes = new byte[200_000];
    for (int i = 0; i < bytes.length; i++) bytes[i] = (byte) (i * 31);
    ConnectorJars.Stored first = jars.put(bytes, List.of("a.B", "a.C"));
    assertThat(first.created()).isTrue();
    assertThat(first.jar().id()).isEqualTo(ConnectorJars.idOf(bytes)).hasSize(64);
    ConnectorJars.Stored again = jars.put(bytes, List.of("a.B", "a.C"));
    assertThat(again.created()).isFalse();
    assertThat(again.jar().classes()).containsExactly("a.B", "a.C");
    // Another node (another store over the same database) reads it.
    ConnectorJars other = new ConnectorJars(db);
    assertThat(other.bytes(first.jar().id()))
        .hasValueSatisfying(b -> assertThat(b).isEqualTo(bytes));
    assertThat(other.bytes("0".repeat(64))).isEmpty();
    jars.put("x".getBytes(StandardCharsets.UTF_8), List.of("x.Y"));
    assertThat(other.list())
        .extracting(ConnectorJars.Jar::id)
        .hasSize(2)
        .contains(first.jar().id());
  }

  @Test
  void storesJarsInTheH2Journal(@TempDir Path dir) throws Exception {
    JournalDatabase db = JournalDatabase.h2File(dir);
    JournalSchema.ensure(db);
    storesAndFinds(db);
  }

  @Test
  void storesJarsInThePostgresJournal() throws Exception {
    try (EmbeddedPostgres pg = EmbeddedPostgres.builder().start()) {
      JournalDatabase db =
          JournalDatabase.postgres(pg.getJdbcUrl("postgres", "postgres"), "postgres", "");
      JournalSchema.ensure(db);
      storesAndFinds(db);
    }
  }
}
