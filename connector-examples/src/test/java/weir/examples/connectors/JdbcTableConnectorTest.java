package weir.examples.connectors;

import static org.assertj.core.api.Assertions.assertThat;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.math.BigDecimal;
import java.net.ServerSocket;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import weir.sdk.ColumnType;
import weir.sdk.ConnectorException;
import weir.sdk.Operations;
import weir.sdk.SourceConnector;
import weir.sdk.Table;
import weir.sdk.testing.ConnectorHarness;
import weir.sdk.testing.ConnectorHarness.Counts;
import weir.sdk.testing.ConnectorHarness.SyncResult;

/** The JDBC table connector against a real PostgreSQL 16 (embedded binaries from Maven). */
class JdbcTableConnectorTest {
  private static final String PASSWORD = "pg-Secret-7781";
  private static final AtomicInteger ids = new AtomicInteger();
  private static EmbeddedPostgres pg;

  private String orders;

  @BeforeAll
  static void startPostgres() throws Exception {
    pg = EmbeddedPostgres.builder().start();
  }

  @AfterAll
  static void stopPostgres() throws Exception {
    pg.close();
  }

  @BeforeEach
  void createOrders() throws Exception {
    orders = "orders_" + ids.incrementAndGet();
    sql(
        "CREATE TABLE "
            + orders
            + " (id bigint PRIMARY KEY, customer text NOT NULL, amount numeric(10,2),"
            + " placed_on date, updated_at timestamptz NOT NULL)",
        "CREATE TABLE "
            + orders
            + "_deleted (id bigint PRIMARY KEY, deleted_at timestamptz NOT NULL)",
        insert(1, "ada", "12.50", "10:01"),
        insert(2, "bob", "20.00", "10:02"),
        insert(3, "cy", "30.00", "10:03"),
        insert(4, "dee", "40.00", "10:04"),
        insert(5, "eve", "50.00", "10:05"));
  }

  @Test
  void aFirstSyncLoadsEveryRowAndTheNextOnlyWhatChanged() throws Exception {
    ConnectorHarness harness = new ConnectorHarness(new JdbcTableConnector(), configuration());

    SyncResult first = harness.sync();
    assertThat(first.succeeded()).as(first.error()).isTrue();
    assertThat(counts(first)).isEqualTo(new Counts(5, 0, 0, 0));
    assertThat(harness.liveRows(orders)).hasSize(5);
    assertThat(row(harness, 1L))
        .containsEntry("customer", "ada")
        .containsEntry("amount", new BigDecimal("12.50"))
        .containsEntry("placed_on", LocalDate.of(2024, 4, 30))
        .containsEntry("updated_at", Instant.parse("2024-05-01T10:01:00Z"));
    assertThat(harness.columns(orders))
        .containsEntry("id", ColumnType.LONG)
        .containsEntry("amount", ColumnType.DECIMAL)
        .containsEntry("placed_on", ColumnType.NAIVE_DATE)
        .containsEntry("updated_at", ColumnType.UTC_DATETIME);
    assertThat(harness.state()).isEqualTo(Map.of(orders, Map.of("cursor", "2024-05-01T10:05:00Z")));

    sql(
        insert(6, "fay", "60.00", "10:10"),
        "UPDATE "
            + orders
            + " SET amount = 99.00, updated_at = '2024-05-01 10:11:00+00' WHERE id = 2",
        "DELETE FROM " + orders + " WHERE id = 3",
        "INSERT INTO " + orders + "_deleted VALUES (3, '2024-05-01 10:12:00+00')");
    SyncResult second = harness.sync();
    assertThat(second.succeeded()).as(second.error()).isTrue();
    assertThat(counts(second))
        .as("only the new, the updated and the deleted row")
        .isEqualTo(new Counts(2, 0, 1, 0));
    assertThat(harness.liveRows(orders))
        .extracting(r -> r.get("id"))
        .containsExactlyInAnyOrder(1L, 2L, 4L, 5L, 6L);
    assertThat(row(harness, 2L)).containsEntry("amount", new BigDecimal("99.00"));
    assertThat(row(harness, 3L))
        .containsEntry("_weir_deleted", true)
        .containsEntry("customer", "cy");
    assertThat(harness.state())
        .isEqualTo(
            Map.of(
                orders,
                Map.of(
                    "cursor", "2024-05-01T10:11:00Z", "tombstone_cursor", "2024-05-01T10:12:00Z")));

    SyncResult third = harness.sync();
    assertThat(counts(third)).as("nothing changed").isEqualTo(new Counts(0, 0, 0, 0));
  }

