package weir.loaders.files;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.LogicalTypes;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import weir.protocol.ColumnType;
import weir.protocol.TableSpec;
import weir.protocol.event.CanonicalEventAvro;
import weir.protocol.event.EventTables;
import weir.protocol.event.Timestamps;

/**
 * The Avro schema of a table's files (Avro and Parquet), and the conversion of a staged JSON row
 * into a record of it.
 *
 * <p>Tables of canonical events ({@code tracks}, {@code pages}, ..., and the per-event tables) use
 * the canonical event schema ({@code weir/protocol/canonical_event.avsc}) as it is: their property
 * columns are in {@code properties}, so every event table of every connection has the same file
 * schema. Other tables (webhook tables, {@code users}, dead letters) get a record of their fixed
 * columns: the key column required, the others nullable; JSON columns are JSON text; timestamps are
 * {@code timestamp-millis}.
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
    if (columns.equals(EventTables.CANONICAL))
      return new RecordSchema(CanonicalEventAvro.SCHEMA, columns);
    SchemaBuilder.FieldAssembler<Schema> fields =
        SchemaBuilder.record(spec.name())
            .namespace("weir.tables")
            .doc("Rows of the Weir table " + spec.name())
            .fields();
    for (TableSpec.Column c : columns) {
      Schema type =
          switch (c.type()) {
            case STRING, JSON -> Schema.create(Schema.Type.STRING);
            case LONG -> Schema.create(Schema.Type.LONG);
            case DOUBLE -> Schema.create(Schema.Type.DOUBLE);
            case BOOLEAN -> Schema.create(Schema.Type.BOOLEAN);
            case TIMESTAMP ->
                LogicalTypes.timestampMillis().addToSchema(Schema.create(Schema.Type.LONG));
          };
      if (c.name().equals(spec.keyColumn())) {
        fields = fields.name(c.name()).type(type).noDefault();
      } else {
        fields =
            fields
                .name(c.name())
                .type(Schema.createUnion(Schema.create(Schema.Type.NULL), type))
                .withDefault(null);
      }
    }
    return new RecordSchema(fields.endRecord(), columns);
  }

  /**
   * A table's Avro schema and the column types that say how to read each field from a staged row.
   */
  public static final class RecordSchema {
    private static final JsonFactory JSON = new JsonFactory();
    private final Schema avro;
    private final Map<String, Slot> slots = new LinkedHashMap<>();

    RecordSchema(Schema avro, List<TableSpec.Column> columns) {
      this.avro = avro;
      for (TableSpec.Column c : columns) {
        Schema.Field f = avro.getField(c.name());
        if (f != null) slots.put(c.name(), new Slot(c, f, nonNull(f.schema())));
      }
    }

    public Schema avro() {
      return avro;
    }

    /**
     * The record of one staged row (a JSON object), read in one pass without building a tree: JSON
     * columns keep their text as staged; columns absent from the row are null.
     */
    public GenericRecord record(String json) {
      GenericRecord r = new GenericData.Record(avro);
      try (JsonParser p = JSON.createParser(json)) {
        if (p.nextToken() != JsonToken.START_OBJECT)
          throw new IllegalArgumentException("staged row is not an object");
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String name = p.currentName();
          JsonToken t = p.nextToken();
          Slot slot = slots.get(name);
          if (slot == null || t == JsonToken.VALUE_NULL) {
            p.skipChildren();
            continue;
          }
          r.put(slot.field().pos(), value(slot, t, p, json));
        }
      } catch (IOException e) {
        throw new UncheckedIOException("staged row is not JSON", e);
      }
      for (Slot slot : slots.values()) {
        if (r.get(slot.field().pos()) != null || slot.field().schema().isNullable()) continue;
        if (slot.column().type() != ColumnType.JSON) {
          throw new IllegalArgumentException(
              "row has no value for required column " + slot.column().name());
        }
        r.put(slot.field().pos(), "{}");
      }
      return r;
    }

    /** Where each column goes in the record. */
    private record Slot(TableSpec.Column column, Schema.Field field, Schema type) {}

    private static Object value(Slot slot, JsonToken t, JsonParser p, String json)
        throws IOException {
      boolean container = t == JsonToken.START_OBJECT || t == JsonToken.START_ARRAY;
      if (slot.type().getType() == Schema.Type.ENUM)
        return new GenericData.EnumSymbol(slot.type(), p.getText());
      return switch (slot.column().type()) {
        case JSON, STRING -> container ? rawText(p, json) : p.getText();
        case LONG ->
            t == JsonToken.VALUE_NUMBER_INT
                ? p.getLongValue()
                : Long.parseLong(text(p, json, container));
        case DOUBLE ->
            t.isNumeric() ? p.getDoubleValue() : Double.parseDouble(text(p, json, container));
        case BOOLEAN ->
            t.isBoolean()
                ? t == JsonToken.VALUE_TRUE
                : Boolean.parseBoolean(text(p, json, container));
        case TIMESTAMP ->
            t.isNumeric()
                ? p.getLongValue()
                : Timestamps.parse(text(p, json, container)).toEpochMilli();
      };
    }

    private static String text(JsonParser p, String json, boolean container) throws IOException {
      return container ? rawText(p, json) : p.getText();
    }

    /** The JSON text of the object or array starting at the current token, as it is in the row. */
    private static String rawText(JsonParser p, String json) throws IOException {
      int start = (int) p.currentTokenLocation().getCharOffset();
      p.skipChildren();
      int end = (int) p.currentLocation().getCharOffset();
      return json.substring(start, end);
    }

    private static Schema nonNull(Schema s) {
      if (s.getType() != Schema.Type.UNION) return s;
      return s.getTypes().stream()
          .filter(t -> t.getType() != Schema.Type.NULL)
          .findFirst()
          .orElse(s);
    }
  }
}
