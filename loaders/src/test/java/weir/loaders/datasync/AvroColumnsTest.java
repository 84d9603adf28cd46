package weir.loaders.datasync;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.StringWriter;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.junit.jupiter.api.Test;
import weir.protocol.ColumnType;
import weir.protocol.Json;

class AvroColumnsTest {
  private static final Schema SCHEMA =
      new Schema.Parser()
          .parse(
              """
              {"type": "record", "name": "R", "fields": [
                {"name": "atMicros", "type": {"type": "long", "logicalType": "timestamp-micros"}},
                {"name": "day", "type": ["null", {"type": "int", "logicalType": "date"}]},
                {"name": "mixed", "type": ["null", "string", "long"]},
                {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal",
                  "precision": 9, "scale": 2}},
                {"name": "ratio", "type": "double"},
                {"name": "tags", "type": {"type": "map", "values": "long"}},
                {"name": "loaded_at", "type": "string"},
                {"name": "periodId", "type": "string"},
                {"name": "server_name", "type": "string"},
                {"name": "serverName", "type": "string"}
              ]}
              """);

  @Test
  void typesFollowTheFilesSchemaAndNamesAreMadeSafeAndUnique() {
    List<AvroColumns.Column> columns =
        AvroColumns.columns(SCHEMA, Set.of("period_id"), DataSyncTables.TAKEN);
    assertThat(columns.stream().map(c -> c.name() + ":" + c.type()))
        .containsExactly(
            "at_micros:TIMESTAMP",
            "day:TIMESTAMP",
            "mixed:STRING",
            "amount:STRING",
            "ratio:DOUBLE",
            "tags:JSON",
            "loaded_at_2:STRING",
            "server_name:STRING",
            "server_name_2:STRING");
    assertThat(AvroColumns.typeOf(Schema.create(Schema.Type.INT))).isEqualTo(ColumnType.LONG);
  }

  @Test
  void valuesAreTheTypedJsonTheLoadersRead() throws Exception {
    GenericRecord r = new GenericData.Record(SCHEMA);
    r.put("atMicros", 1_700_000_000_123_456L);
    r.put("day", 20_000);
    r.put("mixed", 42L);
    r.put("amount", ByteBuffer.wrap(new BigDecimal("12.34").unscaledValue().toByteArray()));
    r.put("ratio", Double.NaN);
    r.put("tags", Map.of("a", 1L));
    r.put("loaded_at", "x");
    r.put("periodId", "p");
    r.put("server_name", "s");
    r.put("serverName", "t");
    StringWriter out = new StringWriter();
    try (JsonGenerator g = Json.MAPPER.getFactory().createGenerator(out)) {
      g.writeStartObject();
      for (AvroColumns.Column c : AvroColumns.columns(SCHEMA, Set.of(), DataSyncTables.TAKEN)) {
        g.writeFieldName(c.name());
        AvroColumns.write(g, c, r);
      }
      g.writeEndObject();
    }
    assertThat(out.toString())
        .isEqualTo(
            "{\"at_micros\":\"2023-11-14T22:13:20.123456Z\",\"day\":\"2024-10-04T00:00:00Z\","
                + "\"mixed\":\"42\",\"amount\":\"12.34\",\"ratio\":\"NaN\",\"tags\":{\"a\":1},"
                + "\"loaded_at_2\":\"x\",\"period_id\":\"p\",\"server_name\":\"s\","
                + "\"server_name_2\":\"t\"}");
  }
}