  @Test
  void aRowDeletedAndInsertedAgainStaysLive() throws Exception {
    ConnectorHarness harness = new ConnectorHarness(new JdbcTableConnector(), configuration());
    harness.sync();
    sql(
        "DELETE FROM " + orders + " WHERE id = 4",
        "INSERT INTO " + orders + "_deleted VALUES (4, '2024-05-01 10:06:00+00')",
        insert(4, "dee again", "41.00", "10:07"));
    SyncResult r = harness.sync();
    assertThat(counts(r)).isEqualTo(new Counts(1, 0, 0, 0));
    assertThat(row(harness, 4L))
        .containsEntry("customer", "dee again")
        .containsEntry("_weir_deleted", false);
  }

  @Test
  void rowsSharingOneCursorValueAcrossPageBoundariesAreNeitherLostNorRepeated() throws Exception {
    String events = sharedCursorTable();
    Map<String, String> conf = new HashMap<>(configuration());
    conf.put("table", events);
    conf.put("primary_key", "region, id");
    conf.put("page_size", "3");
    conf.remove("tombstone_table");
    ConnectorHarness harness = new ConnectorHarness(new JdbcTableConnector(), conf);

    SyncResult first = harness.sync();
    assertThat(first.succeeded()).as(first.error()).isTrue();
    assertThat(counts(first, events).upserts()).as("each row exactly once").isEqualTo(10);
    assertThat(harness.liveRows(events)).hasSize(10);
    assertThat(harness.columns(events)).containsEntry("updated_at", ColumnType.NAIVE_DATETIME);
    assertThat(harness.liveRows(events))
        .filteredOn(r -> r.get("id").equals(3))
        .singleElement()
        .satisfies(r -> assertThat(r).containsEntry("updated_at", at("10:00")));
    assertThat(harness.state()).isEqualTo(Map.of(events, Map.of("cursor", "2024-05-01T11:00:00")));

    assertThat(counts(harness.sync(), events).upserts()).isZero();
  }

  @Test
  void aSyncThatFailsMidTableResumesFromTheLastCursorValueItReadCompletely() throws Exception {
    String events = sharedCursorTable();
    Map<String, String> conf = new HashMap<>(configuration());
    conf.put("table", events);
    conf.put("primary_key", "region, id");
    conf.put("page_size", "3");
    conf.remove("tombstone_table");
    FailingAfterCheckpoints connector = new FailingAfterCheckpoints(new JdbcTableConnector());
    ConnectorHarness harness = new ConnectorHarness(connector, conf);

    connector.failAfter = 1;
    SyncResult failed = harness.sync();
    assertThat(failed.succeeded()).isFalse();
    // The first page ends inside the 10:00 rows: only 09:00 is known to be read completely.
    assertThat(harness.state()).isEqualTo(Map.of(events, Map.of("cursor", "2024-05-01T09:00:00")));
    assertThat(counts(failed, events).upserts()).isEqualTo(3);

    connector.failAfter = -1;
    SyncResult resumed = harness.sync();
    assertThat(resumed.succeeded()).as(resumed.error()).isTrue();
    assertThat(counts(resumed, events).upserts())
        .as("the 7 rows of 10:00 (one of them again) and the one of 11:00")
        .isEqualTo(8);
    assertThat(harness.liveRows(events)).hasSize(10);
  }

