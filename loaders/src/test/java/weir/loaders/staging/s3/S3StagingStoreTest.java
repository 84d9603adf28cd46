package weir.loaders.staging.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import akka.actor.ActorSystem;
import akka.stream.alpakka.s3.ListBucketResultContents;
import akka.stream.alpakka.s3.ListMultipartUploadResultUploads;
import akka.stream.alpakka.s3.S3Attributes;
import akka.stream.alpakka.s3.javadsl.S3;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import weir.loaders.staging.StagingStore;
import weir.loaders.staging.StagingStoreContract;
import weir.loaders.testing.S3TestServer;

/** The S3 store through Alpakka S3 against a real S3-compatible server (S3Mock) in this JVM. */
class S3StagingStoreTest extends StagingStoreContract {
  static final String BUCKET = "weir-staging";

  @TempDir static Path dir;
  static S3TestServer server;
  static ActorSystem system;

  @BeforeAll
  static void start() {
    server = S3TestServer.start(dir.resolve("s3"), BUCKET);
    // As the node's weir-akka.conf: fail fast when the store is down.
    system =
        ActorSystem.create(
            "s3-store-test",
            ConfigFactory.parseString(
                    "akka.http.host-connection-pool { max-connection-backoff = 2 s, max-retries = 2 }")
                .withFallback(ConfigFactory.load()));
  }

  @AfterAll
  static void stop() throws Exception {
    system.terminate();
    system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    server.close();
  }

  static S3Location location(String prefix) {
    return new S3Location(
        BUCKET, prefix, "us-east-1", server.endpoint(), "test-key", "test-secret-value");
  }

  @Override
  protected StagingStore store() {
    return new S3StagingStore(location("p/" + UUID.randomUUID()), system);
  }

  private static <T> List<T> run(Source<T, ?> source, S3Location location) throws Exception {
    return source
        .withAttributes(S3Attributes.settings(S3StagingStore.settings(location, system)))
        .runWith(Sink.seq(), system)
        .toCompletableFuture()
        .get(30, TimeUnit.SECONDS);
  }

  private static List<ListMultipartUploadResultUploads> pendingUploads(S3Location location)
      throws Exception {
    return run(S3.listMultipartUpload(BUCKET, Optional.of(location.prefix())), location);
  }

  @Test
  void aLargeFileGoesUpInSeveralFiveMegabyteParts() throws Exception {
    S3Location location = location("p/" + UUID.randomUUID());
    S3StagingStore store = new S3StagingStore(location, system);
    byte[] bytes = randomBytes(13 * 1024 * 1024, 5);
    assertThat(write(store, "c/t/big.avro", bytes)).isEqualTo(bytes.length);

    List<ListBucketResultContents> objects =
        run(S3.listBucket(BUCKET, Optional.of(location.prefix())), location);
    assertThat(objects).hasSize(1);
    assertThat(objects.get(0).size()).isEqualTo(bytes.length);
    // A multipart object's ETag is "<md5 of the part md5s>-<number of parts>": 5 + 5 + 3 MB.
    assertThat(objects.get(0).eTag().replace("\"", "")).endsWith("-3");
    assertThat(sha256(read(store, "c/t/big.avro"))).isEqualTo(sha256(bytes));
    assertThat(store.describe("c/t/big.avro"))
        .isEqualTo("s3://" + BUCKET + "/" + location.prefix() + "/c/t/big.avro");
  }

  @Test
  void anAbortedUploadLeavesNoObjectAndNoParts() throws Exception {
    S3Location location = location("p/" + UUID.randomUUID());
    S3StagingStore store = new S3StagingStore(location, system);
    StagingStore.StagedOutput out = store.create("c/t/aborted.ndjson.gz");
    out.stream().write(randomBytes(11 * 1024 * 1024, 6));
    out.stream().flush();
    // Parts went up while writing; the object is not visible before completion.
    assertThat(store.list("c")).isEmpty();
    out.abort();
    assertThat(store.list("c")).isEmpty();
    assertThat(pendingUploads(location)).isEmpty();
  }

  @Test
  void aServerRestartMidUploadFailsTheFileAndTheRetrySucceeds(@TempDir Path own) throws Exception {
    try (S3TestServer restarting = S3TestServer.start(own.resolve("s3"), BUCKET)) {
      S3Location location =
          new S3Location(BUCKET, "r", "us-east-1", restarting.endpoint(), "k", "s");
      S3StagingStore store = new S3StagingStore(location, system);
      byte[] bytes = randomBytes(12 * 1024 * 1024, 7);

      StagingStore.StagedOutput out = store.create("c/t/f.ndjson.gz");
      out.stream().write(bytes, 0, 6 * 1024 * 1024);
      restarting.stop();
      IOException failure = null;
      try {
        out.stream().write(bytes, 6 * 1024 * 1024, bytes.length - 6 * 1024 * 1024);
        out.complete();
      } catch (IOException e) {
        failure = e;
      } finally {
        out.close();
      }
      assertThat(failure).as("an upload to a stopped server must fail, not complete").isNotNull();

      restarting.restart();
      assertThat(store.list("c"))
          .as("nothing under a final name after the failed upload")
          .isEmpty();
      assertThat(write(store, "c/t/f.ndjson.gz", bytes)).isEqualTo(bytes.length);
      assertThat(sha256(read(store, "c/t/f.ndjson.gz"))).isEqualTo(sha256(bytes));
    }
  }

  @Test
  void aMissingObjectIsAClearError() {
    S3StagingStore store = new S3StagingStore(location("p/" + UUID.randomUUID()), system);
    assertThatThrownBy(() -> store.open("c/t/none.ndjson.gz"))
        .isInstanceOf(NoSuchFileException.class)
        .hasMessageContaining("s3://" + BUCKET);
  }

  @Test
  void aStoppedServerIsAnIOExceptionNotAHang() throws Exception {
    S3Location nowhere = new S3Location(BUCKET, "x", "us-east-1", "http://127.0.0.1:1", "k", "s");
    S3StagingStore store = new S3StagingStore(nowhere, system);
    long start = System.nanoTime();
    assertThatThrownBy(() -> write(store, "c/t/f.ndjson", randomBytes(1000, 8)))
        .isInstanceOf(IOException.class);
    assertThatThrownBy(() -> store.list("c")).isInstanceOf(IOException.class);
    assertThat(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start)).isLessThan(60);
  }
}
