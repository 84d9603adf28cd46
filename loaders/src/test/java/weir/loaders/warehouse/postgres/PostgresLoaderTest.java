package weir.loaders.warehouse.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import weir.loaders.staging.BatchFileWriter;
import weir.loaders.staging.StagedFile;
import weir.loaders.staging.fs.FilesystemStagingStore;
import weir.loaders.warehouse.Rows;
import weir.loaders.warehouse.WarehouseLoader;
import weir.loaders.warehouse.WarehouseLoader.LoadBatch;
import weir.protocol.DeadLetters;
import weir.protocol.StagedRow;
import weir.protocol.TableSpec;
import weir.protocol.event.CanonicalEvent;
import weir.protocol.event.EventTables;
import weir.protocol.webhook.WebhookParser;

/** The PostgreSQL loader against a real PostgreSQL 16 (embedded binaries from Maven). */
class PostgresLoaderTest {
  private static Path pgData;
  private static int port;
  private static EmbeddedPostgres pg;
  private static final AtomicInteger ids = new AtomicInteger();

  @TempDir Path dir;
  private FilesystemStagingStore staging;
  private PostgresLoader loader;
  private String schema;

  @BeforeAll
  static void startPostgres() throws Exception {
    pgData = Files.createTempDirectory("weir-pg");
    pg = EmbeddedPostgres.builder().setDataDirectory(pgData).setCleanDataDirectory(false).start();
    port = pg.getPort();
  }

  @AfterAll
  static void stopPostgres() throws Exception {
    pg.close();
  }

  @BeforeEach
  void setUp() {
    staging = new FilesystemStagingStore(dir.resolve("staging"));
    loader = new PostgresLoader(url(), "postgres", "", "t_", staging);
    schema = "s" + ids.incrementAndGet();
  }

  private static String url() {
    return "jdbc:postgresql://127.0.0.1:" + port + "/postgres";
  }

  private LoadBatch stage(String batchId, List<StagedRow> rows) throws Exception {
    List<StagedFile> files = new BatchFileWriter(staging).write("c1", batchId, rows);
    return new LoadBatch(batchId, files);
  }

  private static StagedRow webhookRow(String id, String at) {
    return new StagedRow(
        "events",
        id,
        Instant.parse(at).toEpochMilli(),
        "{\"event_id\":\""
            + id
            + "\",\"received_at\":\""
            + at
            + "\",\"data\":{\"id\":\""
            + id
            + "\",\"n\":{\"deep\":[1,2]},\"q\":\"it's \\\"quoted\\\" \\\\ ok\"}}");
  }

  private WarehouseLoader.LoadResult loadWebhook(LoadBatch... batches) throws Exception {
    return loader.load(
        new WarehouseLoader.LoadRequest(
            schema, Map.of("events", WebhookParser.tableSpec("events")), List.of(batches)));
  }

  @Test
  void webhookRowsAreCopiedDeduplicatedAndRecordedInWeirLoads() throws Exception {
    LoadBatch b1 =
        stage(
            "b1",
            List.of(
                webhookRow("e1", "2026-11-20T10:00:00Z"),
                webhookRow("e2", "2026-11-20T10:00:01Z"),
                webhookRow("e2", "2026-11-20T10:00:01Z")));
    assertThat(loadWebhook(b1).rowsInserted()).containsEntry("events", 2L);
    LoadBatch b2 =
        stage(
            "b2",
            List.of(
                webhookRow("e2", "2026-11-20T10:00:01Z"),
                webhookRow("e3", "2026-11-21T09:00:00Z")));
    WarehouseLoader.LoadResult second = loadWebhook(b1, b2);
    assertThat(second.skippedBatchIds()).containsExactly("b1");
    assertThat(second.rowsInserted()).containsEntry("events", 1L);
    assertThat(
            query(
                "SELECT event_id, data->>'id', data->'n'->'deep'->>1, data->>'q', "
                    + "extract(epoch FROM received_at)::bigint FROM t_"
                    + schema
                    + ".events ORDER BY 1"))
        .containsExactly(
            "e1|e1|2|it's \"quoted\" \\ ok|"
                + Instant.parse("2026-11-20T10:00:00Z").getEpochSecond(),
            "e2|e2|2|it's \"quoted\" \\ ok|"
                + Instant.parse("2026-11-20T10:00:01Z").getEpochSecond(),
            "e3|e3|2|it's \"quoted\" \\ ok|"
                + Instant.parse("2026-11-21T09:00:00Z").getEpochSecond());
    assertThat(
            query(
                "SELECT data_type FROM information_schema.columns WHERE table_schema = 't_"
                    + schema
                    + "' AND table_name = 'events' AND column_name = 'data'"))
        .containsExactly("jsonb");
    assertThat(query("SELECT batch_id FROM t_" + schema + "._weir_loads ORDER BY 1"))
        .containsExactly("b1", "b2");
  }

