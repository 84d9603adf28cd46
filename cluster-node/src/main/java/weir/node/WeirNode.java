package weir.node;

import akka.Done;
import akka.actor.CoordinatedShutdown;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.DispatcherSelector;
import akka.actor.typed.Props;
import akka.actor.typed.javadsl.Adapter;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.MemberStatus;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Join;
import akka.http.javadsl.server.Directives;
import akka.management.cluster.bootstrap.ClusterBootstrap;
import akka.management.javadsl.AkkaManagement;
import akka.stream.Materializer;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import weir.loaders.destination.DestinationTypes;
import weir.node.admin.AdminRoutes;
import weir.node.admin.AdminToken;
import weir.node.connector.ConnectorJarCache;
import weir.node.connector.ConnectorRunner;
import weir.node.connector.ConnectorSync;
import weir.node.datasync.DataSyncImport;
import weir.node.datasync.DataSyncImporter;
import weir.node.datasync.ExportFeed;
import weir.node.datasync.ExportRunner;
import weir.node.http.HttpServer;
import weir.node.ingest.BufferMemory;
import weir.node.ingest.ClusterTail;
import weir.node.ingest.ConnectionBuffer;
import weir.node.ingest.EventTail;
import weir.node.ingest.IngestService;
import weir.node.ingest.SegmentRoutes;
import weir.node.ingest.ShardedIngest;
import weir.node.ingest.SnowplowRoutes;
import weir.node.ingest.WebhookRoutes;
import weir.node.load.DestinationRuntimes;
import weir.node.load.LoadCoordinator;
import weir.node.metrics.ConnectionActivity;
import weir.node.metrics.NodeMetrics;
import weir.node.registry.ConnectionDirectory;
import weir.node.stream.KafkaSources;
import weir.node.stream.KinesisSources;
import weir.node.stream.StreamSources;
import weir.persistence.JournalDatabase;
import weir.persistence.JournalRetention;
import weir.persistence.JournalSchema;
import weir.persistence.connectors.ConnectorJars;
import weir.persistence.registry.Connection;
import weir.persistence.registry.ConnectionKind;
import weir.persistence.registry.Export;
import weir.persistence.registry.Registry;
import weir.persistence.secrets.SecretBox;

/**
 * Starts a Weir node: journal schema, actor system and cluster membership, sharded registry,
 * buffers and load coordinators, the ingest and admin HTTP servers, Akka Management, the demo
 * connection, and the shutdown tasks (SIGTERM: unbind, drain, flush every buffer, final load).
 */
public final class WeirNode {
  static {
    // Before a node starts anything, for embedded nodes (Main does it first thing).
    CommonPool.ensureParallelism();
  }

  private static final Logger log = LoggerFactory.getLogger(WeirNode.class);

  private final ActorSystem<Void> system;
  private final NodeSettings settings;
  private final ConnectionDirectory directory;
  private final NodeMetrics metrics = new NodeMetrics();
  private InetSocketAddress ingestAddress;
  private InetSocketAddress adminAddress;
  private DemoConnection.Demo demo;
  private String management;

  private final JournalRetention retention;
  private final ConnectorJars connectorJars;

  private WeirNode(
      ActorSystem<Void> system,
      NodeSettings settings,
      ConnectionDirectory directory,
      JournalRetention retention,
      ConnectorJars connectorJars) {
    this.system = system;
    this.settings = settings;
    this.directory = directory;
    this.retention = retention;
    this.connectorJars = connectorJars;
  }

