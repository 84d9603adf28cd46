package weir.node.connector;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import weir.node.ingest.IngestGateway;
import weir.node.ingest.JournalWrites;
import weir.node.registry.ConnectionDirectory;
import weir.persistence.registry.Connection;
import weir.persistence.registry.ConnectorSource;
import weir.persistence.registry.Registry;
import weir.persistence.secrets.SecretBox;
import weir.protocol.ColumnType;
import weir.protocol.Json;
import weir.protocol.StagedRow;
import weir.protocol.connector.ConnectorOps;
import weir.protocol.connector.ConnectorTables;
import weir.sdk.ConnectorException;
import weir.sdk.SourceConnector;
import weir.sdk.Table;

/**
 * Runs one sync attempt of a {@code connector} connection on the calling thread (a thread of the
 * connector dispatcher): the connector's {@code schema()} and {@code update()} with the state to
 * resume from, its operations ({@link ConnectorOps}) written into the connection's buffer (its one
 * slot, so they are staged and loaded in order) through the same {@link IngestGateway} as HTTP
 * events. Each write returns once the journal holds it, and waits while the buffers are full
 * (overloaded), so a connector never runs ahead of what the node can keep. Columns a sync sees for
 * the first time are made known to the registry before the rows that carry them are written.
 */
public final class ConnectorRunner {
  private static final Logger log = LoggerFactory.getLogger(ConnectorRunner.class);
  private static final int GROUP_ROWS = 500;

  /** Where a sync starts from. */
  public record Start(
      Map<String, Object> state,
      long epoch,
      Instant floor,
      Instant syncStart,
      boolean resyncAll,
      Set<String> resyncTables) {}

  /** What the entity does at a checkpoint: persists it; returns once it is. */
  public interface Checkpoints {
    void save(
        Map<String, Object> state,
        long epoch,
        Instant synced,
        Map<String, ConnectorOps.Counts> counts)
        throws Exception;
  }

  /** A finished sync. */
  public record Outcome(long epoch, Instant lastSynced, Map<String, ConnectorOps.Counts> counts) {}

  private final ConnectorJarCache jars;
  private final SecretBox secrets;
  private final IngestGateway gateway;
  private final ConnectionDirectory directory;
  private final Duration registryTimeout;

  public ConnectorRunner(
      ConnectorJarCache jars,
      SecretBox secrets,
      IngestGateway gateway,
      ConnectionDirectory directory,
      Duration registryTimeout) {
    this.jars = jars;
    this.secrets = secrets;
    this.gateway = gateway;
    this.directory = directory;
    this.registryTimeout = registryTimeout;
  }

  /**
   * Runs the sync to its end; throws what the connector threw, or {@link CancellationException}
   * when {@code cancelled} was set (or the thread interrupted).
   */
  public Outcome run(
      Connection connection,
      Start start,
      Checkpoints checkpoints,
      java.util.concurrent.atomic.AtomicBoolean cancelled)
      throws Exception {
    List<String> secretValues = new ArrayList<>();
    try {
      return withConnector(connection, start, checkpoints, cancelled, secretValues);
    } catch (CancellationException e) {
      throw e;
    } catch (Exception | LinkageError e) {
      // What a connector throws may quote its configuration (a URL with a token, a password):
      // the status and the log get the message with every configuration value masked.
      String message = scrub(describe(e), secretValues);
      if (!(e instanceof ConnectorException)) {
        ConnectorException logged = new ConnectorException(message);
        logged.setStackTrace(e.getStackTrace());
        log.warn("Connector connection {}: sync failed", connection.id(), logged);
      }
      throw new ConnectorException(message);
    }
  }

