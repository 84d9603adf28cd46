package weir.sdk.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import weir.sdk.ColumnType;
import weir.sdk.ConnectorException;
import weir.sdk.ExtractMode;
import weir.sdk.Operations;
import weir.sdk.SourceConnector;
import weir.sdk.Table;

class ConnectorHarnessTest {
  /**
   * A source of orders read page by page from a cursor (as an HTTP API would be), with a tombstone
   * list, a snapshot of plans and an append-only log; it can fail after a given page.
   */
  static final class OrdersConnector implements SourceConnector {
    final List<Map<String, Object>> orders = new ArrayList<>();
    final List<Long> cancelled = new ArrayList<>();
    List<String> plans = List.of("free", "pro");
    int failAfterPage = -1;

    void order(long id, Object amount) {
      Map<String, Object> o = new LinkedHashMap<>();
      o.put("id", id);
      o.put("amount", amount);
      o.put("status", "open");
      orders.add(o);
    }

    @Override
    public List<Table> schema(Map<String, String> configuration) {
      return List.of(
          Table.of("orders", "id"),
          Table.of("plans", "name").withExtractMode(ExtractMode.SNAPSHOT),
          new Table(
              "log",
              List.of(),
              Map.of("line", ColumnType.STRING),
              ExtractMode.INCREMENTAL_APPENDS));
    }

    @Override
    public void update(
        Map<String, String> configuration, Map<String, Object> state, Operations ops) {
      int pageSize = Integer.parseInt(configuration.getOrDefault("page_size", "2"));
      int cursor = ((Number) state.getOrDefault("cursor", 0)).intValue();
      int page = 0;
      while (cursor < orders.size()) {
        for (int i = cursor; i < Math.min(orders.size(), cursor + pageSize); i++)
          ops.upsert("orders", orders.get(i));
        cursor = Math.min(orders.size(), cursor + pageSize);
        ops.checkpoint(Map.of("cursor", cursor));
        if (++page == failAfterPage) throw new ConnectorException("the API answered 503");
      }
      for (long id : cancelled) ops.update("orders", Map.of("id", id, "status", "cancelled"));
      ops.update("orders", Map.of("id", 999L, "status", "ghost"));
      for (String p : plans) ops.upsert("plans", Map.of("name", p));
      ops.upsert("log", Map.of("line", "synced to " + cursor));
    }
  }

  @Test
  void syncsContinueFromTheCheckpointAndAFailedSyncResumesWithNothingTwice() {
    OrdersConnector source = new OrdersConnector();
    for (long i = 1; i <= 5; i++) source.order(i, (int) i * 10);
    ConnectorHarness harness = new ConnectorHarness(source, Map.of("page_size", "2"));

    source.failAfterPage = 2;
    ConnectorHarness.SyncResult failed = harness.sync();
    assertThat(failed.succeeded()).isFalse();
    assertThat(failed.error()).isEqualTo("the API answered 503");
    assertThat(harness.state()).containsEntry("cursor", 4);
    assertThat(harness.liveRows("orders")).hasSize(4);

    source.failAfterPage = -1;
    ConnectorHarness.SyncResult ok = harness.sync();
    assertThat(ok.succeeded()).isTrue();
    assertThat(ok.tables().get("orders").upserts()).as("only from the checkpoint on").isEqualTo(1);
    assertThat(harness.rows("orders"))
        .extracting(r -> r.get("id"))
        .containsExactly(1L, 2L, 3L, 4L, 5L);
    assertThat(harness.state()).containsEntry("cursor", 5);

    // New rows and a cancellation: the update changes one column; one of a missing key is ignored.
    source.order(6, 60);
    source.cancelled.add(2L);
    harness.sync();
    assertThat(harness.liveRows("orders")).hasSize(6);
    Map<String, Object> two =
        harness.rows("orders").stream()
            .filter(r -> r.get("id").equals(2L))
            .findFirst()
            .orElseThrow();
    assertThat(two).containsEntry("status", "cancelled").containsEntry("amount", 20);
    assertThat(harness.rows("orders")).noneMatch(r -> r.get("id").equals(999L));
    assertThat(harness.rows("orders"))
        .allSatisfy(r -> assertThat(r).containsKeys("_weir_synced", "_weir_deleted"));
  }

