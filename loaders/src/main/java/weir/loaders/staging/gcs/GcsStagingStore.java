package weir.loaders.staging.gcs;

import com.google.api.gax.paging.Page;
import com.google.auth.oauth2.ServiceAccountCredentials;
import com.google.cloud.WriteChannel;
import com.google.cloud.storage.Blob;
import com.google.cloud.storage.BlobId;
import com.google.cloud.storage.BlobInfo;
import com.google.cloud.storage.Storage;
import com.google.cloud.storage.StorageException;
import com.google.cloud.storage.StorageOptions;
import java.io.BufferedOutputStream;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import weir.loaders.files.CountingOutputStream;
import weir.loaders.staging.StagingStore;

/**
 * Staging in a Google Cloud Storage bucket through Google's {@code google-cloud-storage} client.
 *
 * <p>A file is streamed into a resumable upload as it is written (the client sends it in chunks;
 * memory stays bounded) under a temporary name, {@code <key>.<uuid>.inprogress}; completing it
 * copies it to its final name on the server (a metadata-only rewrite within a bucket) and deletes
 * the temporary object. GCS itself creates an object only when its upload is finalized, but
 * emulators and Google's in-memory fake show it earlier: the temporary name keeps a partial file
 * from ever appearing under a final name on any of them, and listing skips temporary names. Keys
 * are {@code <prefix>/<key>}.
 */
public final class GcsStagingStore implements StagingStore {
  private static final int CHUNK_BYTES = 8 * 1024 * 1024;
  private static final String INPROGRESS = ".inprogress";

  private final Storage storage;
  private final String bucket;
  private final String prefix;

  /** A store on {@code storage} (tests pass {@code LocalStorageHelper}'s in-memory fake). */
  public GcsStagingStore(Storage storage, String bucket, String prefix) {
    this.storage = storage;
    this.bucket = bucket;
    this.prefix = prefix == null ? "" : prefix.replaceAll("^/+|/+$", "");
  }

  /**
   * A client for a bucket with a service account key.
   *
   * @param serviceAccountJson the service account's JSON key
   * @param endpoint a custom endpoint (e.g. a GCS emulator), or null for Google's
   */
  public static Storage client(String serviceAccountJson, String endpoint) throws IOException {
    StorageOptions.Builder options =
        StorageOptions.newBuilder()
            .setCredentials(
                ServiceAccountCredentials.fromStream(
                    new ByteArrayInputStream(serviceAccountJson.getBytes(StandardCharsets.UTF_8))));
    if (endpoint != null) options.setHost(endpoint);
    return options.build().getService();
  }

  @Override
  public StagedOutput create(String key) {
    BlobId target = BlobId.of(bucket, objectName(key));
    BlobId temp = BlobId.of(bucket, objectName(key) + "." + UUID.randomUUID() + INPROGRESS);
    WriteChannel channel = storage.writer(BlobInfo.newBuilder(temp).build());
    channel.setChunkSize(CHUNK_BYTES);
    OutputStream stream =
        new BufferedOutputStream(
            Channels.newOutputStream(
                new WritableByteChannel() {
                  @Override
                  public int write(ByteBuffer src) throws IOException {
                    try {
                      return channel.write(src);
                    } catch (StorageException e) {
                      throw new IOException(
                          "writing " + describe(key) + " failed: " + e.getMessage(), e);
                    }
                  }

                  @Override
                  public boolean isOpen() {
                    return channel.isOpen();
                  }

                  @Override
                  public void close() {
                    // Closing finalizes the object: only complete() does that.
                  }
                }),
            1 << 18);
    CountingOutputStream counting = new CountingOutputStream(stream);
    return new StagedOutput() {
      private boolean done;

      @Override
      public OutputStream stream() {
        return counting;
      }

      @Override
      public long complete() throws IOException {
        if (done) throw new IllegalStateException("already completed or aborted: " + describe(key));
        stream.flush();
        try {
          channel.close();
          storage.copy(Storage.CopyRequest.of(temp, target)).getResult();
        } catch (StorageException e) {
          throw new IOException("completing " + describe(key) + " failed: " + e.getMessage(), e);
        }
        done = true;
        deleteQuietly(temp);
        return counting.count();
      }

      @Override
      public void abort() {
        if (done) return;
        done = true;
        // An upload that was never finalized created no object (GCS expires the session); one that
        // was
        // finalized but not copied is removed.
        deleteQuietly(temp);
      }
    };
  }

  private void deleteQuietly(BlobId blob) {
    try {
      storage.delete(blob);
    } catch (StorageException ignored) {
      // A leftover temporary object is never listed or read; a bucket lifecycle rule can remove it.
    }
  }

  @Override
  public List<String> list(String prefix) throws IOException {
    String folder = prefix.isEmpty() || prefix.endsWith("/") ? prefix : prefix + "/";
    List<String> keys = new ArrayList<>();
    int strip = this.prefix.isEmpty() ? 0 : this.prefix.length() + 1;
    try {
      Page<Blob> page = storage.list(bucket, Storage.BlobListOption.prefix(objectName(folder)));
      for (Blob b : page.iterateAll()) {
        if (!b.getName().endsWith(INPROGRESS)) keys.add(b.getName().substring(strip));
      }
    } catch (StorageException e) {
      throw new IOException("listing " + describe(folder) + " failed: " + e.getMessage(), e);
    }
    keys.sort(null);
    return keys;
  }

  @Override
  public InputStream open(String key) throws IOException {
    try {
      Blob blob = storage.get(BlobId.of(bucket, objectName(key)));
      if (blob == null) throw new NoSuchFileException(describe(key));
      return Channels.newInputStream(blob.reader());
    } catch (StorageException e) {
      throw new IOException("reading " + describe(key) + " failed: " + e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    try {
      storage.close();
    } catch (Exception e) {
      // The client's transports are being shut down; nothing is left to release.
    }
  }

  @Override
  public boolean exists(String key) throws IOException {
    try {
      return storage.get(BlobId.of(bucket, objectName(key))) != null;
    } catch (StorageException e) {
      throw new IOException("reading " + describe(key) + " failed: " + e.getMessage(), e);
    }
  }

  @Override
  public Optional<Path> localPath(String key) {
    return Optional.empty();
  }

  @Override
  public void delete(String key) throws IOException {
    try {
      storage.delete(BlobId.of(bucket, objectName(key)));
    } catch (StorageException e) {
      throw new IOException("deleting " + describe(key) + " failed: " + e.getMessage(), e);
    }
  }

  @Override
  public String describe(String key) {
    return "gs://" + bucket + "/" + objectName(key);
  }

  private String objectName(String key) {
    return prefix.isEmpty() ? key : prefix + "/" + key;
  }
}
