package weir.loaders.files;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.LogicalTypes;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import weir.protocol.ColumnType;
import weir.protocol.Json;
import weir.protocol.TableSpec;
import weir.protocol.event.CanonicalEventAvro;
import weir.protocol.event.EventTables;

/**
 * The Avro schema of a table's files (Avro and Parquet), and the conversion of a staged JSON row into a record
 * of it.
 *
 * <p>Tables of canonical events ({@code tracks}, {@code pages}, ..., and the per-event tables) use the canonical
 * event schema ({@code weir/protocol/canonical_event.avsc}) as it is: their property columns are in
 * {@code properties}, so every event table of every connection has the same file schema. Other tables
 * (webhook tables, {@code users}, dead letters) get a record of their fixed columns: the key column required,
 * the others nullable; JSON columns are JSON text; timestamps are {@code timestamp-millis}.
 */
public final class TableSchemas {
  private static final Map<TableSpec, RecordSchema> CACHE = new ConcurrentHashMap<>();

  private TableSchemas() {}

  /** The file schema of {@code spec}. */
  public static RecordSchema forTable(TableSpec spec) {
    return CACHE.computeIfAbsent(spec, TableSchemas::build);
  }

  private static RecordSchema build(TableSpec spec) {
    List<TableSpec.Column> columns = spec.columns();
    if (columns.equals(EventTables.CANONICAL)) return new RecordSchema(CanonicalEventAvro.SCHEMA, columns);
    SchemaBuilder.FieldAssembler<Schema> fields = SchemaBuilder.record(spec.name()).namespace("weir.tables")
        .doc("Rows of the Weir table " + spec.name()).fields();
    for (TableSpec.Column c : columns) {
      Schema type = switch (c.type()) {
        case STRING, JSON -> Schema.create(Schema.Type.STRING);
        case LONG -> Schema.create(Schema.Type.LONG);
        case DOUBLE -> Schema.create(Schema.Type.DOUBLE);
        case BOOLEAN -> Schema.create(Schema.Type.BOOLEAN);
        case TIMESTAMP -> LogicalTypes.timestampMillis().addToSchema(Schema.create(Schema.Type.LONG));
      };
      if (c.name().equals(spec.keyColumn())) {
        fields = fields.name(c.name()).type(type).noDefault();
      } else {
        fields = fields.name(c.name()).type(Schema.createUnion(Schema.create(Schema.Type.NULL), type)).withDefault(null);
      }
    }
    return new RecordSchema(fields.endRecord(), columns);
  }

  /** A table's Avro schema and the column types that say how to read each field from a staged row. */
  public record RecordSchema(Schema avro, List<TableSpec.Column> columns) {

    /** The record of one staged row (a JSON object); columns absent from the row are null. */
    public GenericRecord record(String json) {
      ObjectNode row;
      try {
        row = (ObjectNode) Json.MAPPER.readTree(json);
      } catch (IOException e) {
        throw new UncheckedIOException("staged row is not JSON", e);
      }
      GenericRecord r = new GenericData.Record(avro);
      for (TableSpec.Column c : columns) {
        Schema.Field field = avro.getField(c.name());
        if (field == null) continue;
        JsonNode v = row.get(c.name());
        Schema type = nonNull(field.schema());
        if (v == null || v.isNull()) {
          if (field.schema().isNullable()) continue;
          if (c.type() == ColumnType.JSON) {
            r.put(field.pos(), "{}");
            continue;
          }
          throw new IllegalArgumentException("row has no value for required column " + c.name());
        }
        r.put(field.pos(), value(c.type(), type, v));
      }
      return r;
    }

    private static Object value(ColumnType column, Schema type, JsonNode v) {
      if (type.getType() == Schema.Type.ENUM) return new GenericData.EnumSymbol(type, v.asText());
      return switch (column) {
        case JSON -> v.isTextual() ? v.asText() : Json.write(v);
        case STRING -> v.isValueNode() ? v.asText() : Json.write(v);
        case LONG -> v.isNumber() ? v.longValue() : Long.parseLong(v.asText());
        case DOUBLE -> v.isNumber() ? v.doubleValue() : Double.parseDouble(v.asText());
        case BOOLEAN -> v.isBoolean() ? v.booleanValue() : Boolean.parseBoolean(v.asText());
        case TIMESTAMP -> v.isNumber() ? v.longValue() : parseInstant(v.asText()).toEpochMilli();
      };
    }

    private static Instant parseInstant(String text) {
      try {
        return Instant.parse(text);
      } catch (java.time.format.DateTimeParseException e) {
        return OffsetDateTime.parse(text).toInstant();
      }
    }

    private static Schema nonNull(Schema s) {
      if (s.getType() != Schema.Type.UNION) return s;
      return s.getTypes().stream().filter(t -> t.getType() != Schema.Type.NULL).findFirst().orElse(s);
    }
  }
}
