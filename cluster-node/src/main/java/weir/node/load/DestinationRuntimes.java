package weir.node.load;

import akka.actor.ClassicActorSystemProvider;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import weir.loaders.destination.DestinationContext;
import weir.loaders.destination.DestinationRuntime;
import weir.loaders.destination.DestinationType;
import weir.loaders.destination.DestinationTypes;
import weir.loaders.files.FileFormat;
import weir.loaders.lake.LakeDelivery;
import weir.loaders.staging.BatchFileWriter;
import weir.loaders.staging.StagedFile;
import weir.loaders.staging.StagingStore;
import weir.loaders.warehouse.WarehouseLoader;
import weir.node.ingest.BatchStager;
import weir.node.ingest.ConnectionBuffer;
import weir.node.ingest.RowCodec;
import weir.persistence.registry.Connection;
import weir.persistence.registry.Destination;
import weir.persistence.secrets.SecretBox;
import weir.protocol.DeadLetters;
import weir.protocol.StagedRow;
import weir.protocol.TableSpec;
import weir.protocol.event.EventTables;
import weir.protocol.webhook.WebhookParser;

/**
 * Builds, per destination, its staging store and warehouse loader from the registry entry, and runs
 * their blocking work on the given blocking executor. This is where the node turns a {@link
 * Destination} config into {@code loaders} objects; buffers and coordinators only see {@link
 * BatchStager} and {@link LoadCoordinator.BatchLoader}. A runtime rebuilt after its destination
 * changed (a PATCH) replaces the old one, which is closed (clients, drivers) once the work still
 * using it is done.
 */
public final class DestinationRuntimes {
  private static final Logger log = LoggerFactory.getLogger(DestinationRuntimes.class);

  /** How often a connection's staging archive is swept for files past their retention, at most. */
  private static final Duration SWEEP_INTERVAL = Duration.ofHours(1);

  /**
   * One destination, opened ({@link DestinationType#open}), closed when it is replaced and no work
   * uses it any more.
   *
   * @param retentionDays days staged files are kept after loading (-1: forever; 0: deleted once
   *     loaded)
   */
  private record Runtime(
      Destination destination,
      DestinationRuntime opened,
      int retentionDays,
      AtomicInteger users,
      AtomicBoolean retired) {

    StagingStore staging() {
      return opened.staging();
    }

    FileFormat format() {
      return opened.format();
    }

    WarehouseLoader loader() {
      return opened.loader();
    }

    /** Marks the runtime replaced; closes it now when nothing uses it. */
    void retire() {
      boolean close;
      synchronized (this) {
        retired.set(true);
        close = users.get() == 0;
      }
      if (close) closeNow();
    }

    void release() {
      boolean close;
      synchronized (this) {
        close = users.decrementAndGet() == 0 && retired.get();
      }
      if (close) closeNow();
    }

    private void closeNow() {
      opened.close();
      log.debug("Closed a runtime of destination {}", destination.id());
    }
  }

  private final Function<String, Optional<Destination>> destinations;
  private final DestinationTypes types;
  private final Executor blocking;
  private final SecretBox secrets;
  private final Path dataDir;
  private final ClassicActorSystemProvider system;
  private final long maxFileBytes;
  private final Map<String, Runtime> runtimes = new ConcurrentHashMap<>();
  private final Map<String, Long> retentionSweeps = new ConcurrentHashMap<>();

  /**
   * @param secrets opens the sealed secret settings of a destination when its loader is built
   * @param dataDir relative paths in destination settings are relative to it
   * @param system runs the S3 client's streams
   * @param maxFileBytes size at which a staged file is split into parts
   */
  public DestinationRuntimes(
      Function<String, Optional<Destination>> destinations,
      DestinationTypes types,
      Executor blocking,
      SecretBox secrets,
      Path dataDir,
      ClassicActorSystemProvider system,
      long maxFileBytes) {
    this.destinations = destinations;
    this.types = types;
    this.blocking = blocking;
    this.secrets = secrets;
    this.dataDir = dataDir;
    this.system = system;
    this.maxFileBytes = maxFileBytes;
  }

  /** Writes a buffer's batch to the staging store of the connection's destination. */
  public BatchStager stager() {
    return (connection, batchId, chunks) ->
        async(connection, runtime -> stage(runtime, connection, batchId, chunks));
  }

  /** Loads batches into the destination's warehouse. */
  public LoadCoordinator.BatchLoader loader() {
    return new LoadCoordinator.BatchLoader() {
      @Override
      public CompletionStage<LoadCoordinator.LoadOutcome> load(
          Connection connection, List<StagedBatch> batches) {
        return async(
            connection, runtime -> DestinationRuntimes.this.load(runtime, connection, batches));
      }

      @Override
      public CompletionStage<LoadCoordinator.LoadOutcome> reload(
          Connection connection, LoadCoordinator.ResyncRequest request) {
        return async(
            connection, runtime -> DestinationRuntimes.this.reload(runtime, connection, request));
      }
    };
  }