  /**
   * Starts a node from {@code config} (application.conf with overrides); blocks until it serves.
   */
  public static WeirNode start(Config config) throws Exception {
    NodeSettings settings = NodeSettings.fromConfig(config);
    Files.createDirectories(settings.dataDir());
    JournalDatabase db =
        settings.mode() == NodeSettings.Mode.single
            ? JournalDatabase.h2File(settings.dataDir())
            : JournalDatabase.postgres(
                settings.postgresUrl(), settings.postgresUser(), settings.postgresPassword());
    JournalSchema.ensure(db);

    // The Akka settings that follow from weir.* are set here, so that an override of weir.*
    // (environment,
    // -D, or a test's config) always reaches them.
    Config akka =
        db.akkaConfig()
            .withValue(
                "akka.remote.artery.canonical.hostname",
                ConfigValueFactory.fromAnyRef(settings.hostname()))
            .withValue(
                "akka.remote.artery.canonical.port",
                ConfigValueFactory.fromAnyRef(settings.remotePort()))
            .withValue(
                "akka.management.http.hostname", ConfigValueFactory.fromAnyRef(settings.hostname()))
            .withValue(
                "akka.management.http.port",
                ConfigValueFactory.fromAnyRef(settings.managementPort()))
            .withValue(
                "akka.cluster.seed-nodes",
                ConfigValueFactory.fromIterable(
                    settings.seedNodes().stream()
                        .map(hostPort -> "akka://weir@" + hostPort)
                        .toList()))
            .withValue(
                "akka.management.cluster.bootstrap.contact-point-discovery.discovery-method",
                ConfigValueFactory.fromAnyRef(
                    settings.discovery().isEmpty() ? "akka-dns" : settings.discovery()))
            .withValue(
                "akka.management.cluster.bootstrap.contact-point-discovery.service-name",
                ConfigValueFactory.fromAnyRef(settings.serviceName()))
            .withValue(
                "akka.management.cluster.bootstrap.contact-point-discovery.required-contact-point-nr",
                ConfigValueFactory.fromAnyRef(settings.requiredContactPoints()))
            .withValue(
                "akka.discovery.kubernetes-api.pod-label-selector",
                ConfigValueFactory.fromAnyRef("app=%s"))
            // The drain (flush, final load) runs in service-stop: its phase lasts as long as the
            // drain may.
            .withValue(
                "akka.coordinated-shutdown.phases.service-stop.timeout",
                ConfigValueFactory.fromAnyRef((settings.drainTimeout().toSeconds() + 10) + " s"))
            .withValue(
                "akka.http.server.max-connections",
                ConfigValueFactory.fromAnyRef(settings.ingest().maxConnections()));
    ActorSystem<Void> system =
        ActorSystem.create(Behaviors.empty(), "weir", akka.withFallback(config));
    try {
      WeirNode node =
          new WeirNode(
              system,
              settings,
              new ConnectionDirectory(
                  system, settings.registryAskTimeout(), settings.registryMissRefreshInterval()),
              JournalRetention.jdbc(db),
              new ConnectorJars(db));
      node.boot();
      return node;
    } catch (Exception e) {
      system.terminate();
      throw e;
    }
  }

  /**
   * Loads {@code application.conf} with the environment overrides (the way {@link Main} starts).
   */
  public static Config defaultConfig() {
    return ConfigFactory.load();
  }

  /** {@code config} with one setting replaced (used by tests and the CLI). */
  public static Config with(Config config, String path, Object value) {
    return config.withValue(path, ConfigValueFactory.fromAnyRef(value));
  }

