package weir.loaders.warehouse.contract;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import weir.loaders.warehouse.snowflake.SnowflakeLoader;

/**
 * Snowflake by contract: the exact SQL the loader sends, compared with the reviewed expectation
 * {@code contracts/snowflake.sql}. No Snowflake is reachable here; this is the only verification.
 */
class SnowflakeLoaderContractTest {
  @Test
  void sendsTheRecordedSql(@TempDir Path root) throws Exception {
    RecordingDatabase db = new RecordingDatabase(sql -> WarehouseContract.answers(sql,
        Map.of("revenue", "NUMBER", "coupon", "TEXT")));
    SnowflakeLoader loader = new SnowflakeLoader(db::connect, WarehouseContract.s3Described(root),
        root.resolve("tmp"), "");
    WarehouseContract.check("snowflake.sql", loader, db.statements, root);
  }
}
