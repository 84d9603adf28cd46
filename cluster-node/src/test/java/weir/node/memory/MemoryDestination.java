package weir.node.memory;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.GZIPInputStream;
import weir.loaders.destination.ConfigSpec;
import weir.loaders.destination.DestinationContext;
import weir.loaders.destination.DestinationRuntime;
import weir.loaders.destination.DestinationType;
import weir.loaders.destination.InvalidConfig;
import weir.loaders.staging.StagedFile;
import weir.loaders.staging.StagingStore;
import weir.loaders.warehouse.WarehouseLoader;
import weir.protocol.Json;

/**
 * A destination type that exists only in the tests: what adding a type takes (this one class and
 * one line in {@code META-INF/services/weir.loaders.destination.DestinationType} of the test
 * resources). Its "warehouse" is a map in this JVM, named by the destination's {@code name}
 * setting; it counts the runtimes it opened and closed so that tests can see a PATCH close the
 * previous one.
 */
public final class MemoryDestination implements DestinationType {
  /** One in-memory warehouse: rows per table, batches loaded, runtimes opened and closed. */
  public static final class Warehouse {
    public final Map<String, List<JsonNode>> rows = new ConcurrentHashMap<>();
    public final Map<String, Instant> loads = new ConcurrentHashMap<>();
    public final List<String> tokens = new CopyOnWriteArrayList<>();
    public final AtomicInteger opened = new AtomicInteger();
    public final AtomicInteger closed = new AtomicInteger();

    public int rowCount(String table) {
      return rows.getOrDefault(table, List.of()).size();
    }
  }

  private static final Map<String, Warehouse> WAREHOUSES = new ConcurrentHashMap<>();

  /** The warehouse a destination with {@code name} loads into. */
  public static Warehouse warehouse(String name) {
    return WAREHOUSES.computeIfAbsent(name, n -> new Warehouse());
  }

  @Override
  public String name() {
    return "memory";
  }

  @Override
  public ConfigSpec spec() {
    return ConfigSpec.of(
        ConfigSpec.required("name", "Which in-memory warehouse of the test JVM to load into."),
        ConfigSpec.secret(
            "token", false, "A pretend credential, to show secrets are sealed and masked."));
  }

  @Override
  public List<String> stagingTypes() {
    return List.of("filesystem");
  }

  @Override
  public void validate(String prefix, Map<String, String> config) throws InvalidConfig {
    if (!config.get("name").matches("[a-z0-9-]+")) {
      throw new InvalidConfig(
          "Field '" + prefix + ".name' must be lower-case letters, digits and dashes.");
    }
  }

  @Override
  public DestinationRuntime open(
      Map<String, String> config, StagingStore staging, DestinationContext context) {
    Warehouse warehouse = warehouse(config.get("name"));
    warehouse.opened.incrementAndGet();
    if (config.containsKey("token")) warehouse.tokens.add(config.get("token"));
    return DestinationRuntime.warehouse(staging, new Loader(warehouse, staging), context);
  }

  /** Loads staged NDJSON.gz files into the map, once per batch and per event_id. */
  private static final class Loader implements WarehouseLoader {
    private final Warehouse warehouse;
    private final StagingStore staging;

    Loader(Warehouse warehouse, StagingStore staging) {
      this.warehouse = warehouse;
      this.staging = staging;
    }

    @Override
    public synchronized LoadResult load(LoadRequest request) throws LoadException {
      List<String> loaded = new ArrayList<>();
      List<String> skipped = new ArrayList<>();
      Map<String, Long> inserted = new LinkedHashMap<>();
      for (LoadBatch batch : request.batches()) {
        if (warehouse.loads.containsKey(batch.batchId())) {
          skipped.add(batch.batchId());
          continue;
        }
        for (StagedFile file : batch.files()) {
          List<JsonNode> rows = read(file);
          warehouse
              .rows
              .computeIfAbsent(
                  request.schema() + "." + file.table(), t -> new CopyOnWriteArrayList<>())
              .addAll(rows);
          inserted.merge(file.table(), (long) rows.size(), Long::sum);
        }
        warehouse.loads.put(batch.batchId(), Instant.now());
        loaded.add(batch.batchId());
      }
      return new LoadResult(loaded, skipped, inserted);
    }

    private List<JsonNode> read(StagedFile file) throws LoadException {
      List<JsonNode> rows = new ArrayList<>();
      try (BufferedReader in =
          new BufferedReader(
              new InputStreamReader(
                  new GZIPInputStream(staging.open(file.key())), StandardCharsets.UTF_8))) {
        for (String line = in.readLine(); line != null; line = in.readLine())
          rows.add(Json.MAPPER.readTree(line));
      } catch (IOException e) {
        throw new LoadException("reading " + file.key() + " failed: " + e.getMessage(), true, e);
      }
      return rows;
    }

    @Override
    public LoadResult reload(
        LoadRequest request, String timestampColumn, LocalDate from, LocalDate to)
        throws LoadException {
      throw new LoadException("the memory destination does not resync", false, null);
    }

    @Override
    public Map<String, Instant> loadedAt(String schema, Collection<String> batchIds) {
      Map<String, Instant> out = new HashMap<>();
      for (String id : batchIds) {
        Instant at = warehouse.loads.get(id);
        if (at != null) out.put(id, at);
      }
      return out;
    }

    @Override
    public void close() {
      warehouse.closed.incrementAndGet();
    }
  }
}