  /**
   * Runs {@code work} on the blocking executor with the staging stores of two destinations (for a
   * data lake: the store it delivers to), both held while it runs: a connection's archive and the
   * lake an export goes to.
   */
  public <T> CompletionStage<T> withStores(
      String firstDestinationId,
      String secondDestinationId,
      BiFunction<StagingStore, StagingStore, T> work) {
    return async(
        firstDestinationId,
        first ->
            held(secondDestinationId, second -> work.apply(first.staging(), second.staging())));
  }

  /**
   * Runs {@code work} on the blocking executor with a warehouse destination's staging store and
   * loader, held while it runs.
   */
  public <T> CompletionStage<T> withWarehouse(
      String destinationId, BiFunction<StagingStore, WarehouseLoader, T> work) {
    return async(
        destinationId,
        runtime -> {
          if (runtime.loader() == null)
            throw new IllegalStateException("destination " + destinationId + " is not a warehouse");
          return work.apply(runtime.staging(), runtime.loader());
        });
  }

  /**
   * Opens a store from a store object of the registry ({@code type} and that staging type's
   * settings, secret ones sealed), e.g. a {@code datasync} connection's source. The caller closes
   * it. Blocking.
   */
  public StagingStore openStore(String ownerId, Map<String, String> sealed) {
    String type = sealed.getOrDefault("type", "");
    return types
        .stagingType(type)
        .orElseThrow(
            () ->
                new IllegalStateException(
                    "store type '" + type + "' is not available on this node"))
        .open(
            DestinationTypes.openSecrets(sealed, types.stagingSecretFields(type), secrets::open),
            context(ownerId));
  }

  /**
   * Runs {@code work} on the blocking executor with the connection's destination runtime, held
   * while it runs.
   */
  private <T> CompletionStage<T> async(Connection connection, Function<Runtime, T> work) {
    return async(connection.destinationId(), work);
  }

  /** Runs {@code work} on the blocking executor with the destination's runtime held. */
  private <T> CompletionStage<T> async(String destinationId, Function<Runtime, T> work) {
    return CompletableFuture.supplyAsync(() -> held(destinationId, work), blocking);
  }

  /** {@code work} with the destination's runtime, held (not closed by a PATCH) while it runs. */
  private <T> T held(String destinationId, Function<Runtime, T> work) {
    Runtime runtime = acquire(destinationId);
    try {
      return work.apply(runtime);
    } finally {
      runtime.release();
    }
  }

  private LoadCoordinator.LoadOutcome reload(
      Runtime runtime, Connection connection, LoadCoordinator.ResyncRequest request) {
    LocalDate from = request.from() == null ? null : LocalDate.parse(request.from());
    LocalDate to = request.to() == null ? null : LocalDate.parse(request.to());
    Map<String, TableSpec> tables = new LinkedHashMap<>();
    Map<String, List<StagedFile>> byBatch = new TreeMap<>();
    try {
      List<String> wanted =
          request.tables().isEmpty()
              ? archivedTables(runtime.staging(), connection)
              : request.tables();
      for (String table : wanted) {
        tables.put(table, tableSpec(connection, table));
        BatchFileWriter.archivedBatches(runtime.staging(), connection.id(), table, from, to)
            .forEach(
                (batchId, files) ->
                    byBatch.computeIfAbsent(batchId, b -> new ArrayList<>()).addAll(files));
      }
      WarehouseLoader.LoadRequest load =
          new WarehouseLoader.LoadRequest(
              connection.schema(),
              tables,
              byBatch.entrySet().stream()
                  .map(e -> new WarehouseLoader.LoadBatch(e.getKey(), e.getValue()))
                  .toList());
      WarehouseLoader.LoadResult result =
          runtime.loader().reload(load, timestampColumn(connection), from, to);
      return new LoadCoordinator.LoadOutcome(
          result.loadedBatchIds(), result.totalRowsInserted(), result.rejectedRows());
    } catch (IOException e) {
      throw new UncheckedIOException("listing the staging archive failed: " + e.getMessage(), e);
    } catch (WarehouseLoader.LoadException e) {
      throw new CompletionException(e);
    }
  }

  /**
   * The column whose UTC day is a row's period: the one staged files are partitioned by (the event
   * time of tracking events, the arrival time of webhooks).
   */
  static String timestampColumn(Connection connection) {
    return "json".equals(connection.eventFormat()) ? "received_at" : "timestamp";
  }

