package weir.node;

import com.typesafe.config.Config;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import weir.node.datasync.DataSyncSettings;
import weir.node.ingest.BufferSettings;
import weir.node.ingest.IngestSettings;
import weir.node.load.LoadSettings;

/**
 * The node's typed settings, read once from {@code weir.*} at start (see {@code reference.conf}).
 */
public record NodeSettings(
    Mode mode,
    Path dataDir,
    String hostname,
    int ingestPort,
    int adminPort,
    int managementPort,
    int remotePort,
    String adminToken,
    boolean metricsOpen,
    String masterKey,
    List<String> seedNodes,
    String discovery,
    String serviceName,
    int requiredContactPoints,
    Path stagingDir,
    boolean stagingShared,
    long stagedFileMaxBytes,
    String postgresUrl,
    String postgresUser,
    String postgresPassword,
    IngestSettings ingest,
    BufferSettings buffer,
    LoadSettings load,
    DataSyncSettings datasync,
    Duration registryAskTimeout,
    Duration registryRefreshInterval,
    Duration registryMissRefreshInterval,
    int demoBatchIntervalSeconds,
    int demoSyncIntervalSeconds,
    Duration drainTimeout) {

  /** Single node on embedded defaults, or one node of a cluster. */
  public enum Mode {
    single,
    cluster
  }

  /**
   * Whether destinations may stage on (or deliver to) this node's filesystem: always in single
   * mode; in cluster mode only when the staging directory is shared by every node
   * (WEIR_STAGING_SHARED). Otherwise they must use S3 or GCS.
   */
  public boolean localFilesystemStaging() {
    return mode == Mode.single || stagingShared;
  }

  public static NodeSettings fromConfig(Config config) {
    Config w = config.getConfig("weir");
    NodeSettings s =
        new NodeSettings(
            Mode.valueOf(w.getString("mode").trim().toLowerCase()),
            Path.of(w.getString("data-dir")).toAbsolutePath().normalize(),
            w.getString("hostname"),
            w.getInt("ports.ingest"),
            w.getInt("ports.admin"),
            w.getInt("ports.management"),
            w.getInt("ports.remote"),
            w.getString("admin.token"),
            w.getBoolean("admin.metrics-open"),
            w.getString("master-key"),
            Arrays.stream(w.getString("cluster.seed-nodes").split(","))
                .map(String::strip)
                .filter(x -> !x.isEmpty())
                .toList(),
            w.getString("cluster.discovery").strip(),
            w.getString("cluster.service-name"),
            w.getInt("cluster.required-contact-points"),
            w.getString("staging.path").isBlank()
                ? Path.of(w.getString("data-dir")).toAbsolutePath().normalize().resolve("staging")
                : Path.of(w.getString("staging.path")).toAbsolutePath().normalize(),
            w.getBoolean("staging.shared"),
            w.getBytes("staging.max-file-size"),
            w.getString("postgres.url"),
            w.getString("postgres.user"),
            w.getString("postgres.password"),
            IngestSettings.fromConfig(w),
            BufferSettings.fromConfig(w),
            LoadSettings.fromConfig(w),
            DataSyncSettings.fromConfig(
                w, Path.of(w.getString("data-dir")).toAbsolutePath().normalize(), "weir"),
            w.getDuration("registry.ask-timeout"),
            w.getDuration("registry.refresh-interval"),
            w.getDuration("registry.miss-refresh-interval"),
            w.getInt("demo.batch-interval-seconds"),
            w.getInt("demo.sync-interval-seconds"),
            w.getDuration("shutdown.drain-timeout"));
    s.validate();
    return s;
  }

  private void validate() {
    if (ingest.defaultSlots() < 1)
      throw new IllegalArgumentException("weir.ingest.default-slots must be >= 1");
    if (demoBatchIntervalSeconds < 1)
      throw new IllegalArgumentException("WEIR_DEMO_BATCH_INTERVAL_SECONDS must be >= 1");
    if (demoSyncIntervalSeconds < 1)
      throw new IllegalArgumentException("WEIR_DEMO_SYNC_INTERVAL_SECONDS must be >= 1");
    if (mode == Mode.cluster && postgresUrl.isBlank()) {
      throw new IllegalArgumentException(
          "Cluster mode needs a PostgreSQL journal: set WEIR_PG_URL.");
    }
    if (mode == Mode.cluster && adminToken.isBlank()) {
      throw new IllegalArgumentException(
          "Cluster mode needs an admin token: set WEIR_ADMIN_TOKEN.");
    }
    if (mode == Mode.cluster && masterKey.isBlank()) {
      throw new IllegalArgumentException(
          "Cluster mode needs a master key: set WEIR_MASTER_KEY (base64 of 32 bytes).");
    }
    if (mode == Mode.cluster && seedNodes.isEmpty() && !discovery.equals("kubernetes-api")) {
      throw new IllegalArgumentException(
          "Cluster mode needs WEIR_SEED_NODES (host:port of the nodes' remoting) or "
              + "WEIR_DISCOVERY=kubernetes-api (Akka Cluster Bootstrap).");
    }
    if (!discovery.isEmpty() && !discovery.equals("kubernetes-api")) {
      throw new IllegalArgumentException(
          "WEIR_DISCOVERY must be kubernetes-api (or empty); got '" + discovery + "'.");
    }
  }

  @Override
  public String toString() {
    return "NodeSettings[mode=" + mode + ", dataDir=" + dataDir + ", hostname=" + hostname + "]";
  }
}