  @Test
  void aFailedLoadCommitsNothingAndTheRetryLoadsEverythingOnce() throws Exception {
    LoadBatch good = stage("g", List.of(webhookRow("e1", "2026-11-20T10:00:00Z")));
    LoadBatch broken = stage("x", List.of(webhookRow("e2", "2026-11-20T10:00:00Z")));
    Path file = staging.localPath(broken.files().get(0).key()).orElseThrow();
    byte[] saved = Files.readAllBytes(file);
    Files.delete(file);
    assertThatThrownBy(() -> loadWebhook(good, broken))
        .isInstanceOf(WarehouseLoader.LoadException.class);
    assertThat(
            query(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 't_"
                    + schema
                    + "'"))
        .containsExactly("0");
    Files.write(file, saved);
    assertThat(loadWebhook(good, broken).loadedBatchIds()).containsExactly("g", "x");
    assertThat(query("SELECT count(*) FROM t_" + schema + ".events")).containsExactly("2");
  }

  @Test
  void aWarehouseThatGoesDownFailsTheLoadAsTransientAndTheRetryAfterItsRestartLoadsOnce()
      throws Exception {
    LoadBatch b =
        stage(
            "r1",
            List.of(
                webhookRow("e1", "2026-11-20T10:00:00Z"),
                webhookRow("e2", "2026-11-20T10:00:01Z")));
    pg.close();
    try {
      assertThatThrownBy(() -> loadWebhook(b))
          .isInstanceOfSatisfying(
              WarehouseLoader.LoadException.class, e -> assertThat(e.transientFailure()).isTrue());
    } finally {
      pg =
          EmbeddedPostgres.builder()
              .setDataDirectory(pgData)
              .setCleanDataDirectory(false)
              .setPort(port)
              .start();
    }
    assertThat(loadWebhook(b).loadedBatchIds()).containsExactly("r1");
    assertThat(loadWebhook(b).skippedBatchIds()).containsExactly("r1");
    assertThat(query("SELECT count(*) FROM t_" + schema + ".events")).containsExactly("2");
  }

