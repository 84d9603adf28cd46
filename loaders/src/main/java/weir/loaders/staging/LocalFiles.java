package weir.loaders.staging;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Staged files as local paths, for loaders that can only read local files (DuckDB without httpfs,
 * which needs a download and fails offline): a file of a local store is used where it is; a remote
 * one is copied into {@code tempDir} and deleted again on {@link #close()}.
 */
public final class LocalFiles implements AutoCloseable {
  private final StagingStore store;
  private final Path tempDir;
  private final List<Path> copies = new ArrayList<>();

  public LocalFiles(StagingStore store, Path tempDir) {
    this.store = store;
    this.tempDir = tempDir;
  }

  /**
   * The local path of {@code key}, keeping its file name's extension (readers pick the format from
   * it).
   */
  public Path path(String key) throws IOException {
    var local = store.localPath(key);
    if (local.isPresent()) return local.get();
    Files.createDirectories(tempDir);
    String name = key.substring(key.lastIndexOf('/') + 1);
    Path copy = Files.createTempFile(tempDir, "staged-", "-" + name);
    copies.add(copy);
    try (InputStream in = store.open(key)) {
      Files.copy(in, copy, StandardCopyOption.REPLACE_EXISTING);
    }
    return copy;
  }

  @Override
  public void close() {
    for (Path p : copies) {
      try {
        Files.deleteIfExists(p);
      } catch (IOException ignored) {
        // A leftover copy in the temp directory is harmless; the next start does not read it.
      }
    }
    copies.clear();
  }
}
