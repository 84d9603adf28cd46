package weir.persistence;

import java.io.IOException;
import java.nio.channels.FileChannel;
import org.h2.store.fs.FilePath;
import org.h2.store.fs.FilePathWrapper;

/**
 * H2 files opened for writing with {@code O_DSYNC} ({@code RandomAccessFile} mode {@code "rwd"}):
 * every write H2 makes returns only once its data is on the device, so a commit (one chunk write)
 * is on disk before H2 answers it, and a 200 for an event means it survives a power loss, not only
 * a killed process. H2 on its own never syncs a commit: with {@code WRITE_DELAY=0} it writes the
 * commit to the operating system and returns. URL prefix {@value #SCHEME}: (a wrapper around H2's
 * own disk files: a journal written without it opens with it, and the other way round).
 */
public final class SyncedFilePath extends FilePathWrapper {
  /** The URL prefix: {@code jdbc:h2:weirsync:/path/journal}. */
  public static final String SCHEME = "weirsync";

  private static volatile boolean registered;

  /** Makes the prefix known to H2 (once per JVM). */
  public static void register() {
    if (registered) return;
    synchronized (SyncedFilePath.class) {
      if (!registered) {
        FilePath.register(new SyncedFilePath());
        registered = true;
      }
    }
  }

  @Override
  public String getScheme() {
    return SCHEME;
  }

  @Override
  public FileChannel open(String mode) throws IOException {
    return getBase().open("rw".equals(mode) ? "rwd" : mode);
  }
}