  @Test
  void aLoadWhoseSessionIsKilledMidTransactionCommitsNothingAndTheRetryLoadsOnce()
      throws Exception {
    List<StagedRow> rows = new ArrayList<>();
    for (int i = 0; i < 300_000; i++) rows.add(webhookRow("k" + i, "2026-11-20T10:00:00Z"));
    LoadBatch big = stage("big", rows);
    Thread killer =
        new Thread(
            () -> {
              try (Connection c = DriverManager.getConnection(url(), "postgres", "")) {
                long deadline = System.currentTimeMillis() + 20_000;
                while (System.currentTimeMillis() < deadline) {
                  // Wait until the loader is inside its transaction (past COPY), then kill its
                  // backend.
                  try (ResultSet rs =
                      c.createStatement()
                          .executeQuery(
                              "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                  + "WHERE application_name = 'weir-loader' AND state = 'active' AND query LIKE 'INSERT INTO%'")) {
                    if (rs.next()) return;
                  }
                  // A tight fixed poll, not eventually(): the INSERT is active for a moment
                  // only, and a back-off up to 250 ms could miss it.
                  Thread.sleep(5);
                }
              } catch (Exception e) {
                throw new RuntimeException(e);
              }
            });
    killer.start();
    assertThatThrownBy(() -> loadWebhook(big))
        .isInstanceOfSatisfying(
            WarehouseLoader.LoadException.class, e -> assertThat(e.transientFailure()).isTrue());
    killer.join();
    assertThat(
            query(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 't_"
                    + schema
                    + "'"))
        .as("nothing committed, not even the tables")
        .containsExactly("0");
    assertThat(loadWebhook(big).loadedBatchIds()).containsExactly("big");
    assertThat(query("SELECT count(*), count(DISTINCT event_id) FROM t_" + schema + ".events"))
        .containsExactly("300000|300000");
  }

  @Test
  void badCredentialsArePermanent() {
    PostgresLoader wrong =
        new PostgresLoader(
            "jdbc:postgresql://127.0.0.1:" + port + "/no_such_db", "postgres", "", "", staging);
    assertThatThrownBy(() -> wrong.load(new WarehouseLoader.LoadRequest("x", Map.of(), List.of())))
        .isInstanceOfSatisfying(
            WarehouseLoader.LoadException.class, e -> assertThat(e.transientFailure()).isFalse());
  }

  private void loadEvents(CanonicalEvent... events) throws Exception {
    List<StagedRow> rows = new ArrayList<>();
    for (CanonicalEvent e : events) rows.addAll(EventTables.rows(e));
    String batchId = "b" + ids.incrementAndGet();
    Map<String, TableSpec> specs = new LinkedHashMap<>();
    rows.forEach(r -> specs.put(r.table(), EventTables.specFor(r.table())));
    loader.load(new WarehouseLoader.LoadRequest(schema, specs, List.of(stage(batchId, rows))));
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

  private static ObjectNode obj() {
    return JsonNodeFactory.instance.objectNode();
  }

  @Test
  void eventTablesGrowAndWidenColumnsAndUsersMergeInOrder() throws Exception {
    loadEvents(
        event(
            CanonicalEvent.Type.track,
            "Order Completed",
            "u1",
            "2026-11-21T10:00:00Z",
            obj().put("revenue", 10).put("sku", "A-1").put("gift", true),
            obj()),
        event(
            CanonicalEvent.Type.identify,
            null,
            "u1",
            "2026-11-21T10:00:00Z",
            obj(),
            obj().put("plan", "free").put("email", "a@b.c")),
        event(
            CanonicalEvent.Type.identify,
            null,
            "u1",
            "2026-11-21T12:00:00Z",
            obj(),
            obj().put("plan", "pro")));
    loadEvents(
        event(
            CanonicalEvent.Type.track,
            "Order Completed",
            "u2",
            "2026-11-21T11:00:00Z",
            obj().put("revenue", 12.5).put("sku", 7).put("gift", "wrapped").put("coupon", "XMAS"),
            obj()),
        event(
            CanonicalEvent.Type.identify,
            null,
            "u1",
            "2026-11-21T08:00:00Z",
            obj(),
            obj().put("plan", "trial").put("company", "Initech")));
    String s = "t_" + schema;
    assertThat(
            query(
                "SELECT column_name || ':' || data_type FROM information_schema.columns WHERE table_schema = '"
                    + s
                    + "' AND table_name = 'order_completed' AND column_name IN ('revenue','sku','gift','coupon') ORDER BY 1"))
        .containsExactly("coupon:text", "gift:text", "revenue:double precision", "sku:text");
    assertThat(
            query(
                "SELECT user_id, revenue, sku, gift, coupon FROM "
                    + s
                    + ".order_completed ORDER BY user_id"))
        .containsExactly("u1|10|A-1|true|null", "u2|12.5|7|wrapped|XMAS");
    assertThat(
            query(
                "SELECT traits->>'plan', traits->>'email', traits->>'company', extract(hour FROM first_seen AT TIME ZONE 'UTC'), "
                    + "extract(hour FROM last_seen AT TIME ZONE 'UTC') FROM "
                    + s
                    + ".users"))
        .containsExactly("pro|a@b.c|Initech|8|12");
    assertThat(query("SELECT count(*) FROM " + s + ".identifies")).containsExactly("3");
  }

  @Test
  void aPeriodReloadReplacesOnlyThatDayFromTheArchive() throws Exception {
    LoadBatch day20 = stage("d20", List.of(webhookRow("a", "2026-11-20T10:00:00Z")));
    LoadBatch day21 =
        stage(
            "d21",
            List.of(
                webhookRow("b", "2026-11-21T10:00:00Z"), webhookRow("c", "2026-11-21T11:00:00Z")));
    loadWebhook(day20, day21);
    try (Connection c = DriverManager.getConnection(url(), "postgres", "")) {
      c.createStatement().execute("DELETE FROM t_" + schema + ".events WHERE event_id = 'c'");
      c.createStatement()
          .execute(
              "INSERT INTO t_" + schema + ".events VALUES ('stray', '2026-11-21T12:00:00Z', '{}')");
    }
    WarehouseLoader.LoadResult r =
        loader.reload(
            new WarehouseLoader.LoadRequest(
                schema, Map.of("events", WebhookParser.tableSpec("events")), List.of(day21)),
            "received_at",
            LocalDate.parse("2026-11-21"),
            LocalDate.parse("2026-11-21"));
    assertThat(r.rowsInserted()).containsEntry("events", 2L);
    assertThat(query("SELECT event_id FROM t_" + schema + ".events ORDER BY 1"))
        .containsExactly("a", "b", "c");
  }

  private static StagedRow dataRow(String id, String dataJson) {
    return new StagedRow(
        "events",
        id,
        Instant.parse("2026-11-21T10:00:00Z").toEpochMilli(),
        "{\"event_id\":\""
            + id
            + "\",\"received_at\":\"2026-11-21T10:00:00Z\",\"data\":"
            + dataJson
            + "}");
  }

  @Test
  void aRowPostgresCannotStoreBecomesADeadLetterTheRestLoadsAndANulIsKeptAsText() throws Exception {
    List<StagedRow> rows = new ArrayList<>();
    for (int i = 0; i < 120; i++) rows.add(dataRow("g" + i, "{\"n\":" + i + "}"));
    rows.add(dataRow("nul", "{\"note\":\"nul \\u0000 inside\"}"));
    rows.add(dataRow("huge", "{\"n\":1E+999999}"));
    Map<String, TableSpec> tables =
        Map.of(
            "events",
            WebhookParser.tableSpec("events"),
            DeadLetters.TABLE,
            DeadLetters.tableSpec());
    LoadBatch batch = stage("b1", rows);
    WarehouseLoader.LoadResult r =
        loader.load(new WarehouseLoader.LoadRequest(schema, tables, List.of(batch)));
    assertThat(r.loadedBatchIds()).containsExactly("b1");
    assertThat(r.rejectedRows()).isEqualTo(1);
    assertThat(query("SELECT count(*) FROM t_" + schema + ".events")).containsExactly("121");
    assertThat(query("SELECT data->>'note' FROM t_" + schema + ".events WHERE event_id = 'nul'"))
        .as("U+0000 as the six characters \\u0000")
        .containsExactly("nul \\u0000 inside");
    assertThat(
            query(
                "SELECT code, position('numeric' in message) > 0, payload LIKE '%\"huge\"%' FROM t_"
                    + schema
                    + "._weir_dead_letters"))
        .containsExactly("rejected_by_warehouse|t|t");
    // The same batch again: recorded, nothing twice.
    loader.load(new WarehouseLoader.LoadRequest(schema, tables, List.of(batch)));
    assertThat(query("SELECT count(*) FROM t_" + schema + ".events")).containsExactly("121");
    assertThat(query("SELECT count(*) FROM t_" + schema + "._weir_dead_letters"))
        .containsExactly("1");
  }

  private static List<String> query(String sql) throws Exception {
    try (Connection c = DriverManager.getConnection(url(), "postgres", "")) {
      return Rows.of(c, sql);
    }
  }
}
