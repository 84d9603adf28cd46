package weir.protocol.event;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.time.Instant;
import java.util.List;
import org.apache.avro.file.DataFileReader;
import org.apache.avro.file.DataFileWriter;
import org.apache.avro.file.SeekableByteArrayInput;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.junit.jupiter.api.Test;
import weir.protocol.Json;
import weir.protocol.StagedRow;

class EventTablesTest {
  private static CanonicalEvent event(
      CanonicalEvent.Type type,
      String name,
      String userId,
      ObjectNode properties,
      ObjectNode traits) {
    Instant t = Instant.parse("2026-11-21T10:00:00Z");
    return new CanonicalEvent(
        "e-1",
        type,
        name,
        "anon",
        userId,
        t,
        t.minusSeconds(3),
        t.plusSeconds(1),
        t,
        JsonNodeFactory.instance.objectNode().put("ip", "1.2.3.4"),
        properties,
        traits,
        "c1");
  }

  @Test
  void namesAreSnakeCaseSafeAndStable() {
    assertThat(Names.safe("Order Completed")).isEqualTo("order_completed");
    assertThat(Names.safe("productId")).isEqualTo("product_id");
    assertThat(Names.safe("HTTPStatus")).isEqualTo("http_status");
    assertThat(Names.safe("  ünïcode / stuff!! ")).isEqualTo("n_code_stuff");
    assertThat(Names.safe("3d view")).isEqualTo("_3d_view");
    assertThat(Names.safe("select")).isEqualTo("select_");
    assertThat(Names.safe("Order")).isEqualTo("order_");
    assertThat(Names.safe("x".repeat(100))).hasSize(63);
    assertThat(Names.safe("!!!")).isEqualTo("unnamed");
  }

  @Test
  void aTrackIsARowInTracksAndInItsEventTableWithOneColumnPerProperty() throws Exception {
    ObjectNode props = JsonNodeFactory.instance.objectNode();
    props
        .put("revenue", 12.5)
        .put("productId", "p1")
        .put("product_id", "dup")
        .put("timestamp", "t")
        .putObject("cart")
        .put("items", 2);
    props.putNull("gone");
    List<StagedRow> rows =
        EventTables.rows(
            event(
                CanonicalEvent.Type.track,
                "Order Completed",
                "u1",
                props,
                JsonNodeFactory.instance.objectNode()));
    assertThat(rows).extracting(StagedRow::table).containsExactly("tracks", "order_completed");
    JsonNode tracks = Json.MAPPER.readTree(rows.get(0).json());
    assertThat(tracks.get("event").asText()).isEqualTo("Order Completed");
    assertThat(tracks.get("timestamp").asText()).isEqualTo("2026-11-21T10:00:00Z");
    assertThat(tracks.get("properties").get("revenue").decimalValue()).isEqualByComparingTo("12.5");
    assertThat(tracks.has("revenue")).isFalse();
    JsonNode perEvent = Json.MAPPER.readTree(rows.get(1).json());
    assertThat(perEvent.get("revenue").decimalValue()).isEqualByComparingTo("12.5");
    assertThat(perEvent.get("product_id").asText())
        .as("keys in order: productId first")
        .isEqualTo("p1");
    assertThat(perEvent.get("product_id_2").asText()).isEqualTo("dup");
    assertThat(perEvent.get("property_timestamp").asText()).isEqualTo("t");
    assertThat(perEvent.get("timestamp").asText()).isEqualTo("2026-11-21T10:00:00Z");
    assertThat(perEvent.get("cart").asText()).isEqualTo("{\"items\":2}");
    assertThat(perEvent.has("gone")).isFalse();
    assertThat(EventTables.eventTableName("Users")).isEqualTo("track_users");
  }

  @Test
  void anIdentifyWithAUserIdAlsoFeedsUsers() throws Exception {
    ObjectNode traits = JsonNodeFactory.instance.objectNode().put("plan", "pro");
    List<StagedRow> rows =
        EventTables.rows(
            event(
                CanonicalEvent.Type.identify,
                null,
                "u1",
                JsonNodeFactory.instance.objectNode(),
                traits));
    assertThat(rows).extracting(StagedRow::table).containsExactly("identifies", "users");
    JsonNode user = Json.MAPPER.readTree(rows.get(1).json());
    assertThat(user.get("user_id").asText()).isEqualTo("u1");
    assertThat(user.at("/traits/plan").asText()).isEqualTo("pro");
    assertThat(user.get("first_seen").asText()).isEqualTo(user.get("last_seen").asText());
    assertThat(
            EventTables.rows(
                event(
                    CanonicalEvent.Type.identify,
                    null,
                    null,
                    JsonNodeFactory.instance.objectNode(),
                    traits)))
        .extracting(StagedRow::table)
        .containsExactly("identifies");
  }

  @Test
  void theAvroCodecRoundTripsThroughAContainerFile() throws Exception {
    CanonicalEvent e =
        event(
            CanonicalEvent.Type.track,
            "Signed Up",
            "u1",
            JsonNodeFactory.instance.objectNode().put("plan", "pro"),
            JsonNodeFactory.instance.objectNode());
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (DataFileWriter<GenericRecord> w =
        new DataFileWriter<>(new GenericDatumWriter<>(CanonicalEventAvro.SCHEMA))) {
      w.create(CanonicalEventAvro.SCHEMA, bytes);
      w.append(CanonicalEventAvro.toRecord(e));
    }
    try (DataFileReader<GenericRecord> r =
        new DataFileReader<>(
            new SeekableByteArrayInput(bytes.toByteArray()), new GenericDatumReader<>())) {
      assertThat(CanonicalEventAvro.fromRecord(r.next())).isEqualTo(e);
    }
  }
}