  private void boot() throws Exception {
    Cluster cluster = Cluster.get(system);
    if (settings.mode() == NodeSettings.Mode.single) {
      cluster.manager().tell(Join.create(cluster.selfMember().address()));
      awaitUp(cluster, Duration.ofSeconds(30));
    } else {
      // Management first: bootstrap needs its endpoints, and health probes should answer while
      // joining.
      management =
          AkkaManagement.get(system)
              .start()
              .toCompletableFuture()
              .get(30, TimeUnit.SECONDS)
              .toString();
      if (settings.seedNodes().isEmpty()) {
        log.info(
            "Forming or joining the cluster with Akka Cluster Bootstrap ({} discovery of '{}')",
            settings.discovery(),
            settings.serviceName());
        ClusterBootstrap.get(system).start();
      } else {
        log.info("Joining the cluster through seed nodes {}", settings.seedNodes());
      }
      awaitUp(cluster, Duration.ofSeconds(120));
    }

    SecretBox secrets =
        SecretBox.resolve(
            settings.masterKey(), settings.dataDir(), settings.mode() == NodeSettings.Mode.single);
    DestinationTypes types = DestinationTypes.load();
    log.info("Destination types: {}; staging types: {}", types.names(), types.stagingNames());
    Executor blocking =
        system.dispatchers().lookup(DispatcherSelector.fromConfig("weir-blocking-dispatcher"));
    DestinationRuntimes runtimes =
        new DestinationRuntimes(
            directory::destination,
            types,
            blocking,
            secrets,
            settings.dataDir(),
            system,
            settings.stagedFileMaxBytes());
    ClusterSharding sharding = ClusterSharding.get(system);
    Registry.init(system);
    BufferMemory bufferMemory = BufferMemory.forHeap(settings.buffer());
    metrics.gauge(
        "weir_buffer_memory_bytes",
        "kind",
        () ->
            Map.of(
                "held", (double) bufferMemory.heldBytes(),
                "limit", (double) bufferMemory.limitBytes()));
    system
        .log()
        .info(
            "Buffers on this node hold at most {} MB of rows (weir.buffer.max-heap-share {} of the"
                + " heap); beyond, requests get 503",
            bufferMemory.limitBytes() >> 20,
            settings.buffer().maxHeapShare());
    ConnectionBuffer.init(
        system,
        settings.buffer(),
        directory::cached,
        runtimes.stager(),
        batch ->
            sharding
                .entityRefFor(LoadCoordinator.ENTITY_KEY, batch.destinationId())
                .<Done>askWithStatus(
                    r -> new LoadCoordinator.RecordBatch(batch, r),
                    settings.buffer().handoffTimeout()),
        retention,
        bufferMemory,
        metrics);
    LoadCoordinator.init(
        system,
        settings.load(),
        directory::cached,
        directory::destination,
        runtimes.loader(),
        retention,
        metrics);
    ExportRunner.sweepScratch(settings.datasync());
    ExportFeed.init(
        system,
        settings.datasync(),
        directory::cached,
        () -> directory.exports().values(),
        c ->
            directory
                .destination(c.destinationId())
                .map(d -> types.retentionDays(d.type(), d.config(), d.staging()))
                .orElse(-1),
        new ExportRunner(runtimes, settings.datasync(), settings.stagedFileMaxBytes()),
        retention);
    DataSyncImport.init(
        system,
        directory::cached,
        new DataSyncImporter(runtimes),
        settings.datasync().retry(),
        retention);
    EventTail tail = new EventTail();
    ShardedIngest gateway = new ShardedIngest(system, settings.ingest(), metrics, tail);
    ConnectionActivity activity = new ConnectionActivity(metrics, this::connectionDestinations);
    system
        .scheduler()
        .scheduleAtFixedRate(
            Duration.ofSeconds(5),
            Duration.ofSeconds(5),
            activity::sample,
            system.executionContext());
    com.typesafe.config.Config connectorConfig =
        system.settings().config().getConfig("weir.connectors");
    ConnectorSync.init(
        system,
        directory::cached,
        new ConnectorRunner(
            new ConnectorJarCache(connectorJars, settings.dataDir().resolve("connectors")),
            secrets,
            gateway,
            directory,
            settings.registryAskTimeout()),
        system.dispatchers().lookup(DispatcherSelector.fromConfig("weir-connector-dispatcher")),
        new ConnectorSync.Settings(
            connectorConfig.getDuration("max-sync-duration"),
            settings.registryAskTimeout(),
            Backoff.fromConfig(connectorConfig.getConfig("backoff"))),
        retention);

    directory
        .refresh()
        .toCompletableFuture()
        .get(settings.registryAskTimeout().toSeconds() * 3, TimeUnit.SECONDS);
    directory.refreshEvery(settings.registryRefreshInterval());
    if (settings.mode() == NodeSettings.Mode.single) {
      demo =
          DemoConnection.ensureAll(directory, settings)
              .toCompletableFuture()
              .get(30, TimeUnit.SECONDS);
    }
    // Buffers holding unflushed events and coordinators with staged batches run after a restart, a
    // rebalance or a
    // member's loss without new traffic: sharding remembers the entities (remember-entities, in the
    // journal) and
    // starts them again. Entities of a data directory written before remember-entities was on are
    // not remembered
    // yet: one wake at start-up makes them run (and remembered from then on).
    wakeKnownEntities();
    system.systemActorOf(MemberEvents.create(), "weir-member-events", Props.empty());
    ClusterFigures.register(system, metrics);

    NodeDrain.register(system, settings.drainTimeout(), () -> directory.connections().values());
    system.getWhenTerminated().thenRun(retention::close);
    // After the drain (service-stop) has loaded what it could: release the loaders' drivers and
    // clients.
    CoordinatedShutdown.get(system)
        .addTask(
            CoordinatedShutdown.PhaseBeforeClusterShutdown(),
            "weir-close-destinations",
            () -> {
              runtimes.closeAll();
              return CompletableFuture.completedFuture(Done.getInstance());
            });

    // Kafka connections: this node's consumers, in each connection's group (see KafkaSources).
    KafkaSources kafka =
        new KafkaSources(
            system,
            gateway,
            secrets,
            system.dispatchers().lookup(DispatcherSelector.fromConfig("weir-stream-dispatcher")),
            () -> directory.connections().values(),
            metrics);
    kafka.followEvery(Duration.ofSeconds(2));
    // Kinesis connections: one reader per shard, under Cluster Sharding (see KinesisSources).
    KinesisSources kinesis =
        new KinesisSources(
            system,
            gateway,
            secrets,
            system.dispatchers().lookup(DispatcherSelector.fromConfig("weir-stream-dispatcher")),
            () -> directory.connections().values(),
            directory::cached,
            retention,
            settings.registryAskTimeout(),
            metrics);
    kinesis.followEvery(Duration.ofSeconds(2));
    AdminToken token = AdminToken.resolve(settings.adminToken(), settings.dataDir());
    IngestService ingest =
        new IngestService(gateway, settings.ingest(), Materializer.matFromSystem(system), metrics);
    WebhookRoutes webhooks = new WebhookRoutes(directory, ingest, secrets::open);
    SegmentRoutes segment = new SegmentRoutes(directory, ingest);
    SnowplowRoutes snowplow = new SnowplowRoutes(directory, ingest, metrics);
    AdminRoutes admin =
        new AdminRoutes(
            system,
            token,
            settings.metricsOpen(),
            metrics,
            directory,
            types,
            secrets,
            settings.stagingDir(),
            settings.localFilesystemStaging(),
            settings.registryAskTimeout(),
            settings.ingest().defaultSlots(),
            () -> "http://" + settings.hostname() + ":" + ingestAddress.getPort(),
            connectorJars,
            new StreamSources(kafka, kinesis),
            blocking,
            settings.dataDir().resolve("connectors-scratch"),
            ClusterTail.start(system, tail),
            activity);
    Duration drain = Duration.ofSeconds(5);
    ingestAddress =
        HttpServer.bind(
                system,
                settings.hostname(),
                settings.ingestPort(),
                Directives.concat(webhooks.route(), segment.route(), snowplow.route()),
                drain,
                settings.ingest().headerTimeout())
            .toCompletableFuture()
            .get(30, TimeUnit.SECONDS);
    adminAddress =
        HttpServer.bind(
                system,
                settings.hostname(),
                settings.adminPort(),
                admin.route(),
                drain,
                settings.ingest().headerTimeout())
            .toCompletableFuture()
            .get(30, TimeUnit.SECONDS);
    if (management == null) {
      management =
          AkkaManagement.get(system)
              .start()
              .toCompletableFuture()
              .get(30, TimeUnit.SECONDS)
              .toString();
    }

    ServingCheck.serving(Adapter.toClassic(system));
    log.info(
        "Weir node up ({} mode): ingest=http://{}:{} admin=http://{}:{} management={} remote={}",
        settings.mode(),
        settings.hostname(),
        ingestAddress.getPort(),
        settings.hostname(),
        adminAddress.getPort(),
        management,
        Cluster.get(system).selfMember().address());
    log.info("Admin token: {}; master key: {}", token.source(), secrets.source());
    int parallelism = CommonPool.parallelism();
    if (parallelism < 2) {
      log.warn(
          "The common ForkJoinPool has parallelism {}: every asynchronous completion starts a"
              + " thread; start the JVM with -D{}=2",
          parallelism,
          CommonPool.PARALLELISM);
    }
    if (demo != null) printDemo();
  }