  private StagedBatch.Written stage(
      Runtime runtime, Connection connection, String batchId, List<ConnectionBuffer.Chunk> chunks) {
    List<StagedRow> rows = new ArrayList<>();
    int events = 0;
    boolean tracking =
        "segment".equals(connection.eventFormat()) || "snowplow".equals(connection.eventFormat());
    for (ConnectionBuffer.Chunk chunk : chunks) {
      events += chunk.events();
      for (StagedRow row : RowCodec.decode(chunk.rows())) {
        rows.add(row);
        // Events are journaled as one row; the rows derived from it (per-event table, users) are
        // made here.
        if (tracking && !chunk.expanded()) rows.addAll(EventTables.expand(row));
      }
    }
    try {
      List<StagedFile> files =
          new BatchFileWriter(
                  runtime.staging(), runtime.format(), table -> tableSpec(connection, table))
              .write(connection.id(), batchId, rows);
      return new StagedBatch.Written(
          files.stream().map(StagedBatch.File::of).toList(), rows.size(), events);
    } catch (IOException e) {
      throw new UncheckedIOException("staging " + batchId + " failed: " + e.getMessage(), e);
    }
  }

  private LoadCoordinator.LoadOutcome load(
      Runtime runtime, Connection connection, List<StagedBatch> batches) {
    Map<String, TableSpec> specs = new LinkedHashMap<>();
    batches.forEach(
        b -> b.files().forEach(f -> specs.put(f.table(), tableSpec(connection, f.table()))));
    WarehouseLoader.LoadRequest request =
        new WarehouseLoader.LoadRequest(
            connection.schema(),
            specs,
            batches.stream()
                .map(b -> new WarehouseLoader.LoadBatch(b.batchId(), b.stagedFiles()))
                .toList());
    WarehouseLoader.LoadResult result;
    try {
      result = runtime.loader().load(request);
    } catch (WarehouseLoader.LoadException | RuntimeException e) {
      missingFile(runtime.staging(), batches)
          .ifPresent(
              failure -> {
                throw failure;
              });
      throw new CompletionException(e);
    }
    List<String> done = new ArrayList<>(result.loadedBatchIds());
    done.addAll(result.skippedBatchIds());
    applyRetention(runtime, connection, batches);
    return new LoadCoordinator.LoadOutcome(done, result.totalRowsInserted(), result.rejectedRows());
  }

  /**
   * After a failed load: the first batch with a staged file that is gone (deleted by hand, lost
   * with a disk), as a failure naming the batch and the file, so that the batch is set aside and
   * the others load. Empty when every file is there, or the store cannot tell (the original failure
   * stands then).
   */
  private static Optional<LoadCoordinator.BatchFailure> missingFile(
      StagingStore staging, List<StagedBatch> batches) {
    try {
      for (StagedBatch b : batches) {
        for (StagedBatch.File f : b.files()) {
          if (!staging.exists(f.key())) {
            return Optional.of(
                new LoadCoordinator.BatchFailure(
                    b.batchId(),
                    "batch "
                        + b.batchId()
                        + ": staged file "
                        + staging.describe(f.key())
                        + " is missing"));
          }
        }
      }
    } catch (IOException | RuntimeException e) {
      log.debug("Could not check the staged files after a failed load: {}", e.toString());
    }
    return Optional.empty();
  }

  /**
   * Deletes staged files the destination's retention no longer keeps, after a successful load. Only
   * files of batches the warehouse's {@code _weir_loads} records as loaded are ever deleted, judged
   * by when they were loaded, never by the event time of their partition: with 0 days, the files of
   * the batches just loaded; with N days, every archived file of the connection whose batch was
   * loaded more than N days ago (swept at most hourly). A failure here is logged and retried with a
   * later load; it never fails the load.
   */
  private void applyRetention(Runtime runtime, Connection connection, List<StagedBatch> batches) {
    if (runtime.retentionDays() < 0) return;
    try {
      if (runtime.retentionDays() == 0) {
        for (StagedBatch b : batches) {
          for (StagedBatch.File f : b.files()) runtime.staging().delete(f.key());
        }
        return;
      }
      Long last = retentionSweeps.get(connection.id());
      long now = System.currentTimeMillis();
      if (last != null && now - last < SWEEP_INTERVAL.toMillis()) return;
      Instant cutoff = Instant.ofEpochMilli(now).minus(Duration.ofDays(runtime.retentionDays()));
      Map<String, List<String>> keysByBatch = new TreeMap<>();
      for (String key : runtime.staging().list(connection.id())) {
        BatchFileWriter.batchIdOf(key)
            .ifPresent(id -> keysByBatch.computeIfAbsent(id, b -> new ArrayList<>()).add(key));
      }
      Map<String, Instant> loaded =
          runtime.loader().loadedAt(connection.schema(), keysByBatch.keySet());
      int deleted = 0;
      for (Map.Entry<String, List<String>> e : keysByBatch.entrySet()) {
        Instant at = loaded.get(e.getKey());
        if (at == null || !at.isBefore(cutoff)) continue;
        for (String key : e.getValue()) {
          runtime.staging().delete(key);
          deleted++;
        }
      }
      // Only a sweep that succeeded counts: a failed one is retried with the next load, not an hour
      // later.
      retentionSweeps.put(connection.id(), now);
      if (deleted > 0) {
        log.info(
            "Retention: deleted {} staged files of connection {} loaded more than {} days ago",
            deleted,
            connection.id(),
            runtime.retentionDays());
      }
    } catch (IOException | WarehouseLoader.LoadException | RuntimeException e) {
      log.warn(
          "Retention of staged files of connection {} failed (retried after a later load): {}",
          connection.id(),
          e.getMessage());
    }
  }

