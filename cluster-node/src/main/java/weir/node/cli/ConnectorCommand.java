package weir.node.cli;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Modifier;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.jar.JarFile;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import weir.loaders.staging.BatchFileWriter;
import weir.loaders.staging.StagedFile;
import weir.loaders.staging.fs.FilesystemStagingStore;
import weir.loaders.warehouse.WarehouseLoader;
import weir.loaders.warehouse.duckdb.DuckDbLoader;
import weir.node.connector.ConnectorClassLoader;
import weir.node.connector.ConnectorJarScanner;
import weir.protocol.BodyException;
import weir.protocol.ColumnType;
import weir.protocol.Json;
import weir.protocol.StagedRow;
import weir.protocol.TableSpec;
import weir.protocol.connector.ConnectorOps;
import weir.protocol.connector.ConnectorTables;
import weir.sdk.ConnectorException;
import weir.sdk.SourceConnector;
import weir.sdk.Table;

/**
 * {@code java -jar weir-node.jar connector debug|reset}: runs a Connector SDK connector on a
 * developer's machine, one sync per {@code debug}, with the cluster's semantics — the same {@link
 * ConnectorOps} turns its operations into merge rows, the same {@link BatchFileWriter} stages them
 * and the same {@link DuckDbLoader} merges them — into {@code <dir>/files/warehouse.duckdb} (schema
 * {@value #SCHEMA}), so that what a developer sees there is what a connection would load.
 *
 * <p>Files under {@code <dir>/files}: {@code warehouse.duckdb}, {@code staging/} (the staged
 * batches, kept as the cluster keeps its archive) and {@code state.json}: {@code {"state": ...,
 * "epoch": n, "last_synced": "<instant>", "columns": {table: {column: TYPE}}}}, plus {@code
 * "sync_started"} while a sync has not finished (a failed one, which the next run resumes: a {@code
 * SNAPSHOT} table keeps the rows sent since the first attempt's start). The state file is replaced
 * atomically at each checkpoint, after the rows before it are loaded, so a checkpoint means durable
 * in the warehouse; a connector that fails leaves it at its last checkpoint and the next {@code
 * debug} continues from there.
 */
@Command(
    name = "connector",
    description = {
      "Run a Connector SDK connector locally, one sync at a time, into DuckDB.",
      "Same semantics as a connection on the cluster; each run continues from the last one's state."
    },
    subcommands = {ConnectorCommand.Debug.class, ConnectorCommand.Reset.class},
    exitCodeListHeading = "%nExit status:%n",
    exitCodeList = {
      WeirNodeCommand.EXIT_OK,
      "1:the connector or the load failed (the state stays at the last checkpoint)",
      WeirNodeCommand.EXIT_USAGE + "; also a jar, class or file that cannot be used"
    })
final class ConnectorCommand implements Callable<Integer> {
  /** The warehouse schema the connector's tables load into. */
  static final String SCHEMA = "connector";

  /** The first path segment of the staged files (a connection id in the cluster). */
  private static final String CONNECTION = "connector";

  /** Rows per staged batch (and per load) between checkpoints, as the cluster groups them. */
  private static final int GROUP_ROWS = 500;

  /** A load that meets the DuckDB file locked by another process is retried this often. */
  private static final int LOAD_ATTEMPTS = 20;