  private void printDemo() {
    String base = "http://" + settings.hostname() + ":" + ingestAddress.getPort();
    String url = base + "/v1/webhooks/" + demo.webhook().id();
    System.out.println("Demo webhook: " + url);
    System.out.println(
        "Try it: curl -X POST "
            + url
            + " -H 'Content-Type: application/json' -d '{\"event\":\"signup\",\"user\":\"ada\"}'");
    System.out.println(
        "Rows land in "
            + settings.dataDir().resolve("warehouse.duckdb")
            + ", table demo.events, within "
            + demo.webhook().batchIntervalSeconds()
            + " s (batch interval) + "
            + demo.webhook().syncIntervalSeconds()
            + " s (sync interval).");
    System.out.println(
        "Demo Segment write key: "
            + demo.segment().writeKey()
            + " (endpoint "
            + base
            + ", tables in schema demo_segment)");
    System.out.println(
        "Demo Snowplow app_id: "
            + demo.snowplow().appId()
            + " (collector "
            + base
            + ", tables in schema demo_snowplow)");
    System.out.println(
        "Console: http://"
            + settings.hostname()
            + ":"
            + adminAddress.getPort()
            + "/console (log in with the admin token, "
            + settings.dataDir().resolve(AdminToken.FILE_NAME)
            + " unless WEIR_ADMIN_TOKEN is set)");
    System.out.flush();
  }

