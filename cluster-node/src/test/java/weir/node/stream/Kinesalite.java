package weir.node.stream;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kinesis.KinesisClient;
import software.amazon.awssdk.services.kinesis.model.PutRecordsRequestEntry;
import software.amazon.awssdk.services.kinesis.model.PutRecordsResponse;
import software.amazon.awssdk.services.kinesis.model.Shard;
import software.amazon.awssdk.services.kinesis.model.StreamStatus;

/**
 * {@code kinesalite} (npm {@code kinesalite@3.3.3}, an implementation of the Kinesis API in
 * Node.js, in memory): installed by the first test that needs it into {@code
 * cluster-node/target/kinesalite} with {@code npm install} (nothing pre-installed but Node.js and
 * npm), started as a process on a free port, and spoken to with the unmodified AWS SDK v2 client.
 */
public final class Kinesalite implements AutoCloseable {
  public static final String VERSION = "3.3.3";
  public static final String ACCESS_KEY = "test-key";
  public static final String SECRET_KEY = "test-secret-key";
  public static final String REGION = "us-east-1";

  /**
   * kinesalite's CBOR answers do not parse in AWS SDK v2 ("Unexpected end-of-input in Object
   * value"): its clients, and the nodes under test, speak the JSON protocol ({@code
   * -Daws.cborEnabled=false}, as {@code AWS_CBOR_DISABLED=true} would).
   */
  public static final String JSON_PROTOCOL = "-Daws.cborEnabled=false";

  static {
    System.setProperty("aws.cborEnabled", "false");
  }

  private final Process process;
  private final String endpoint;
  private final KinesisClient client;

  private Kinesalite(Process process, String endpoint) {
    this.process = process;
    this.endpoint = endpoint;
    this.client =
        KinesisClient.builder()
            .httpClientBuilder(UrlConnectionHttpClient.builder())
            .region(Region.of(REGION))
            .endpointOverride(URI.create(endpoint))
            .credentialsProvider(
                StaticCredentialsProvider.create(
                    AwsBasicCredentials.create(ACCESS_KEY, SECRET_KEY)))
            .build();
  }

  /** Installs kinesalite if it is not yet, and starts it; its output goes to {@code log}. */
  public static Kinesalite start(Path log) throws Exception {
    Path cli = install();
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Process p =
        new ProcessBuilder(
                "node",
                cli.toString(),
                "--port",
                String.valueOf(port),
                "--shardLimit",
                "100",
                "--createStreamMs",
                "20",
                "--deleteStreamMs",
                "20",
                "--updateStreamMs",
                "20")
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      if (!p.isAlive())
        throw new IllegalStateException("kinesalite exited: " + Files.readString(log));
      if (Files.exists(log) && Files.readString(log).contains("Listening at")) break;
      if (System.nanoTime() > deadline) {
        p.destroyForcibly();
        throw new IllegalStateException("kinesalite did not start: " + Files.readString(log));
      }
      Thread.sleep(50);
    }
    return new Kinesalite(p, "http://127.0.0.1:" + port);
  }

  /** {@code target/kinesalite}, installed once (a file lock keeps two test JVMs from racing). */
  private static Path install() throws Exception {
    Path dir = Path.of("target", "kinesalite").toAbsolutePath();
    Path cli = dir.resolve("node_modules/kinesalite/cli.js");
    Files.createDirectories(dir);
    try (FileChannel lock =
            FileChannel.open(
                dir.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock held = lock.lock()) {
      if (Files.exists(cli)) return cli;
      Path out = dir.resolve("npm-install.log");
      Process npm =
          new ProcessBuilder(
                  "npm",
                  "install",
                  "--no-audit",
                  "--no-fund",
                  "--prefix",
                  dir.toString(),
                  "kinesalite@" + VERSION)
              .redirectErrorStream(true)
              .redirectOutput(out.toFile())
              .start();
      if (!npm.waitFor(5, TimeUnit.MINUTES) || npm.exitValue() != 0 || !Files.exists(cli))
        throw new IllegalStateException(
            "npm install kinesalite@" + VERSION + " failed: " + Files.readString(out));
      return cli;
    } catch (IOException e) {
      throw new IllegalStateException("installing kinesalite into " + dir + " failed", e);
    }
  }

  public String endpoint() {
    return endpoint;
  }

  public KinesisClient client() {
    return client;
  }

  /** Creates {@code stream} with {@code shards} shards and waits until it is active. */
  public void createStream(String stream, int shards) throws InterruptedException {
    client.createStream(b -> b.streamName(stream).shardCount(shards));
    awaitActive(stream);
  }

  public void awaitActive(String stream) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (client.describeStream(b -> b.streamName(stream)).streamDescription().streamStatus()
        != StreamStatus.ACTIVE) {
      if (System.nanoTime() > deadline)
        throw new IllegalStateException("stream " + stream + " did not become active");
      Thread.sleep(20);
    }
  }

  public List<Shard> shards(String stream) {
    return client.listShards(b -> b.streamName(stream)).shards();
  }

  /**
   * Puts {@code values} with partition keys {@code keys} (null: key {@code "k<i>"}), in calls of up
   * to 500, every one accepted.
   */
  public void put(String stream, List<String> keys, List<String> values) {
    putBytes(stream, keys, values.stream().map(v -> v.getBytes(StandardCharsets.UTF_8)).toList());
  }

  /** {@link #put}, of bytes (a KPL-aggregated record, for one). */
  public void putBytes(String stream, List<String> keys, List<byte[]> values) {
    for (int from = 0; from < values.size(); from += 500) {
      List<PutRecordsRequestEntry> entries = new ArrayList<>();
      for (int i = from; i < Math.min(values.size(), from + 500); i++)
        entries.add(
            PutRecordsRequestEntry.builder()
                .partitionKey(keys == null ? "k" + i : keys.get(i))
                .data(SdkBytes.fromByteArray(values.get(i)))
                .build());
      PutRecordsResponse r = client.putRecords(b -> b.streamName(stream).records(entries));
      if (r.failedRecordCount() != null && r.failedRecordCount() > 0)
        throw new IllegalStateException(r.failedRecordCount() + " records were refused");
    }
  }

  /**
   * Splits {@code shardId} in the middle of its hash key range and waits until the stream is active
   * again (the parent closed, two children open).
   */
  public void split(String stream, String shardId) throws InterruptedException {
    Shard s =
        shards(stream).stream().filter(x -> x.shardId().equals(shardId)).findFirst().orElseThrow();
    java.math.BigInteger start = new java.math.BigInteger(s.hashKeyRange().startingHashKey());
    java.math.BigInteger end = new java.math.BigInteger(s.hashKeyRange().endingHashKey());
    String middle = start.add(end).shiftRight(1).toString();
    client.splitShard(b -> b.streamName(stream).shardToSplit(shardId).newStartingHashKey(middle));
    awaitActive(stream);
  }

  @Override
  public void close() {
    client.close();
    process.destroy();
    try {
      if (!process.waitFor(Duration.ofSeconds(5).toMillis(), TimeUnit.MILLISECONDS))
        process.destroyForcibly();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
  }
}