  @Test
  void aResyncEndsEqualToAFreshSync() throws Exception {
    ConnectorHarness harness = new ConnectorHarness(new JdbcTableConnector(), configuration());
    harness.sync();
    sql(
        "UPDATE "
            + orders
            + " SET customer = 'ada l.', updated_at = '2024-05-01 11:00:00+00'"
            + " WHERE id = 1",
        "DELETE FROM " + orders + " WHERE id = 5",
        "INSERT INTO " + orders + "_deleted VALUES (5, '2024-05-01 11:01:00+00')");
    harness.sync();

    harness.resync();
    SyncResult resynced = harness.sync();
    assertThat(resynced.succeeded()).as(resynced.error()).isTrue();
    assertThat(counts(resynced)).isEqualTo(new Counts(4, 0, 1, 0));

    ConnectorHarness fresh = new ConnectorHarness(new JdbcTableConnector(), configuration());
    fresh.sync();
    assertThat(withoutSyncTime(harness.liveRows(orders)))
        .containsExactlyInAnyOrderElementsOf(withoutSyncTime(fresh.liveRows(orders)));
    assertThat(harness.state()).isEqualTo(fresh.state());
    assertThat(row(harness, 5L)).containsEntry("_weir_deleted", true);
  }

  @Test
  void badConfigurationFailsTheSyncWithAClearMessageAndNoPassword() throws Exception {
    Map<String, String> noTable = new HashMap<>(configuration());
    noTable.remove("table");
    assertThat(error(noTable))
        .isEqualTo("missing configuration key 'table' (the source table's name)");

    assertThat(error(with("table", "orders; DROP TABLE x")))
        .startsWith("table must be a plain SQL identifier");
    assertThat(error(with("table", "no_such_table")))
        .isEqualTo(
            "reading table no_such_table failed: ERROR: relation \"no_such_table\" does not exist");
    assertThat(error(with("cursor_column", "customer")))
        .isEqualTo(
            "column 'customer' of table "
                + orders
                + " is a text: cursor_column needs a timestamp or timestamptz column");
    assertThat(error(with("page_size", "0"))).startsWith("page_size must be a whole number");
    assertThat(error(with("jdbc_url", "postgres://127.0.0.1/postgres")))
        .startsWith("jdbc_url must be a JDBC URL");
    assertThat(error(with("jdbc_url", "jdbc:mysql://127.0.0.1/shop?password=" + PASSWORD)))
        .startsWith("no JDBC driver on the node takes jdbc_url jdbc:mysql:...");

    int closed;
    try (ServerSocket s = new ServerSocket(0)) {
      closed = s.getLocalPort();
    }
    String unreachable = "jdbc:postgresql://127.0.0.1:" + closed + "/shop";
    assertThat(error(with("jdbc_url", unreachable)))
        .startsWith("cannot connect to " + unreachable + " as postgres: Connection to 127.0.0.1:")
        .contains("refused");
    assertThat(error(with("jdbc_url", unreachable + "?password=" + PASSWORD)))
        .startsWith("cannot connect to " + unreachable + "?... as postgres:");
  }

  private String error(Map<String, String> configuration) {
    SyncResult r = new ConnectorHarness(new JdbcTableConnector(), configuration).sync();
    assertThat(r.succeeded()).isFalse();
    assertThat(r.error()).doesNotContain(PASSWORD);
    return r.error();
  }

  private Map<String, String> with(String key, String value) {
    Map<String, String> c = new HashMap<>(configuration());
    c.put(key, value);
    return c;
  }

  private Map<String, String> configuration() {
    return Map.of(
        "jdbc_url",
        "jdbc:postgresql://127.0.0.1:" + pg.getPort() + "/postgres",
        "user",
        "postgres",
        "password",
        PASSWORD,
        "table",
        orders,
        "tombstone_table",
        orders + "_deleted",
        "page_size",
        "2");
  }

