package weir.persistence.registry;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.pattern.StatusReply;
import akka.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class RegistryTest {
  private static final ActorTestKit testKit =
      ActorTestKit.create(EventSourcedBehaviorTestKit.config());

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  private static Connection snowplow(String id, String appId) {
    return new Connection(
        id,
        id,
        ConnectionKind.snowplow,
        "d1",
        id,
        null,
        500,
        60,
        900,
        4,
        null,
        null,
        "wk-" + id,
        appId,
        0,
        0);
  }

  @Test
  void anAppIdBelongsToOneSnowplowConnectionWhicheverNodeWrites() {
    var registry =
        EventSourcedBehaviorTestKit.<Registry.Command, Registry.Event, Registry.State>create(
            testKit.system(), Registry.create());
    registry.<StatusReply<Destination>>runCommand(
        r ->
            new Registry.CreateDestination(
                new Destination("d1", "wh", "duckdb", Map.of("path", "x.duckdb"), Map.of(), 0, 0),
                r));
    var first =
        registry.<StatusReply<Connection>>runCommand(
            r -> new Registry.CreateConnection(snowplow("c1", "shop"), r));
    assertThat(first.reply().isSuccess()).isTrue();

    // Two nodes whose caches both missed the first: the registry refuses the second.
    var second =
        registry.<StatusReply<Connection>>runCommand(
            r -> new Registry.CreateConnection(snowplow("c2", "shop"), r));
    assertThat(second.reply().isError()).isTrue();
    assertThat(Registry.errorCode(second.reply().getError().getMessage()))
        .isEqualTo("app_id_in_use");
    assertThat(second.events()).isEmpty();

    var other =
        registry.<StatusReply<Connection>>runCommand(
            r -> new Registry.CreateConnection(snowplow("c3", "blog"), r));
    assertThat(other.reply().isSuccess()).isTrue();
    var patched =
        registry.<StatusReply<Connection>>runCommand(
            r -> new Registry.UpdateConnection(snowplow("c3", "shop"), r));
    assertThat(Registry.errorCode(patched.reply().getError().getMessage()))
        .isEqualTo("app_id_in_use");
    var same =
        registry.<StatusReply<Connection>>runCommand(
            r -> new Registry.UpdateConnection(snowplow("c1", "shop"), r));
    assertThat(same.reply().isSuccess()).as("a connection keeps its own app id").isTrue();

    registry.<StatusReply<Connection>>runCommand(r -> new Registry.DeleteConnection("c1", r));
    var afterDelete =
        registry.<StatusReply<Connection>>runCommand(
            r -> new Registry.UpdateConnection(snowplow("c3", "shop"), r));
    assertThat(afterDelete.reply().isSuccess())
        .as("a deleted connection's app id is free again")
        .isTrue();
  }

  @Test
  void whatAConnectorSyncLearntSurvivesUpdatesFromOlderCopiesAndRestarts() {
    var registry =
        akka.persistence.testkit.javadsl.EventSourcedBehaviorTestKit
            .<Registry.Command, Registry.Event, Registry.State>create(
                testKit.system(), Registry.create());
    registry.<StatusReply<Destination>>runCommand(
        r ->
            new Registry.CreateDestination(
                new Destination("d1", "wh", "duckdb", Map.of("path", "x.duckdb"), Map.of(), 0, 0),
                r));
    Connection base = snowplow("k1", null);
    ConnectorSource source =
        new ConnectorSource(
            "ab".repeat(32),
            "com.example.C",
            Map.of("token", "enc:v1:x"),
            Map.of(),
            "enc:v1:s",
            Map.of());
    Connection connector =
        new Connection(
            "k1",
            "k1",
            ConnectionKind.connector,
            "d1",
            "k1",
            null,
            500,
            60,
            900,
            1,
            null,
            null,
            "wk",
            null,
            0,
            0,
            java.util.List.of(),
            Map.of(),
            source);
    assertThat(
            registry
                .<StatusReply<Connection>>runCommand(
                    r -> new Registry.CreateConnection(connector, r))
                .reply()
                .isSuccess())
        .isTrue();
    Map<String, Map<String, weir.protocol.ColumnType>> learnt =
        Map.of("orders", Map.of("placed_at", weir.protocol.ColumnType.TIMESTAMP));
    registry.<StatusReply<Connection>>runCommand(
        r -> new Registry.LearnConnectorColumns("k1", learnt, r));
    // A PATCH written from a copy read before the sync learnt its columns, and one from a copy
    // that lost the connector (a constructor without it): neither drops nor reverts them.
    registry.<StatusReply<Connection>>runCommand(r -> new Registry.UpdateConnection(connector, r));
    Connection withoutConnector =
        new Connection(
            "k1",
            "renamed",
            ConnectionKind.connector,
            "d1",
            "k1",
            null,
            500,
            60,
            900,
            1,
            null,
            null,
            "wk",
            null,
            0,
            0);
    registry.<StatusReply<Connection>>runCommand(
        r -> new Registry.UpdateConnection(withoutConnector, r));
    registry.restart();
    Connection stored = registry.getState().connections().get("k1");
    assertThat(stored.name()).isEqualTo("renamed");
    assertThat(stored.connector().className()).isEqualTo("com.example.C");
    assertThat(stored.connector().tables()).isEqualTo(learnt);
    assertThat(base.connector()).isNull();
  }

  @Test
  void anExportIsRegisteredStoppedAndKeepsItsLakeFromBeingDeleted() {
    var registry =
        EventSourcedBehaviorTestKit.<Registry.Command, Registry.Event, Registry.State>create(
            testKit.system(), Registry.create());
    registry.<StatusReply<Destination>>runCommand(
        r ->
            new Registry.CreateDestination(
                new Destination("d1", "wh", "duckdb", Map.of("path", "x.duckdb"), Map.of(), 0, 0),
                r));
    registry.<StatusReply<Destination>>runCommand(
        r ->
            new Registry.CreateDestination(
                new Destination("lake", "lake", "filesystem", Map.of("path", "l"), Map.of(), 0, 0),
                r));
    Connection c =
        snowplow("c1", "shop")
            .withPageRules(java.util.List.of(new weir.protocol.datasync.PageRule("p", "P", "/p")));
    registry.<StatusReply<Connection>>runCommand(r -> new Registry.CreateConnection(c, r));
    Export x = new Export("x1", "daily", "c1", "lake", Export.Type.recurring, null, null, 9, 1, 0);
    assertThat(
            registry
                .<StatusReply<Export>>runCommand(r -> new Registry.CreateExport(x, r))
                .reply()
                .isSuccess())
        .isTrue();
    assertThat(
            registry
                .<StatusReply<Export>>runCommand(
                    r ->
                        new Registry.CreateExport(
                            new Export(
                                "x2", "n", "c_nope", "lake", Export.Type.test, null, null, 9, 1, 0),
                            r))
                .reply()
                .getError()
                .getMessage())
        .startsWith("connection_not_found");
    var refused =
        registry.<StatusReply<Destination>>runCommand(
            r -> new Registry.DeleteDestination("lake", r));
    assertThat(refused.reply().getError().getMessage())
        .startsWith("destination_in_use")
        .contains("export x1");

    registry.<StatusReply<Export>>runCommand(r -> new Registry.StopExport("x1", r));
    registry.restart();
    assertThat(registry.getState().exports().get("x1").active()).isFalse();
    assertThat(registry.getState().connections().get("c1").pageRules())
        .extracting(weir.protocol.datasync.PageRule::pattern)
        .containsExactly("/p");
    assertThat(
            registry
                .<StatusReply<Destination>>runCommand(
                    r -> new Registry.DeleteDestination("lake", r))
                .reply()
                .isSuccess())
        .isTrue();
  }
}
