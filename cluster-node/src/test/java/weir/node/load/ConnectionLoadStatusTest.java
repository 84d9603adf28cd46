package weir.node.load;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.serialization.Serialization;
import akka.serialization.SerializationExtension;
import akka.serialization.Serializer;
import akka.serialization.Serializers;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.cbor.databind.CBORMapper;
import com.typesafe.config.ConfigFactory;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** A status from a member of the previous version (no {@code recentLoads}) still reads. */
class ConnectionLoadStatusTest {
  private static final ActorTestKit testKit =
      ActorTestKit.create(
          "connection-load-status",
          ConfigFactory.parseString("akka.actor.provider = local")
              .withFallback(ConfigFactory.load()));

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  private static LoadCoordinator.ConnectionLoadStatus status(
      List<LoadCoordinator.LoadView> recentLoads) {
    return new LoadCoordinator.ConnectionLoadStatus(
        1, 2, 3, 4, 5, null, 0, false, List.of(), List.of(), 6, 7, recentLoads);
  }

  @Test
  void aStatusWithoutRecentLoadsHasAnEmptyList() {
    assertThat(status(null).recentLoads()).isEmpty();
  }

  @Test
  void aStatusSerializedByAnOlderMemberWithoutRecentLoadsDeserializesWithAnEmptyList()
      throws Exception {
    Serialization serialization = SerializationExtension.get(testKit.system().classicSystem());
    LoadCoordinator.ConnectionLoadStatus now =
        status(List.of(new LoadCoordinator.LoadView(10, 20, 1, 5, 5, 0, null)));
    Serializer serializer = serialization.findSerializerFor(now);
    String manifest = Serializers.manifestFor(serializer, now);
    CBORMapper cbor = new CBORMapper();
    ObjectNode fields = (ObjectNode) cbor.readTree(serializer.toBinary(now));
    assertThat(fields.has("recentLoads")).isTrue();
    fields.remove("recentLoads"); // as the previous version wrote it
    Object old =
        serialization
            .deserialize(cbor.writeValueAsBytes(fields), serializer.identifier(), manifest)
            .get();
    assertThat(old).isEqualTo(status(List.of()));
  }
}