  /**
   * A table keyed by (region, id) with a {@code timestamp} cursor: rows 1-2 at 09:00, 3-9 at 10:00
   * (more than two pages of 3), 10 at 11:00.
   */
  private String sharedCursorTable() throws Exception {
    String events = "events_" + ids.incrementAndGet();
    StringBuilder values = new StringBuilder();
    for (int id = 1; id <= 10; id++) {
      String time = id <= 2 ? "09:00" : id <= 9 ? "10:00" : "11:00";
      if (values.length() > 0) values.append(", ");
      values
          .append("('")
          .append(id % 3 == 0 ? "eu" : "us")
          .append("', ")
          .append(id)
          .append(", '2024-05-01 ")
          .append(time)
          .append(":00')");
    }
    sql(
        "CREATE TABLE "
            + events
            + " (region text, id int, updated_at timestamp NOT NULL, PRIMARY KEY (region, id))",
        "INSERT INTO " + events + " VALUES " + values);
    return events;
  }

  private static LocalDateTime at(String time) {
    return LocalDateTime.parse("2024-05-01T" + time);
  }

  private String insert(long id, String customer, String amount, String time) {
    return "INSERT INTO "
        + orders
        + " VALUES ("
        + id
        + ", '"
        + customer
        + "', "
        + amount
        + ", '2024-04-30', '2024-05-01 "
        + time
        + ":00+00')";
  }

  private static void sql(String... statements) throws Exception {
    try (Connection c =
            DriverManager.getConnection(
                "jdbc:postgresql://127.0.0.1:" + pg.getPort() + "/postgres", "postgres", "");
        Statement st = c.createStatement()) {
      for (String s : statements) st.execute(s);
    }
  }

  private Counts counts(SyncResult r) {
    return counts(r, orders);
  }

  private static Counts counts(SyncResult r, String table) {
    return r.tables().getOrDefault(table, new Counts(0, 0, 0, 0));
  }

  private Map<String, Object> row(ConnectorHarness harness, long id) {
    return harness.rows(orders).stream()
        .filter(r -> r.get("id").equals(id))
        .findFirst()
        .orElseThrow();
  }

  private static List<Map<String, Object>> withoutSyncTime(List<Map<String, Object>> rows) {
    return rows.stream()
        .map(
            r -> {
              Map<String, Object> copy = new LinkedHashMap<>(r);
              copy.remove(ConnectorHarness.SYNCED);
              return copy;
            })
        .toList();
  }

  /** A connector that fails its sync right after its {@code failAfter}-th checkpoint. */
  private static final class FailingAfterCheckpoints implements SourceConnector {
    private final SourceConnector connector;
    int failAfter = -1;

    FailingAfterCheckpoints(SourceConnector connector) {
      this.connector = connector;
    }

    @Override
    public List<Table> schema(Map<String, String> configuration) throws Exception {
      return connector.schema(configuration);
    }

    @Override
    public void update(Map<String, String> configuration, Map<String, Object> state, Operations ops)
        throws Exception {
      int[] checkpoints = {0};
      connector.update(
          configuration,
          state,
          new Operations() {
            @Override
            public void upsert(String table, Map<String, Object> row) {
              ops.upsert(table, row);
            }

            @Override
            public void update(String table, Map<String, Object> row) {
              ops.update(table, row);
            }

            @Override
            public void delete(String table, Map<String, Object> keys) {
              ops.delete(table, keys);
            }

            @Override
            public void truncate(String table) {
              ops.truncate(table);
            }

            @Override
            public void checkpoint(Map<String, Object> next) {
              ops.checkpoint(next);
              if (++checkpoints[0] == failAfter)
                throw new ConnectorException("the node stopped (test)");
            }
          });
    }
  }
}