  private static String describe(Throwable e) {
    if (e instanceof ConnectorException && e.getMessage() != null) return e.getMessage();
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) root = root.getCause();
    String m = root.getMessage();
    return root.getClass().getSimpleName() + (m == null ? "" : ": " + m);
  }

  private static String scrub(String message, List<String> secrets) {
    String out = message;
    for (String v : secrets) if (v.length() >= 4) out = out.replace(v, "********");
    return out;
  }

  private Outcome withConnector(
      Connection connection,
      Start start,
      Checkpoints checkpoints,
      java.util.concurrent.atomic.AtomicBoolean cancelled,
      List<String> secretValues)
      throws Exception {
    ConnectorSource source = connection.connector();
    SourceConnector connector = jars.instantiate(source.jar(), source.className());
    // Libraries that find classes through the context loader (JDBC drivers, ServiceLoader) must
    // find the jar's.
    Thread thread = Thread.currentThread();
    ClassLoader before = thread.getContextClassLoader();
    thread.setContextClassLoader(connector.getClass().getClassLoader());
    try {
      return sync(connection, connector, start, checkpoints, cancelled, secretValues);
    } finally {
      thread.setContextClassLoader(before);
    }
  }

  private Outcome sync(
      Connection connection,
      SourceConnector connector,
      Start start,
      Checkpoints checkpoints,
      java.util.concurrent.atomic.AtomicBoolean cancelled,
      List<String> secretValues)
      throws Exception {
    ConnectorSource source = connection.connector();
    Map<String, String> configuration = new LinkedHashMap<>();
    source.configuration().forEach((k, v) -> configuration.put(k, secrets.open(v)));
    secretValues.addAll(configuration.values());
    List<Table> tables = connector.schema(Map.copyOf(configuration));
    if (tables == null || tables.isEmpty())
      throw new ConnectorException("schema() declares no table");
    byte[] salt = Base64.getDecoder().decode(secrets.open(source.salt()));
    Sink sink = new Sink(connection, checkpoints, cancelled);
    ConnectorOps ops =
        new ConnectorOps(
            tables,
            source.columns(),
            salt,
            source.tables(),
            start.epoch(),
            start.floor(),
            sink,
            GROUP_ROWS);
    sink.ops = ops;
    Map<String, Object> state = new LinkedHashMap<>(start.state());
    boolean resync = false;
    for (Table t : tables) {
      String name = ConnectorTables.name(t.name());
      if (start.resyncAll()
          || start.resyncTables().contains(name)
          || start.resyncTables().contains(t.name())) {
        // Per-table state lives under the table's name (the documented convention).
        state.remove(t.name());
        state.remove(name);
        ops.truncate(t.name());
        resync = true;
      }
    }
    if (start.resyncAll()) state.clear();
    // The truncates durable and the emptied state saved before anything else: a sync that fails
    // later starts from the emptied state, not the old one.
    if (resync) ops.checkpoint(state);
    connector.update(Map.copyOf(configuration), state, ops);
    if (cancelled.get()) throw new CancellationException("the sync was cancelled");
    ops.finish(start.syncStart());
    return new Outcome(ops.epoch(), ops.lastSynced(), ops.counts());
  }

  /** The connection's buffer, as a {@link ConnectorOps.Sink}. */
  private final class Sink implements ConnectorOps.Sink {
    private final Connection connection;
    private final Checkpoints checkpoints;
    private final java.util.concurrent.atomic.AtomicBoolean cancelled;
    private final JournalWrites journal;
    ConnectorOps ops;

    Sink(
        Connection connection,
        Checkpoints checkpoints,
        java.util.concurrent.atomic.AtomicBoolean cancelled) {
      this.connection = connection;
      this.checkpoints = checkpoints;
      this.cancelled = cancelled;
      this.journal = new JournalWrites(gateway, connection, cancelled::get);
    }

    @Override
    public void write(List<StagedRow> rows, Map<String, Map<String, ColumnType>> columns)
        throws Exception {
      checkCancelled();
      if (!columns.isEmpty()) {
        directory
            .<Connection>write(r -> new Registry.LearnConnectorColumns(connection.id(), columns, r))
            .toCompletableFuture()
            .get(registryTimeout.toMillis(), TimeUnit.MILLISECONDS);
      }
      if (!rows.isEmpty()) journal.write(rows);
    }

    @Override
    public void checkpoint(Map<String, Object> state, long epoch, Instant synced) throws Exception {
      checkCancelled();
      // Every row before this point is in the journal (each write waited for it).
      checkpoints.save(state, epoch, synced, ops.counts());
    }

    private void checkCancelled() {
      if (cancelled.get() || Thread.currentThread().isInterrupted())
        throw new CancellationException("the sync was cancelled");
    }
  }

  /** The JSON text of a state, as persisted. */
  public static String stateJson(Map<String, Object> state) {
    try {
      return Json.MAPPER.writeValueAsString(state);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A persisted state's map. */
  public static Map<String, Object> state(String json) {
    if (json == null || json.isBlank()) return Map.of();
    try {
      return Json.MAPPER.readValue(
          json, new com.fasterxml.jackson.core.type.TypeReference<Map<String, Object>>() {});
    } catch (java.io.IOException e) {
      throw new IllegalStateException("the saved connector state is not JSON: " + e.getMessage());
    }
  }
}