  private static final long LOAD_RETRY_MILLIS = 250;

  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    throw new ParameterException(spec.commandLine(), "Missing verb.");
  }

  /** The files of the local runs under {@code <dir>/files}. */
  record Workspace(Path dir) {
    Path files() {
      return dir.resolve("files");
    }

    Path warehouse() {
      return files().resolve("warehouse.duckdb");
    }

    Path state() {
      return files().resolve("state.json");
    }

    Path staging() {
      return files().resolve("staging");
    }

    /** What {@code reset} deletes and names: the warehouse, the state, the staged batches. */
    List<Path> outputs() {
      return List.of(warehouse(), state(), staging());
    }

    /** What {@code reset} deletes besides: DuckDB's log, a half-written state, loader scratch. */
    List<Path> scratch() {
      return List.of(
          files().resolve("warehouse.duckdb.wal"),
          files().resolve("state.json.tmp"),
          files().resolve(".duckdb_staging"),
          files().resolve(".duckdb_extensions"));
    }
  }

  /** {@code connector debug --jar X.jar --class C [--configuration F] [--dir D] [--verbose]}. */
  @Command(
      name = "debug",
      description = {
        "Run one sync of a connector into a local DuckDB file; prints what it did.",
        "Rows go to DIR/files/warehouse.duckdb (schema " + SCHEMA + "); the sync continues from",
        "DIR/files/state.json and saves it at each checkpoint."
      })
  static final class Debug implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(
        names = "--jar",
        required = true,
        paramLabel = "JAR",
        description = "The connector's jar (with the libraries it needs).")
    Path jar;

    @Option(
        names = "--class",
        required = true,
        paramLabel = "CLASS",
        description = "The class implementing weir.sdk.SourceConnector, e.g. com.example.Orders.")
    String className;

    @Option(
        names = "--configuration",
        paramLabel = "FILE",
        description = "A JSON object of string values: the connection's settings. Default: {}.")
    Path configurationFile;

    @Option(
        names = "--dir",
        paramLabel = "DIR",
        description =
            "Where files/ (warehouse, state, staging) is. Default: the current directory.")
    Path dir;

    @Option(names = "--verbose", description = "On a failure, print the stack trace too.")
    boolean verbose;

    @Override
    public Integer call() throws CommandFailure {
      Workspace ws = new Workspace(dir == null ? Path.of("") : dir);
      Map<String, String> configuration = configuration(configurationFile);
      Saved saved = Saved.read(ws.state());
      checkJar(jar);
      try (ConnectorClassLoader loader = classLoader(jar)) {
        SourceConnector connector = instantiate(loader);
        Thread thread = Thread.currentThread();
        ClassLoader before = thread.getContextClassLoader();
        // Libraries that look up classes through the context loader must find the jar's.
        thread.setContextClassLoader(loader);
        try {
          return sync(ws, connector, configuration, saved);
        } finally {
          thread.setContextClassLoader(before);
        }
      } catch (IOException e) {
        throw CommandFailure.failed("Cannot read " + jar + ": " + e.getMessage());
      }
    }

    private int sync(
        Workspace ws, SourceConnector connector, Map<String, String> configuration, Saved saved)
        throws CommandFailure {
      PrintWriter out = spec.commandLine().getOut();
      List<Table> tables;
      try {
        tables = connector.schema(configuration);
      } catch (Exception | LinkageError e) {
        throw failure("schema() failed: " + describe(e), e);
      }
      if (tables == null || tables.isEmpty())
        throw CommandFailure.failed("The connector failed: schema() declares no table");
      // A failed run left its start: the resumed sync is the same sync (see the class comment).
      Instant syncStart = saved.syncStarted() != null ? saved.syncStarted() : Instant.now();
      try {
        Files.createDirectories(ws.files());
      } catch (IOException e) {
        throw CommandFailure.failed("Cannot create " + ws.files() + ": " + e.getMessage());
      }
      try (WarehouseLoader duckdb =
          new DuckDbLoader(ws.warehouse(), new FilesystemStagingStore(ws.staging()))) {
        Sink sink = new Sink(ws, duckdb, saved, syncStart);
        ConnectorOps ops;
        try {
          ops =
              new ConnectorOps(
                  tables,
                  Map.of(),
                  new byte[0],
                  saved.columns(),
                  saved.epoch(),
                  saved.lastSynced(),
                  sink,
                  GROUP_ROWS);
        } catch (ConnectorException e) {
          throw failure("schema() is not valid: " + e.getMessage(), e);
        }
        try {
          connector.update(configuration, saved.mutableState(), ops);
        } catch (Exception | LinkageError e) {
          report(out, ws, ops, ops.checkpoints(), sink);
          throw failure(failed(ws, sink, e, saved, ops), e);
        }
        int checkpoints = ops.checkpoints();
        try {
          ops.finish(syncStart);
          sink.finishing();
          ops.checkpoint(sink.state());
        } catch (Exception e) {
          report(out, ws, ops, checkpoints, sink);
          throw failure(failed(ws, sink, e, saved, ops), e);
        }
        report(out, ws, ops, checkpoints, sink);
        return 0;
      }
    }

    /** What a failed sync leaves: the cause, and where the next run continues from. */
    private static String failed(
        Workspace ws, Sink sink, Throwable e, Saved saved, ConnectorOps ops) {
      String cause =
          sink.failure != null
              ? "Loading into " + ws.warehouse() + " failed: " + sink.failure
              : "The connector failed: " + describe(e);
      String resume;
      if (sink.checkpointed)
        resume = ws.state() + " keeps this run's last checkpoint (number " + ops.epoch() + ")";
      else if (saved.exists()) resume = ws.state() + " is unchanged";
      else resume = "No checkpoint was saved";
      return cause
          + System.lineSeparator()
          + resume
          + "; the next 'connector debug' continues from there.";
    }

    private CommandFailure failure(String message, Throwable e) {
      if (!verbose) return CommandFailure.failed(message);
      // The frames from this command down are picocli's and ours: the trace ends at the connector.
      StackTraceElement[] frames = e.getStackTrace();
      int keep = frames.length;
      for (int i = 0; i < frames.length && keep == frames.length; i++) {
        if (frames[i].getClassName().startsWith(ConnectorCommand.class.getName())) keep = i;
      }
      e.setStackTrace(java.util.Arrays.copyOf(frames, keep));
      StringWriter trace = new StringWriter();
      e.printStackTrace(new PrintWriter(trace));
      return CommandFailure.failed(message + System.lineSeparator() + trace.toString().strip());
    }

    /** A connector's message as its users see it (the SDK's own exception: as it is). */
    private static String describe(Throwable e) {
      if (e instanceof ConnectorException) return e.getMessage();
      return e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
    }

    private static void report(
        PrintWriter out, Workspace ws, ConnectorOps ops, int checkpoints, Sink sink) {
      Map<String, ConnectorOps.Counts> counts = ops.counts();
      TextTable table = new TextTable("table", "upserts", "updates", "deletes", "truncates");
      List<String> names = new ArrayList<>(ops.tables());
      counts.keySet().stream().filter(t -> !names.contains(t)).forEach(names::add);
      for (String t : names) {
        ConnectorOps.Counts c = counts.getOrDefault(t, new ConnectorOps.Counts(0, 0, 0, 0));
        table.row(t, c.upserts(), c.updates(), c.deletes(), c.truncates());
      }
      table.print(out);
      out.println("Checkpoints: " + checkpoints);
      if (sink.rejectedRows > 0)
        out.println(
            "Rows DuckDB could not store: "
                + sink.rejectedRows
                + " (with the reason in "
                + SCHEMA
                + "._weir_dead_letters)");
      out.println("Warehouse:   " + ws.warehouse() + " (schema " + SCHEMA + ")");
      out.println("State:       " + ws.state());
      out.println("Query it:");
      String file = shellWord(ws.warehouse().toString());
      for (String t : names)
        out.println("  duckdb " + file + " \"SELECT * FROM " + SCHEMA + "." + t + "\"");
      out.flush();
    }

    private static String shellWord(String s) {
      if (s.matches("[A-Za-z0-9_./:@%+=,-]+")) return s;
      return "'" + s.replace("'", "'\\''") + "'";
    }

    private static void checkJar(Path jar) throws CommandFailure {
      if (!Files.isRegularFile(jar)) throw CommandFailure.misconfigured("No jar at " + jar + ".");
      try (JarFile ignored = new JarFile(jar.toFile())) {
        // readable as a jar
      } catch (IOException e) {
        throw CommandFailure.misconfigured(
            jar + " is not a readable jar (a zip of classes): " + e.getMessage());
      }
    }

    private static ConnectorClassLoader classLoader(Path jar) throws CommandFailure {
      try {
        return new ConnectorClassLoader(
            jar.toUri().toURL(), SourceConnector.class.getClassLoader());
      } catch (IOException e) {
        throw CommandFailure.misconfigured("Cannot use " + jar + ": " + e.getMessage());
      }
    }

    /** The {@code --class} from the jar (child-first), checked, then constructed. */
    private SourceConnector instantiate(ConnectorClassLoader loader) throws CommandFailure {
      Class<?> c;
      try {
        // Not initialized: no author code runs before the checks.
        c = Class.forName(className, false, loader);
      } catch (ClassNotFoundException e) {
        throw CommandFailure.misconfigured(
            "Class " + className + " is not in " + jar + ". " + connectorClasses());
      } catch (LinkageError e) {
        throw CommandFailure.misconfigured(
            "Class "
                + className
                + " cannot be loaded from "
                + jar
                + " ("
                + e
                + "); is a library it needs missing from the jar?");
      }
      if (c.getClassLoader() != loader)
        throw CommandFailure.misconfigured(
            "Class "
                + className
                + " is not in "
                + jar
                + " (only on Weir's classpath). "
                + connectorClasses());
      if (!SourceConnector.class.isAssignableFrom(c))
        throw CommandFailure.misconfigured(
            className + " does not implement weir.sdk.SourceConnector. " + connectorClasses());
      if (c.isInterface() || Modifier.isAbstract(c.getModifiers()))
        throw CommandFailure.misconfigured(
            className + " is abstract: name a concrete class. " + connectorClasses());
      try {
        return (SourceConnector) c.getConstructor().newInstance();
      } catch (NoSuchMethodException | IllegalAccessException e) {
        throw CommandFailure.misconfigured(
            className + " needs a public class with a public no-argument constructor.");
      } catch (InvocationTargetException e) {
        throw failure("The constructor of " + className + " failed: " + describe(e.getCause()), e);
      } catch (InstantiationException | LinkageError e) {
        throw failure("Cannot create " + className + ": " + e, e);
      }
    }

    /** The jar's connector classes, as the upload finds them. */
    private String connectorClasses() {
      try {
        List<String> found =
            ConnectorJarScanner.classes(
                Files.readAllBytes(jar), Path.of(System.getProperty("java.io.tmpdir")));
        return "Connector classes in the jar: " + String.join(", ", found) + ".";
      } catch (ConnectorJarScanner.InvalidJar e) {
        return e.getMessage();
      } catch (IOException e) {
        return "(Its connector classes cannot be listed: " + e.getMessage() + ")";
      }
    }

    /** The configuration file: a JSON object of string values. */
    private static Map<String, String> configuration(Path file) throws CommandFailure {
      if (file == null) return Map.of();
      JsonNode json;
      try {
        json = Json.parse(Files.readString(file, StandardCharsets.UTF_8), file.toString());
      } catch (NoSuchFileException e) {
        throw CommandFailure.misconfigured("No configuration file at " + file + ".");
      } catch (IOException e) {
        throw CommandFailure.misconfigured("Cannot read " + file + ": " + e.getMessage());
      } catch (BodyException e) {
        throw CommandFailure.misconfigured(e.getMessage());
      }
      if (!json.isObject())
        throw CommandFailure.misconfigured(
            file + " must be a JSON object of string values, not a JSON " + kind(json) + ".");
      Map<String, String> out = new LinkedHashMap<>();
      for (Iterator<Map.Entry<String, JsonNode>> it = json.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        // The value is not echoed: it may be a secret.
        if (!e.getValue().isTextual())
          throw CommandFailure.misconfigured(
              file
                  + ": the value of '"
                  + e.getKey()
                  + "' is a JSON "
                  + kind(e.getValue())
                  + "; a configuration holds strings only (write it in quotes).");
        out.put(e.getKey(), e.getValue().textValue());
      }
      return Map.copyOf(out);
    }

    private static String kind(JsonNode json) {
      return json.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /** {@code connector reset [--dir D]}: deletes the warehouse, the staging and the state. */
  @Command(
      name = "reset",
      description = {
        "Delete the local warehouse, state and staged files of 'connector debug'.",
        "That is DIR/files/warehouse.duckdb, DIR/files/state.json and DIR/files/staging:",
        "the next 'connector debug' starts from an empty state and an empty warehouse."
      })
  static final class Reset implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(
        names = "--dir",
        paramLabel = "DIR",
        description = "Where files/ is. Default: the current directory.")
    Path dir;

    @Override
    public Integer call() throws CommandFailure {
      Workspace ws = new Workspace(dir == null ? Path.of("") : dir);
      List<String> deleted = new ArrayList<>();
      try {
        for (Path p : ws.outputs()) {
          if (!Files.exists(p)) continue;
          deleteTree(p);
          deleted.add(p.toString());
        }
        for (Path p : ws.scratch()) {
          if (Files.exists(p)) deleteTree(p);
        }
        if (Files.isDirectory(ws.files())) {
          try (Stream<Path> left = Files.list(ws.files())) {
            if (left.findAny().isEmpty()) Files.delete(ws.files());
          }
        }
      } catch (IOException e) {
        throw CommandFailure.failed("Cannot delete " + e.getMessage() + ".");
      }
      PrintWriter out = spec.commandLine().getOut();
      if (deleted.isEmpty()) out.println("Nothing to reset in " + ws.files() + ".");
      else
        out.println(
            "Deleted "
                + String.join(", ", deleted)
                + ". The next 'connector debug' starts from an empty state.");
      return 0;
    }

    private static void deleteTree(Path root) throws IOException {
      try (Stream<Path> all = Files.walk(root)) {
        for (Path p : all.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
      }
    }
  }

  /**
   * The contents of {@code state.json}.
   *
   * @param exists whether it was read from a file (false: the first run)
   * @param syncStarted the start of a sync that has not finished, else null
   */
  record Saved(
      boolean exists,
      JsonNode state,
      long epoch,
      Instant lastSynced,
      Map<String, Map<String, ColumnType>> columns,
      Instant syncStarted) {
    static final Saved FIRST =
        new Saved(false, Json.MAPPER.createObjectNode(), 0, Instant.EPOCH, Map.of(), null);

    /** A fresh copy of the connector's state, which {@code update} may change. */
    Map<String, Object> mutableState() {
      return Json.MAPPER.convertValue(state, new TypeReference<LinkedHashMap<String, Object>>() {});
    }

    static Saved read(Path file) throws CommandFailure {
      if (!Files.exists(file)) return FIRST;
      try {
        JsonNode j = Json.parse(Files.readString(file, StandardCharsets.UTF_8), file.toString());
        JsonNode state = j.path("state");
        if (!state.isObject()) throw new IllegalArgumentException("no \"state\" object");
        if (!j.path("epoch").canConvertToLong())
          throw new IllegalArgumentException("no \"epoch\" number");
        Map<String, Map<String, ColumnType>> columns = new TreeMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> t = j.path("columns").fields(); t.hasNext(); ) {
          Map.Entry<String, JsonNode> table = t.next();
          Map<String, ColumnType> cols = new LinkedHashMap<>();
          table
              .getValue()
              .fields()
              .forEachRemaining(
                  c -> cols.put(c.getKey(), ColumnType.valueOf(c.getValue().asText())));
          columns.put(table.getKey(), cols);
        }
        JsonNode started = j.path("sync_started");
        return new Saved(
            true,
            state,
            j.get("epoch").asLong(),
            Instant.parse(j.path("last_synced").asText()),
            columns,
            started.isTextual() ? Instant.parse(started.asText()) : null);
      } catch (IOException e) {
        throw CommandFailure.failed("Cannot read " + file + ": " + e.getMessage());
      } catch (BodyException | IllegalArgumentException | DateTimeParseException e) {
        throw CommandFailure.misconfigured(
            file
                + " is not a state file of 'connector debug' ("
                + e.getMessage()
                + "); run 'connector reset' to start over.");
      }
    }

    /** Replaces {@code file} atomically: a crash leaves the old state or the new, never half. */
    void write(Path file) throws IOException {
      ObjectNode j = Json.MAPPER.createObjectNode();
      j.set("state", state);
      j.put("epoch", epoch);
      j.put("last_synced", lastSynced.toString());
      j.set("columns", Json.MAPPER.valueToTree(columns));
      if (syncStarted != null) j.put("sync_started", syncStarted.toString());
      byte[] bytes = Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsBytes(j);
      Path temp = file.resolveSibling(file.getFileName() + ".tmp");
      try (FileChannel ch =
          FileChannel.open(
              temp,
              StandardOpenOption.CREATE,
              StandardOpenOption.WRITE,
              StandardOpenOption.TRUNCATE_EXISTING)) {
        ch.write(java.nio.ByteBuffer.wrap(bytes));
        ch.force(true);
      }
      try {
        Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING);
      }
    }
  }

  /**
   * Where {@link ConnectorOps} puts the rows of a local sync: each write is staged as one batch and
   * loaded into the DuckDB file before it returns; each checkpoint then replaces {@code
   * state.json}. Single-threaded, like the ops that call it.
   */
  private static final class Sink implements ConnectorOps.Sink {
    private final Workspace ws;
    private final WarehouseLoader loader;
    private final BatchFileWriter writer;
    // The columns the warehouse knows, earlier runs' included.
    private final Map<String, Map<String, ColumnType>> columns;
    // Batch ids are unique per run: a batch id recorded in _weir_loads is never loaded again.
    private final String run = UUID.randomUUID().toString();
    private Instant syncStarted;
    private JsonNode state;
    private int batches;
    long rejectedRows;
    boolean checkpointed;
    String failure;

    Sink(Workspace ws, WarehouseLoader loader, Saved saved, Instant syncStart) {
      this.ws = ws;
      this.loader = loader;
      this.writer = new BatchFileWriter(new FilesystemStagingStore(ws.staging()));
      this.columns = new TreeMap<>(saved.columns());
      this.state = saved.state();
      this.syncStarted = syncStart;
    }

    /** The state of the last checkpoint (or the one the run started from). */
    Map<String, Object> state() {
      return Json.MAPPER.convertValue(state, new TypeReference<LinkedHashMap<String, Object>>() {});
    }

    /** The next checkpoint is the sync's last: a later run starts a new sync. */
    void finishing() {
      syncStarted = null;
    }

    @Override
    public void write(List<StagedRow> rows, Map<String, Map<String, ColumnType>> changed)
        throws Exception {
      columns.putAll(changed);
      if (rows.isEmpty()) return;
      try {
        String batchId = "debug-" + run + "-" + (batches++);
        List<StagedFile> files = writer.write(CONNECTION, batchId, rows);
        Map<String, TableSpec> specs = new TreeMap<>();
        for (StagedRow r : rows)
          specs.computeIfAbsent(
              r.table(), t -> ConnectorTables.spec(t, columns.getOrDefault(t, Map.of())));
        load(
            new WarehouseLoader.LoadRequest(
                SCHEMA, specs, List.of(new WarehouseLoader.LoadBatch(batchId, files))));
      } catch (Exception e) {
        failure = String.valueOf(e.getMessage());
        throw e;
      }
    }

    private void load(WarehouseLoader.LoadRequest request) throws Exception {
      for (int attempt = 1; ; attempt++) {
        try {
          rejectedRows += loader.load(request).rejectedRows();
          return;
        } catch (WarehouseLoader.LoadException e) {
          // Another process (a duckdb shell) holding the file: wait for it a little.
          if (attempt >= LOAD_ATTEMPTS || !String.valueOf(e.getMessage()).contains("lock")) throw e;
          Thread.sleep(LOAD_RETRY_MILLIS);
        }
      }
    }

    @Override
    public void checkpoint(Map<String, Object> next, long epoch, Instant synced)
        throws IOException {
      JsonNode json = Json.MAPPER.valueToTree(next);
      try {
        new Saved(true, json, epoch, synced, columns, syncStarted).write(ws.state());
      } catch (IOException e) {
        failure = "cannot write " + ws.state() + ": " + e.getMessage();
        throw e;
      }
      state = json;
      checkpointed = true;
    }
  }
}
