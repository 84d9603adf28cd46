package weir.loaders.warehouse.contract;

import com.google.cloud.NoCredentials;
import com.google.cloud.bigquery.BigQuery;
import com.google.cloud.bigquery.BigQueryOptions;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import weir.loaders.warehouse.bigquery.BigQueryLoader;

/**
 * BigQuery by contract: the unmodified {@code google-cloud-bigquery} client talks to a local HTTP
 * server standing in for the BigQuery REST API; the calls it makes (tables, load jobs, uploads, the
 * transaction script, streaming inserts) are compared with the reviewed expectations in {@code
 * contracts/}. No BigQuery is reachable here; this is the only verification.
 */
class BigQueryLoaderContractTest {

  private static BigQuery client(BigQueryStandIn standIn) {
    return BigQueryOptions.newBuilder()
        .setProjectId("weir-project")
        .setHost(standIn.url())
        .setCredentials(NoCredentials.getInstance())
        .build()
        .getService();
  }

  @Test
  void uploadsStagedFilesAndMergesInOneTransactionScript(@TempDir Path root) throws Exception {
    try (BigQueryStandIn standIn = new BigQueryStandIn()) {
      BigQueryLoader loader =
          new BigQueryLoader(client(standIn), WarehouseContract.s3Described(root), "weir_", false);
      WarehouseContract.check("bigquery.txt", loader, standIn.calls, root);
    }
  }

  @Test
  void loadsStageTablesThenDeletesAndMergesADataSyncExportInOneTransactionScript(@TempDir Path root)
      throws Exception {
    try (BigQueryStandIn standIn = new BigQueryStandIn()) {
      BigQueryLoader loader =
          new BigQueryLoader(client(standIn), WarehouseContract.s3Described(root), "weir_", false);
      WarehouseContract.checkReplace("bigquery-datasync.txt", loader, standIn.calls, root);
    }
  }

  @Test
  void aRowBigQueryRefusesBecomesADeadLetterAndTheOthersLoad(@TempDir Path root) throws Exception {
    try (BigQueryStandIn standIn = new BigQueryStandIn()) {
      standIn.failUploadsContaining = "\"poison\"";
      BigQueryLoader loader =
          new BigQueryLoader(client(standIn), WarehouseContract.s3Described(root), "weir_", false);
      WarehouseContract.checkDeadLetters("bigquery-dead-letters.txt", loader, standIn.calls, root);
    }
  }

  @Test
  void loadsFromGcsUrisAndStreamsAppendTables(@TempDir Path root) throws Exception {
    try (BigQueryStandIn standIn = new BigQueryStandIn()) {
      BigQueryLoader loader =
          new BigQueryLoader(
              client(standIn),
              WarehouseContract.described(root, "gs://weir-staging/weir/"),
              "",
              true);
      WarehouseContract.check("bigquery-gcs-streaming.txt", loader, standIn.calls, root);
    }
  }
}
