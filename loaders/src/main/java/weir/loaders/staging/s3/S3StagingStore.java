package weir.loaders.staging.s3;

import akka.Done;
import akka.actor.ClassicActorSystemProvider;
import akka.japi.Pair;
import akka.stream.Attributes;
import akka.stream.KillSwitches;
import akka.stream.UniqueKillSwitch;
import akka.stream.alpakka.s3.AccessStyle;
import akka.stream.alpakka.s3.ListBucketResultContents;
import akka.stream.alpakka.s3.ListMultipartUploadResultUploads;
import akka.stream.alpakka.s3.MultipartUploadResult;
import akka.stream.alpakka.s3.S3Attributes;
import akka.stream.alpakka.s3.S3Settings;
import akka.stream.alpakka.s3.javadsl.S3;
import akka.stream.javadsl.Keep;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.StreamConverters;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import weir.loaders.files.CountingOutputStream;
import weir.loaders.staging.StagingStore;

/**
 * Staging in an S3 bucket (or an S3-compatible store) through Alpakka S3.
 *
 * <p>A file is streamed into a multipart upload as it is written (parts of 5 MB, a few in flight:
 * memory stays bounded whatever the file's size); S3 makes the object visible only when the upload
 * completes, so a reader never sees a partial file. An aborted or failed upload is aborted on S3
 * too (its parts deleted). Keys are {@code <prefix>/<key>}.
 *
 * <p>Blocking, like every {@link StagingStore}: call from a blocking dispatcher.
 */
public final class S3StagingStore implements StagingStore {
  private static final Logger log = LoggerFactory.getLogger(S3StagingStore.class);

  /** How long a write may wait for S3 to take earlier parts, and completion for the last ones. */
  private static final Duration TIMEOUT = Duration.ofMinutes(5);

  /** How long a single request (list, metadata, delete) may take, retries included. */
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(60);

  /**
   * How long to try to abort an unfinished upload before leaving it to the bucket's lifecycle rule.
   */
  private static final Duration CLEANUP_TIMEOUT = Duration.ofSeconds(15);

  private final S3Location location;
  private final ClassicActorSystemProvider system;
  private final Attributes attributes;

  public S3StagingStore(S3Location location, ClassicActorSystemProvider system) {
    this.location = location;
    this.system = system;
    this.attributes = S3Attributes.settings(settings(location, system));
  }

  static S3Settings settings(S3Location location, ClassicActorSystemProvider system) {
    S3Settings s =
        S3Settings.create(system)
            .withS3RegionProvider(() -> Region.of(location.region()))
            .withCredentialsProvider(
                location.accessKeyId() == null
                    ? DefaultCredentialsProvider.create()
                    : StaticCredentialsProvider.create(
                        AwsBasicCredentials.create(
                            location.accessKeyId(), location.secretAccessKey())));
    if (location.endpoint() != null) {
      s = s.withEndpointUrl(location.endpoint()).withAccessStyle(AccessStyle.pathAccessStyle());
    }
    return s;
  }

  public S3Location location() {
    return location;
  }

  @Override
  public StagedOutput create(String key) {
    String objectKey = objectKey(key);
    Instant started = Instant.now();
    Pair<Pair<OutputStream, UniqueKillSwitch>, CompletionStage<MultipartUploadResult>> running =
        StreamConverters.asOutputStream(TIMEOUT)
            .viaMat(KillSwitches.single(), Keep.both())
            .toMat(
                S3.multipartUpload(location.bucket(), objectKey).withAttributes(attributes),
                Keep.both())
            .run(system);
    OutputStream stream = new BufferedOutputStream(running.first().first(), 1 << 18);
    UniqueKillSwitch kill = running.first().second();
    CompletionStage<MultipartUploadResult> result = running.second();
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
        stream.close();
        await(result, "completing the upload of " + describe(key), TIMEOUT);
        done = true;
        return counting.count();
      }

