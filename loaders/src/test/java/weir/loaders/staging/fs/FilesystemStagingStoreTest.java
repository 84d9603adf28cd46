package weir.loaders.staging.fs;

import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import weir.loaders.staging.StagingStore;
import weir.loaders.staging.StagingStoreContract;

class FilesystemStagingStoreTest extends StagingStoreContract {
  @TempDir Path root;

  @Override
  protected StagingStore store() {
    return new FilesystemStagingStore(root);
  }
}
