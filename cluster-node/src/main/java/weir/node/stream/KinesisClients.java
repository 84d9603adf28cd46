package weir.node.stream;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.client.config.ClientOverrideConfiguration;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kinesis.KinesisClient;
import software.amazon.awssdk.services.kinesis.KinesisClientBuilder;
import weir.persistence.registry.Connection;
import weir.persistence.secrets.SecretBox;

/**
 * The node's Kinesis clients, one per distinct set of connection settings ({@code region}, {@code
 * endpoint}, credentials), shared by that connection's shard readers and status requests. A PATCH
 * that changes them makes a new client (the old one is closed). The secret key is opened here, in
 * memory only; without {@code access_key_id} the SDK's default chain (environment, profile,
 * instance role) applies.
 */
public final class KinesisClients implements AutoCloseable {
  private final SecretBox secrets;
  private final Map<String, Entry> clients = new ConcurrentHashMap<>();

  private record Entry(List<String> settings, KinesisClient client) {}

  public KinesisClients(SecretBox secrets) {
    this.secrets = secrets;
  }

  /** The client for {@code c}'s current settings. */
  public KinesisClient client(Connection c) {
    List<String> settings =
        List.of(
            c.source().getOrDefault("region", ""),
            c.source().getOrDefault("endpoint", ""),
            c.source().getOrDefault("access_key_id", ""),
            c.source().getOrDefault("secret_access_key", ""));
    Entry e =
        clients.compute(
            c.id(),
            (id, old) -> {
              if (old != null && old.settings().equals(settings)) return old;
              if (old != null) old.client().close();
              return new Entry(settings, build(c));
            });
    return e.client();
  }

  private KinesisClient build(Connection c) {
    KinesisClientBuilder b =
        KinesisClient.builder()
            .httpClientBuilder(
                UrlConnectionHttpClient.builder()
                    .connectionTimeout(Duration.ofSeconds(10))
                    .socketTimeout(Duration.ofSeconds(30)))
            .overrideConfiguration(
                ClientOverrideConfiguration.builder()
                    .apiCallTimeout(Duration.ofSeconds(60))
                    .build())
            .region(Region.of(c.source().getOrDefault("region", "us-east-1")))
            .credentialsProvider(credentials(c));
    String endpoint = c.source().get("endpoint");
    if (endpoint != null && !endpoint.isBlank()) b.endpointOverride(URI.create(endpoint));
    return b.build();
  }

  private AwsCredentialsProvider credentials(Connection c) {
    String key = c.source().get("access_key_id");
    if (key == null || key.isBlank()) return DefaultCredentialsProvider.create();
    String secret = c.source().get("secret_access_key");
    return StaticCredentialsProvider.create(
        AwsBasicCredentials.create(key, secret == null ? "" : secrets.open(secret)));
  }

  /** Closes the client of a connection this node no longer reads. */
  public void forget(String connectionId) {
    Entry e = clients.remove(connectionId);
    if (e != null) e.client().close();
  }

  @Override
  public void close() {
    clients.values().forEach(e -> e.client().close());
    clients.clear();
  }
}
