package weir.loaders.testing;

import com.adobe.testing.s3mock.S3MockApplication;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * A real S3-compatible HTTP server in the test JVM (Adobe's S3Mock), on a free port, keeping its
 * files in a directory so that it can be stopped and started again on the same port with the same
 * contents.
 */
public final class S3TestServer implements AutoCloseable {
  private final Path root;
  private final String buckets;
  private S3MockApplication app;
  private int port;

  private S3TestServer(Path root, String buckets) {
    this.root = root;
    this.buckets = buckets;
  }

  /** Starts a server whose data lives in {@code root}, with {@code buckets} created. */
  public static S3TestServer start(Path root, String... buckets) {
    S3TestServer server = new S3TestServer(root, String.join(",", buckets));
    server.startOn(0);
    return server;
  }

  private void startOn(int httpPort) {
    // S3Mock's Spring Boot would reconfigure logging (and needs a newer logback than ours): leave
    // logging alone.
    System.setProperty("org.springframework.boot.logging.LoggingSystem", "none");
    app =
        S3MockApplication.start(
            new HashMap<>(
                Map.of(
                    S3MockApplication.PROP_HTTP_PORT,
                    httpPort,
                    S3MockApplication.PROP_HTTPS_PORT,
                    0,
                    S3MockApplication.PROP_INITIAL_BUCKETS,
                    buckets,
                    S3MockApplication.PROP_ROOT_DIRECTORY,
                    root.toAbsolutePath().toString(),
                    "com.adobe.testing.s3mock.domain.retain-files-on-exit",
                    true,
                    S3MockApplication.PROP_SILENT,
                    true)));
    port = app.getHttpPort();
  }

  /** {@code http://127.0.0.1:<port>} */
  public String endpoint() {
    return "http://127.0.0.1:" + port;
  }

  public int port() {
    return port;
  }

  /** Stops the server (connections are refused until {@link #restart()}). */
  public void stop() {
    if (app != null) app.stop();
    app = null;
  }

  /** Starts it again on the same port with the same data. */
  public void restart() {
    stop();
    startOn(port);
  }

  @Override
  public void close() {
    stop();
  }
}
