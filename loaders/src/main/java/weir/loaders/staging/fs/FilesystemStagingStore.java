package weir.loaders.staging.fs;

import java.io.BufferedOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;
import weir.loaders.staging.StagingStore;

/**
 * Staging on a local (or shared, mounted) filesystem under a root directory. A file is written as
 * {@code <key>.<uuid>.inprogress} next to its final place, fsynced, then atomically renamed to its
 * key; the directory is fsynced too, so a completed file survives a power loss.
 */
public final class FilesystemStagingStore implements StagingStore {
  private final Path root;

  public FilesystemStagingStore(Path root) {
    this.root = root.toAbsolutePath().normalize();
  }

  public Path root() {
    return root;
  }

  @Override
  public StagedOutput create(String key) throws IOException {
    Path target = resolve(key);
    Files.createDirectories(target.getParent());
    Path temp =
        target.resolveSibling(target.getFileName() + "." + UUID.randomUUID() + ".inprogress");
    FileChannel channel =
        FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    OutputStream stream = new BufferedOutputStream(Channels.newOutputStream(channel), 1 << 16);
    return new StagedOutput() {
      private boolean done;

      @Override
      public OutputStream stream() {
        return stream;
      }

      @Override
      public long complete() throws IOException {
        if (done) throw new IllegalStateException("already completed or aborted: " + target);
        stream.flush();
        long size = channel.size();
        channel.force(true);
        channel.close();
        try {
          Files.move(
              temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
          throw new IOException("The staging filesystem cannot rename atomically: " + root, e);
        }
        forceDirectory(target.getParent());
        done = true;
        return size;
      }

      @Override
      public void abort() {
        if (done) return;
        done = true;
        try {
          channel.close();
          Files.deleteIfExists(temp);
        } catch (IOException ignored) {
          // Best effort: an .inprogress file is never read by loaders.
        }
      }
    };
  }

  @Override
  public List<String> list(String prefix) throws IOException {
    Path dir = resolve(prefix);
    if (!Files.isDirectory(dir)) return List.of();
    try (Stream<Path> files = Files.walk(dir)) {
      return files
          .filter(Files::isRegularFile)
          .filter(p -> !p.getFileName().toString().endsWith(".inprogress"))
          .map(p -> root.relativize(p).toString().replace(File.separatorChar, '/'))
          .sorted()
          .toList();
    }
  }

  @Override
  public InputStream open(String key) throws IOException {
    return Files.newInputStream(resolve(key));
  }

  @Override
  public boolean exists(String key) {
    return Files.isRegularFile(resolve(key));
  }

  @Override
  public Optional<Path> localPath(String key) {
    return Optional.of(resolve(key));
  }

  @Override
  public void delete(String key) throws IOException {
    Files.deleteIfExists(resolve(key));
  }

  @Override
  public String describe(String key) {
    return resolve(key).toUri().toString();
  }

  private Path resolve(String key) {
    Path p = root.resolve(key).normalize();
    if (!p.startsWith(root))
      throw new IllegalArgumentException("Staging key escapes the root: " + key);
    return p;
  }

  private static void forceDirectory(Path dir) {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException ignored) {
      // Some filesystems do not allow fsync on directories; the rename itself is still atomic.
    }
  }
}