      @Override
      public void abort() {
        if (done) return;
        done = true;
        kill.abort(new IOException("upload aborted"));
        try {
          result.toCompletableFuture().get(CLEANUP_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        } catch (Exception expected) {
          // The upload failed, as asked; now remove its parts.
        }
        abortUploads(objectKey, started);
      }
    };
  }

  /**
   * Aborts the unfinished multipart uploads of {@code objectKey} started since {@code since} (minus
   * skew).
   */
  private void abortUploads(String objectKey, Instant since) {
    try {
      List<ListMultipartUploadResultUploads> uploads =
          await(
              S3.listMultipartUpload(location.bucket(), Optional.of(objectKey))
                  .withAttributes(attributes)
                  .runWith(Sink.seq(), system),
              "listing uploads of " + objectKey,
              CLEANUP_TIMEOUT);
      for (ListMultipartUploadResultUploads u : uploads) {
        if (!u.key().equals(objectKey) || u.initiated().isBefore(since.minusSeconds(60))) continue;
        await(
            S3.deleteUpload(location.bucket(), objectKey, u.uploadId(), system, attributes),
            "aborting upload " + u.uploadId(),
            CLEANUP_TIMEOUT);
      }
    } catch (IOException | RuntimeException e) {
      log.warn(
          "Could not abort the unfinished upload of {} (a bucket lifecycle rule for incomplete multipart"
              + " uploads removes it): {}",
          describe(objectKey),
          e.getMessage());
    }
  }

  @Override
  public List<String> list(String prefix) throws IOException {
    String folder = prefix.isEmpty() || prefix.endsWith("/") ? prefix : prefix + "/";
    List<ListBucketResultContents> contents =
        await(
            S3.listBucket(location.bucket(), Optional.of(objectKey(folder)))
                .withAttributes(attributes)
                .runWith(Sink.seq(), system),
            "listing " + describe(folder),
            REQUEST_TIMEOUT);
    int strip = location.prefix().isEmpty() ? 0 : location.prefix().length() + 1;
    return contents.stream().map(c -> c.key().substring(strip)).sorted().toList();
  }

  @Override
  public InputStream open(String key) throws IOException {
    // Fail here, not on the first read, when the object is missing or the store is down.
    Optional<?> meta =
        await(
            S3.getObjectMetadata(location.bucket(), objectKey(key))
                .withAttributes(attributes)
                .runWith(Sink.head(), system),
            "reading " + describe(key),
            REQUEST_TIMEOUT);
    if (meta.isEmpty()) throw new NoSuchFileException(describe(key));
    return S3.getObject(location.bucket(), objectKey(key))
        .withAttributes(attributes)
        .runWith(StreamConverters.asInputStream(TIMEOUT), system);
  }

  @Override
  public boolean exists(String key) throws IOException {
    return await(
            S3.getObjectMetadata(location.bucket(), objectKey(key))
                .withAttributes(attributes)
                .runWith(Sink.head(), system),
            "reading " + describe(key),
            REQUEST_TIMEOUT)
        .isPresent();
  }

  @Override
  public Optional<Path> localPath(String key) {
    return Optional.empty();
  }

  @Override
  public void delete(String key) throws IOException {
    Done ignored =
        await(
            S3.deleteObject(location.bucket(), objectKey(key))
                .withAttributes(attributes)
                .runWith(Sink.head(), system),
            "deleting " + describe(key),
            REQUEST_TIMEOUT);
  }

  @Override
  public String describe(String key) {
    return "s3://" + location.bucket() + "/" + objectKey(key);
  }

  private String objectKey(String key) {
    return location.prefix().isEmpty() ? key : location.prefix() + "/" + key;
  }

  private static <T> T await(CompletionStage<T> stage, String what, Duration timeout)
      throws IOException {
    try {
      return stage.toCompletableFuture().get(timeout.toSeconds(), TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException(what + " was interrupted");
    } catch (TimeoutException e) {
      throw new IOException(what + " timed out after " + timeout.toSeconds() + " s");
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      throw new IOException(what + " failed: " + cause.getMessage(), cause);
    }
  }
}