  @Test
  void snapshotTablesKeepWhatTheLastSyncSentAndAppendTablesAppend() {
    OrdersConnector source = new OrdersConnector();
    ConnectorHarness harness = new ConnectorHarness(source, Map.of());
    harness.sync();
    source.plans = List.of("pro", "team");
    harness.sync();
    assertThat(harness.liveRows("plans"))
        .extracting(r -> r.get("name"))
        .containsExactlyInAnyOrder("pro", "team");
    assertThat(harness.rows("plans"))
        .filteredOn(r -> r.get("name").equals("free"))
        .singleElement()
        .satisfies(r -> assertThat(r).containsEntry("_weir_deleted", true));
    assertThat(harness.rows("log"))
        .hasSize(2)
        .extracting(r -> r.get("_weir_id"))
        .doesNotHaveDuplicates();
  }

  @Test
  void columnTypesAreInferredAndWidenedAndDeclaredOnesKept() {
    OrdersConnector source = new OrdersConnector();
    source.order(1, 10);
    ConnectorHarness harness = new ConnectorHarness(source, Map.of());
    harness.sync();
    assertThat(harness.columns("orders"))
        .containsEntry("id", ColumnType.LONG)
        .containsEntry("amount", ColumnType.INT)
        .containsEntry("status", ColumnType.STRING);
    source.order(2, 10_000_000_000L);
    harness.sync();
    assertThat(harness.columns("orders")).containsEntry("amount", ColumnType.LONG);
    source.order(3, "n/a");
    harness.sync();
    assertThat(harness.columns("orders")).containsEntry("amount", ColumnType.STRING);
    assertThat(harness.columns("log")).containsEntry("line", ColumnType.STRING);
  }

  @Test
  void aResyncStartsFromAnEmptyStateWithItsTablesTruncatedFirst() {
    OrdersConnector source = new OrdersConnector();
    for (long i = 1; i <= 3; i++) source.order(i, 1);
    ConnectorHarness harness = new ConnectorHarness(source, Map.of());
    harness.sync();
    source.orders.remove(0);
    harness.resync();
    assertThat(harness.state()).isEmpty();
    ConnectorHarness.SyncResult r = harness.sync();
    assertThat(r.tables().get("orders").upserts()).isEqualTo(2);
    assertThat(harness.liveRows("orders")).extracting(x -> x.get("id")).containsExactly(2L, 3L);
    assertThat(harness.rows("orders")).hasSize(3);
  }

  @Test
  void mistakesFailTheSyncWithAClearMessage() {
    SourceConnector badState =
        new SourceConnector() {
          @Override
          public List<Table> schema(Map<String, String> configuration) {
            return List.of(Table.of("t", "id"));
          }

          @Override
          public void update(Map<String, String> c, Map<String, Object> s, Operations ops) {
            ops.upsert("t", Map.of("id", 1));
            ops.checkpoint(Map.of("at", new Object()));
          }
        };
    ConnectorHarness.SyncResult r = new ConnectorHarness(badState, Map.of()).sync();
    assertThat(r.succeeded()).isFalse();
    assertThat(r.error()).contains("not JSON-serialisable");

    SourceConnector unknownTable =
        new SourceConnector() {
          @Override
          public List<Table> schema(Map<String, String> configuration) {
            return List.of(Table.of("t", "id"));
          }

          @Override
          public void update(Map<String, String> c, Map<String, Object> s, Operations ops) {
            ops.upsert("u", Map.of("id", 1));
          }
        };
    assertThat(new ConnectorHarness(unknownTable, Map.of()).sync().error())
        .contains("table 'u' is not in schema()");
    SourceConnector noKey =
        new SourceConnector() {
          @Override
          public List<Table> schema(Map<String, String> configuration) {
            return List.of(Table.of("t", "id"));
          }

          @Override
          public void update(Map<String, String> c, Map<String, Object> s, Operations ops) {
            ops.upsert("t", Map.of("name", "x"));
          }
        };
    assertThat(new ConnectorHarness(noKey, Map.of()).sync().error())
        .contains("needs its primary key column 'id'");
  }
}
