package weir.loaders.warehouse.duckdb;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import weir.loaders.staging.BatchFileWriter;
import weir.loaders.staging.fs.FilesystemStagingStore;
import weir.loaders.warehouse.Rows;
import weir.loaders.warehouse.WarehouseLoader;
import weir.protocol.StagedRow;
import weir.protocol.TableSpec;
import weir.protocol.event.CanonicalEvent;
import weir.protocol.event.EventTables;

/**
 * Segment/Snowplow tables in DuckDB: per-event tables that grow and widen columns, and the users
 * merge.
 */
class DuckDbEventTablesTest {
  @TempDir Path dir;
  private FilesystemStagingStore staging;
  private DuckDbLoader loader;
  private final AtomicInteger ids = new AtomicInteger();

  @BeforeEach
  void setUp() {
    staging = new FilesystemStagingStore(dir.resolve("staging"));
    loader = new DuckDbLoader(dir.resolve("wh.duckdb"), staging);
  }

  private CanonicalEvent event(
      CanonicalEvent.Type type,
      String name,
      String userId,
      String at,
      ObjectNode props,
      ObjectNode traits) {
    Instant t = Instant.parse(at);
    return new CanonicalEvent(
        "ev-" + ids.incrementAndGet(),
        type,
        name,
        null,
        userId,
        t,
        t,
        t,
        t,
        JsonNodeFactory.instance.objectNode(),
        props,
        traits,
        "c1");
  }

  private void load(CanonicalEvent... events) throws Exception {
    List<StagedRow> rows = new ArrayList<>();
    for (CanonicalEvent e : events) rows.addAll(EventTables.rows(e));
    String batchId = "b" + ids.incrementAndGet();
    var files = new BatchFileWriter(staging).write("c1", batchId, rows);
    Map<String, TableSpec> specs = new LinkedHashMap<>();
    rows.forEach(r -> specs.put(r.table(), EventTables.specFor(r.table())));
    loader.load(
        new WarehouseLoader.LoadRequest(
            "shop", specs, List.of(new WarehouseLoader.LoadBatch(batchId, files))));
  }

  private static ObjectNode obj() {
    return JsonNodeFactory.instance.objectNode();
  }

  @Test
  void newPropertiesAddColumnsAndTypeConflictsWidenWithoutDroppingAnything() throws Exception {
    load(
        event(
            CanonicalEvent.Type.track,
            "Order Completed",
            "u1",
            "2026-11-21T10:00:00Z",
            obj().put("revenue", 10).put("sku", "A-1").put("gift", true),
            obj()));
    assertThat(columns("order_completed"))
        .containsEntry("revenue", "BIGINT")
        .containsEntry("sku", "VARCHAR")
        .containsEntry("gift", "BOOLEAN")
        .containsEntry("timestamp", "TIMESTAMP WITH TIME ZONE")
        .containsEntry("properties", "JSON")
        .containsKey("loaded_at");

    load(
        event(
            CanonicalEvent.Type.track,
            "Order Completed",
            "u2",
            "2026-11-21T11:00:00Z",
            obj().put("revenue", 12.5).put("sku", 7).put("gift", "wrapped").put("coupon", "XMAS"),
            obj()));
    assertThat(columns("order_completed"))
        .containsEntry("revenue", "DOUBLE")
        .containsEntry("sku", "VARCHAR")
        .containsEntry("gift", "VARCHAR")
        .containsEntry("coupon", "VARCHAR");
    assertThat(
            query(
                "SELECT user_id, revenue, sku, gift, coupon FROM shop.order_completed ORDER BY user_id"))
        .containsExactly("u1|10.0|A-1|true|null", "u2|12.5|7|wrapped|XMAS");
    assertThat(query("SELECT count(*) FROM shop.tracks")).containsExactly("2");
    assertThat(query("SELECT event, properties->>'$.coupon' FROM shop.tracks WHERE user_id = 'u2'"))
        .containsExactly("Order Completed|XMAS");
  }

  @Test
  void usersMergeByUserIdWithTheLatestTraitsWinningAndFirstAndLastSeen() throws Exception {
    load(
        event(
            CanonicalEvent.Type.identify,
            null,
            "u1",
            "2026-11-21T10:00:00Z",
            obj(),
            obj().put("plan", "free").put("email", "ada@example.com")),
        event(
            CanonicalEvent.Type.identify,
            null,
            "u1",
            "2026-11-21T12:00:00Z",
            obj(),
            obj().put("plan", "pro")),
        event(
            CanonicalEvent.Type.identify,
            null,
            "u2",
            "2026-11-21T09:00:00Z",
            obj(),
            obj().put("plan", "team")));
    assertThat(
            query(
                "SELECT user_id, traits->>'$.plan', traits->>'$.email', epoch(first_seen)::BIGINT, "
                    + "epoch(last_seen)::BIGINT FROM shop.users ORDER BY user_id"))
        .containsExactly(
            "u1|pro|ada@example.com|"
                + Instant.parse("2026-11-21T10:00:00Z").getEpochSecond()
                + "|"
                + Instant.parse("2026-11-21T12:00:00Z").getEpochSecond(),
            "u2|team|null|"
                + Instant.parse("2026-11-21T09:00:00Z").getEpochSecond()
                + "|"
                + Instant.parse("2026-11-21T09:00:00Z").getEpochSecond());

    // A late, older identify fills in new traits but does not override newer ones.
    load(
        event(
            CanonicalEvent.Type.identify,
            null,
            "u1",
            "2026-11-21T08:00:00Z",
            obj(),
            obj().put("plan", "trial").put("company", "Initech")));
    assertThat(
            query(
                "SELECT traits->>'$.plan', traits->>'$.company', epoch(first_seen)::BIGINT FROM shop.users "
                    + "WHERE user_id = 'u1'"))
        .containsExactly("pro|Initech|" + Instant.parse("2026-11-21T08:00:00Z").getEpochSecond());
    assertThat(query("SELECT count(*) FROM shop.identifies")).containsExactly("4");
    assertThat(query("SELECT count(*) FROM shop.users")).containsExactly("2");
  }

  private Map<String, String> columns(String table) throws Exception {
    Map<String, String> out = new LinkedHashMap<>();
    for (String row :
        query(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = "
                + "'shop' AND table_name = '"
                + table
                + "' ORDER BY ordinal_position")) {
      String[] p = row.split("\\|");
      out.put(p[0], p[1]);
    }
    return out;
  }

  private List<String> query(String sql) throws Exception {
    Properties readOnly = new Properties();
    readOnly.setProperty("duckdb.read_only", "true");
    try (Connection c =
        DriverManager.getConnection("jdbc:duckdb:" + dir.resolve("wh.duckdb"), readOnly)) {
      return Rows.of(c, sql);
    }
  }
}
