package weir.loaders.staging.gcs;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.cloud.storage.Storage;
import com.google.cloud.storage.contrib.nio.testing.LocalStorageHelper;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import weir.loaders.staging.StagingStore;
import weir.loaders.staging.StagingStoreContract;

/**
 * GCS against Google's in-memory fake ({@code LocalStorageHelper}): this is the only verification
 * of the GCS store here (no real bucket is reachable).
 */
class GcsStagingStoreTest extends StagingStoreContract {
  private String bucket;

  @Override
  protected StagingStore store() {
    Storage storage = LocalStorageHelper.getOptions().getService();
    // The fake may be shared by the JVM: a bucket of its own keeps each test's store empty.
    bucket = "weir-" + UUID.randomUUID();
    return new GcsStagingStore(storage, bucket, "lake/prefix");
  }

  @Test
  void aFileOfManyUploadChunksIsReadBackWhole() throws Exception {
    StagingStore store = store();
    byte[] bytes = new byte[20 * 1024 * 1024];
    new Random(9).nextBytes(bytes);
    try (StagingStore.StagedOutput out = store.create("c/t/big.avro")) {
      for (int off = 0; off < bytes.length; off += 65_536) out.stream().write(bytes, off, 65_536);
      assertThat(out.complete()).isEqualTo(bytes.length);
    }
    try (var in = store.open("c/t/big.avro")) {
      assertThat(in.readAllBytes()).isEqualTo(bytes);
    }
    assertThat(store.describe("c/t/big.avro"))
        .isEqualTo("gs://" + bucket + "/lake/prefix/c/t/big.avro");
  }
}