  /**
   * The spec of one table of a connection (webhook: its one table; tracking kinds: the event
   * tables).
   */
  public static TableSpec tableSpec(Connection connection, String table) {
    if (table.equals(DeadLetters.TABLE)) return DeadLetters.tableSpec();
    return switch (connection.kind()) {
      case webhook -> WebhookParser.tableSpec(table);
      case kafka, kinesis ->
          "json".equals(connection.eventFormat())
              ? WebhookParser.tableSpec(table)
              : EventTables.specFor(table);
      case segment, snowplow -> EventTables.specFor(table);
      case connector ->
          weir.protocol.connector.ConnectorTables.spec(
              table,
              connection.connector() == null
                  ? Map.of()
                  : connection.connector().tables().getOrDefault(table, Map.of()));
      case datasync ->
          throw new IllegalStateException("datasync connections load exports, not staged batches");
    };
  }

  /** The tables a connection has files for in the staging archive. */
  private static List<String> archivedTables(StagingStore staging, Connection connection)
      throws IOException {
    return staging.list(connection.id()).stream()
        .map(k -> k.split("/")[1])
        .filter(t -> !t.equals(LakeDelivery.MANIFESTS))
        .distinct()
        .sorted()
        .toList();
  }

  /**
   * The destination's runtime, held by the caller until {@link Runtime#release()}; rebuilt when its
   * registry entry changed (PATCH applies live), the old one retired.
   */
  private Runtime acquire(String destinationId) {
    Destination d =
        destinations
            .apply(destinationId)
            .orElseThrow(
                () ->
                    new IllegalStateException(
                        "destination " + destinationId + " is not in the registry cache"));
    Runtime[] replaced = new Runtime[1];
    Runtime runtime =
        runtimes.compute(
            destinationId,
            (id, current) -> {
              if (current != null && current.destination().equals(d)) {
                current.users().incrementAndGet();
                return current;
              }
              replaced[0] = current;
              Runtime fresh = build(d);
              fresh.users().incrementAndGet();
              return fresh;
            });
    if (replaced[0] != null) replaced[0].retire();
    return runtime;
  }

  /**
   * Closes every runtime (the node is stopping, after its drain): each once the work still using it
   * is done.
   */
  public void closeAll() {
    for (String id : List.copyOf(runtimes.keySet())) {
      Runtime r = runtimes.remove(id);
      if (r != null) r.retire();
    }
  }

  private DestinationContext context(String id) {
    return new DestinationContext() {
      @Override
      public String destinationId() {
        return id;
      }

      @Override
      public Path dataDir() {
        return dataDir;
      }

      @Override
      public long maxFileBytes() {
        return maxFileBytes;
      }

      @Override
      public ClassicActorSystemProvider system() {
        return system;
      }
    };
  }

  private Runtime build(Destination d) {
    DestinationType type = types.get(d.type());
    Map<String, String> config =
        DestinationTypes.openSecrets(d.config(), types.secretFields(d.type()), secrets::open);
    DestinationContext context = context(d.id());
    StagingStore staging = null;
    if (type.lakeStore() == null) {
      String stagingType = d.staging().getOrDefault("type", "filesystem");
      staging =
          types
              .stagingType(stagingType)
              .orElseThrow(
                  () ->
                      new IllegalStateException(
                          "staging type " + stagingType + " is not available on this node"))
              .open(
                  DestinationTypes.openSecrets(
                      d.staging(), types.stagingSecretFields(stagingType), secrets::open),
                  context);
    }
    try {
      return new Runtime(
          d,
          type.open(config, staging, context),
          type.retentionDays(config, d.staging()),
          new AtomicInteger(),
          new AtomicBoolean());
    } catch (RuntimeException e) {
      if (staging != null) staging.close();
      throw e;
    }
  }
}
