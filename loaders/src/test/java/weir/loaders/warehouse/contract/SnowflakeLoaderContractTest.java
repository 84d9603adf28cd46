package weir.loaders.warehouse.contract;

import java.nio.file.Path;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import weir.loaders.warehouse.snowflake.SnowflakeLoader;
import weir.protocol.ColumnType;

/**
 * Snowflake by contract: the exact SQL the loader sends, compared with the reviewed expectation
 * {@code contracts/snowflake.sql}. No Snowflake is reachable here; this is the only verification.
 */
class SnowflakeLoaderContractTest {
  @Test
  void sendsTheRecordedSql(@TempDir Path root) throws Exception {
    RecordingDatabase db =
        new RecordingDatabase(
            sql ->
                WarehouseContract.answers(
                    sql,
                    Map.of("revenue", "NUMBER", "coupon", "TEXT"),
                    SnowflakeLoaderContractTest::dataType));
    SnowflakeLoader loader =
        new SnowflakeLoader(
            db::connect, WarehouseContract.s3Described(root), root.resolve("tmp"), "");
    WarehouseContract.check("snowflake.sql", loader, db.statements, root);
  }

  @Test
  void stagesEveryTableBeforeTheDeletionsOfADataSyncReplace(@TempDir Path root) throws Exception {
    RecordingDatabase db =
        new RecordingDatabase(
            sql -> WarehouseContract.replaceAnswers(sql, SnowflakeLoaderContractTest::dataType));
    SnowflakeLoader loader =
        new SnowflakeLoader(
            db::connect, WarehouseContract.s3Described(root), root.resolve("tmp"), "");
    WarehouseContract.checkReplace("snowflake-datasync.sql", loader, db.statements, root);
    // Snowflake commits at every DDL statement: none may come after the first deletion.
    int firstDelete = -1;
    for (int i = 0; i < db.statements.size(); i++) {
      if (db.statements.get(i).startsWith("DELETE")) {
        firstDelete = i;
        break;
      }
    }
    org.assertj.core.api.Assertions.assertThat(firstDelete).isPositive();
    org.assertj.core.api.Assertions.assertThat(
            db.statements.subList(firstDelete, db.statements.size()))
        .noneMatch(
            sql ->
                sql.startsWith("CREATE")
                    || sql.startsWith("DROP")
                    || sql.startsWith("ALTER")
                    || sql.startsWith("PUT"));
  }

  @Test
  void aRowSnowflakeRefusesBecomesADeadLetterAndTheOthersLoad(@TempDir Path root) throws Exception {
    RecordingDatabase db =
        new RecordingDatabase(
            sql -> WarehouseContract.answers(sql, Map.of(), SnowflakeLoaderContractTest::dataType));
    // COPY INTO after a PUT of a file holding the poison row fails as Snowflake reports a
    // conversion error.
    List<String> put = new ArrayList<>();
    db.failWith =
        sql -> {
          if (sql.startsWith("PUT 'file://"))
            put.add(sql.replaceFirst("^PUT 'file://([^']+)'.*$", "$1"));
          if (!sql.startsWith("COPY INTO")) return null;
          boolean poisoned =
              put.stream()
                  .anyMatch(
                      p ->
                          WarehouseContract.content(Path.of("/"), p.substring(1))
                              .contains("\"poison\""));
          put.clear();
          return poisoned
              ? new SQLException("Numeric value 'poison' is not recognized", "22018")
              : null;
        };
    SnowflakeLoader loader =
        new SnowflakeLoader(
            db::connect, WarehouseContract.s3Described(root), root.resolve("tmp"), "");
    WarehouseContract.checkDeadLetters("snowflake-dead-letters.sql", loader, db.statements, root);
  }

  /** How Snowflake's {@code information_schema.columns} names the types the loader creates. */
  private static String dataType(ColumnType type) {
    return switch (type) {
      case STRING -> "TEXT";
      case LONG -> "NUMBER";
      case DOUBLE -> "FLOAT";
      case BOOLEAN -> "BOOLEAN";
      case TIMESTAMP -> "TIMESTAMP_TZ";
      case JSON -> "VARIANT";
    };
  }
}
