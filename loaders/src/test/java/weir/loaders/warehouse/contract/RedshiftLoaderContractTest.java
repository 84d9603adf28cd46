package weir.loaders.warehouse.contract;

import java.nio.file.Path;
import java.sql.SQLException;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import weir.loaders.warehouse.redshift.RedshiftLoader;
import weir.protocol.ColumnType;

/**
 * Redshift by contract: the exact SQL the loader sends, compared with the reviewed expectation
 * {@code contracts/redshift.sql}. No Redshift is reachable here; this is the only verification.
 */
class RedshiftLoaderContractTest {
  @Test
  void sendsTheRecordedSql(@TempDir Path root) throws Exception {
    RecordingDatabase db =
        new RecordingDatabase(
            sql ->
                WarehouseContract.answers(
                    sql,
                    Map.of("revenue", "bigint", "coupon", "character varying"),
                    RedshiftLoaderContractTest::dataType));
    RedshiftLoader loader =
        new RedshiftLoader(
            db::connect,
            WarehouseContract.s3Described(root),
            "arn:aws:iam::123456789012:role/weir-copy",
            "eu-west-1",
            "weir_");
    WarehouseContract.check("redshift.sql", loader, db.statements, root);
  }

  @Test
  void sendsTheRecordedSqlOfADataSyncReplace(@TempDir Path root) throws Exception {
    RecordingDatabase db =
        new RecordingDatabase(
            sql -> WarehouseContract.replaceAnswers(sql, RedshiftLoaderContractTest::dataType));
    RedshiftLoader loader =
        new RedshiftLoader(
            db::connect,
            WarehouseContract.s3Described(root),
            "arn:aws:iam::123456789012:role/weir-copy",
            "eu-west-1",
            "weir_");
    WarehouseContract.checkReplace("redshift-datasync.sql", loader, db.statements, root);
  }

  @Test
  void aRowRedshiftRefusesBecomesADeadLetterAndTheOthersLoad(@TempDir Path root) throws Exception {
    RecordingDatabase db =
        new RecordingDatabase(
            sql -> WarehouseContract.answers(sql, Map.of(), RedshiftLoaderContractTest::dataType));
    // COPY of a file holding the poison row fails as Redshift reports a load error.
    db.failWith =
        sql ->
            sql.startsWith("COPY ")
                    && WarehouseContract.content(
                            root,
                            sql.replaceFirst(
                                "^COPY \\S+ FROM 's3://weir-staging/weir/([^']+)'.*$", "$1"))
                        .contains("\"poison\"")
                ? new SQLException(
                    "Load into table '_weir_stage' failed.  Check 'stl_load_errors' system table for "
                        + "details.",
                    "XX000")
                : null;
    RedshiftLoader loader =
        new RedshiftLoader(
            db::connect,
            WarehouseContract.s3Described(root),
            "arn:aws:iam::123456789012:role/weir-copy",
            "eu-west-1",
            "weir_");
    WarehouseContract.checkDeadLetters("redshift-dead-letters.sql", loader, db.statements, root);
  }

  /** How Redshift's {@code information_schema.columns} names the types the loader creates. */
  private static String dataType(ColumnType type) {
    return switch (type) {
      case STRING -> "character varying";
      case LONG -> "bigint";
      case DOUBLE -> "double precision";
      case BOOLEAN -> "boolean";
      case TIMESTAMP -> "timestamp with time zone";
      case JSON -> "super";
    };
  }
}
