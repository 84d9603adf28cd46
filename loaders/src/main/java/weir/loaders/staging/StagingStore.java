package weir.loaders.staging;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Where staged files wait for loading and are archived (local filesystem, S3, GCS).
 *
 * <p>Lifecycle of a file: {@link #create} opens it under a temporary name (open → write), then
 * {@link StagedOutput#complete()} makes it visible under its final key atomically, or {@link
 * StagedOutput#abort()} discards it. A reader never sees a partial file under a final key.
 * Completing a key that already exists replaces it whole, so re-staging a batch is idempotent.
 *
 * <p>Threading: implementations are thread-safe; one {@link StagedOutput} is used by one thread.
 * All methods block: call them from a blocking dispatcher, never from an actor's default one.
 * {@link #close()} releases the store's clients once nobody uses it any more.
 */
public interface StagingStore extends AutoCloseable {

  /** Opens a new file that will be visible under {@code key} once completed. */
  StagedOutput create(String key) throws IOException;

  /** Keys of the complete files under {@code prefix} (a folder-like key prefix), sorted. */
  List<String> list(String prefix) throws IOException;

  /** Reads a complete file. */
  InputStream open(String key) throws IOException;

  /**
   * Whether a complete file is under {@code key}; fails (IOException) when the store cannot tell.
   */
  boolean exists(String key) throws IOException;

  /** The file as a local path, for loaders that read local files; empty for remote stores. */
  Optional<Path> localPath(String key);

  /** Deletes a complete file (no effect when it does not exist). */
  void delete(String key) throws IOException;

  /** A URI-like location of {@code key} for logs and status (never contains credentials). */
  String describe(String key);

  /** Releases the store's clients (no effect for stores that hold none). */
  @Override
  default void close() {}

  /** A file being written. */
  interface StagedOutput extends AutoCloseable {
    /** The stream to write the file's bytes to. Do not close it; call {@link #complete()}. */
    OutputStream stream();

    /**
     * Flushes, makes the file durable and visible under its key; returns its size in bytes. Call
     * once; on failure nothing is visible under the key that was not there before, and {@link
     * #abort()} cleans up.
     */
    long complete() throws IOException;

    /**
     * Discards the file. Safe to call after a failure, and after {@link #complete()} (no effect).
     */
    void abort();

    /** Aborts unless completed. */
    @Override
    default void close() {
      abort();
    }
  }
}