  /** Active connections → their destination (what {@link ConnectionActivity} samples). */
  private Map<String, String> connectionDestinations() {
    Map<String, String> out = new java.util.HashMap<>();
    for (Connection c : directory.connections().values())
      if (c.active()) out.put(c.id(), c.destinationId());
    return out;
  }

  /** Wakes every buffer slot and coordinator of the registry once (see {@link #boot}). */
  private void wakeKnownEntities() {
    ClusterSharding sharding = ClusterSharding.get(system);
    for (Connection c : directory.connections().values()) {
      if (c.kind() == ConnectionKind.datasync) {
        if (c.active())
          sharding.entityRefFor(DataSyncImport.ENTITY_KEY, c.id()).tell(new DataSyncImport.Wake());
        continue;
      }
      if (c.kind() == ConnectionKind.connector && c.active())
        sharding.entityRefFor(ConnectorSync.ENTITY_KEY, c.id()).tell(new ConnectorSync.Wake());
      for (int slot = 0; slot < c.slots(); slot++) {
        sharding
            .entityRefFor(ConnectionBuffer.ENTITY_KEY, c.slotEntityId(slot))
            .tell(new ConnectionBuffer.Wake());
      }
    }
    for (Export x : directory.exports().values()) {
      sharding.entityRefFor(ExportFeed.ENTITY_KEY, x.feedId()).tell(new ExportFeed.Wake());
    }
    for (String destinationId : directory.destinations().keySet()) {
      sharding
          .entityRefFor(LoadCoordinator.ENTITY_KEY, destinationId)
          .tell(new LoadCoordinator.Wake());
    }
  }

  private static void awaitUp(Cluster cluster, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (cluster.selfMember().status() != MemberStatus.up()) {
      if (System.nanoTime() > deadline)
        throw new IllegalStateException("The node did not join its cluster in " + timeout);
      Thread.sleep(20);
    }
  }

  public ActorSystem<Void> system() {
    return system;
  }

  public int ingestPort() {
    return ingestAddress.getPort();
  }

  public int adminPort() {
    return adminAddress.getPort();
  }

  public NodeMetrics metrics() {
    return metrics;
  }

  public ConnectionDirectory directory() {
    return directory;
  }

  /** Runs coordinated shutdown (flush, final load) and waits for the actor system to terminate. */
  public void stop(Duration timeout) throws Exception {
    CoordinatedShutdown.get(system)
        .runAll(CoordinatedShutdown.unknownReason())
        .toCompletableFuture()
        .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }
}
