package weir.loaders.datasync;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.sql.Connection;
import java.sql.DriverManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import weir.loaders.staging.fs.FilesystemStagingStore;
import weir.loaders.warehouse.WarehouseLoader;
import weir.loaders.warehouse.postgres.PostgresLoader;

/** Data Sync loading into a real PostgreSQL (embedded binaries from Maven). */
class PostgresDataSyncTest extends DataSyncLoadContract {
  private static EmbeddedPostgres pg;

  @BeforeAll
  static void start() throws Exception {
    pg = EmbeddedPostgres.builder().start();
  }

  @AfterAll
  static void stop() throws Exception {
    pg.close();
  }

  private static String url() {
    return "jdbc:postgresql://127.0.0.1:" + pg.getPort() + "/postgres";
  }

  @Override
  protected WarehouseLoader loader(FilesystemStagingStore staging) {
    return new PostgresLoader(url(), "postgres", "", "", staging);
  }

  @Override
  protected Connection connect() throws Exception {
    return DriverManager.getConnection(url(), "postgres", "");
  }
}
