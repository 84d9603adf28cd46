package weir.loaders.datasync;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.StringWriter;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.avro.LogicalType;
import org.apache.avro.LogicalTypes;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericFixed;
import org.apache.avro.generic.IndexedRecord;
import weir.protocol.ColumnType;
import weir.protocol.Json;
import weir.protocol.event.Names;

/**
 * The columns of a Data Sync Avro file, from the file's own schema, and its values as the typed
 * JSON every warehouse loader reads. One column per top-level field, named {@link Names#safe}:
 *
 * <ul>
 *   <li>{@code int}, {@code long}: LONG; with logical type {@code date}, {@code timestamp-millis},
 *       {@code timestamp-micros} (or their {@code local-} forms, read as UTC): TIMESTAMP, written
 *       as an ISO-8601 instant ({@code date}: that day's UTC midnight — there is no DATE column
 *       type)
 *   <li>{@code float}, {@code double}: DOUBLE (NaN and infinities as the strings {@code "NaN"},
 *       {@code "Infinity"}, {@code "-Infinity"})
 *   <li>{@code boolean}: BOOLEAN; {@code string}, {@code enum}: STRING
 *   <li>{@code bytes}, {@code fixed}: STRING, base64; with logical type {@code decimal}: STRING,
 *       the exact decimal
 *   <li>{@code record}, {@code map}, {@code array}: JSON (Avro field names kept inside)
 *   <li>a union of {@code null} and one type: that type; any other union: STRING (a value that is
 *       no string is written as its JSON text)
 * </ul>
 */
final class AvroColumns {
  private AvroColumns() {}

  /** One top-level field as a column. */
  record Column(String name, ColumnType type, Schema.Field field) {}

  /**
   * The columns of {@code record}'s fields. Fields whose name becomes one of {@code filled} (the
   * columns the bill of materials fills in, which win) are left out; a name in {@code taken} or
   * already used by an earlier field gets {@code _2}, {@code _3}, ...
   */
  static List<Column> columns(Schema record, Collection<String> filled, Collection<String> taken) {
    if (record.getType() != Schema.Type.RECORD)
      throw new IllegalArgumentException(
          "the file's schema is " + record.getType() + ", not a record");
    Set<String> used = new HashSet<>(taken);
    List<Column> out = new ArrayList<>();
    for (Schema.Field f : record.getFields()) {
      String name = Names.safe(f.name());
      if (filled.contains(name)) continue;
      String unique = name;
      for (int n = 2; used.contains(unique); n++) {
        String suffix = "_" + n;
        unique =
            name.substring(0, Math.min(name.length(), Names.MAX_LENGTH - suffix.length())) + suffix;
      }
      used.add(unique);
      out.add(new Column(unique, typeOf(f.schema()), f));
    }
    return out;
  }

  /** The column type of a field of {@code schema}. */
  static ColumnType typeOf(Schema schema) {
    return switch (schema.getType()) {
      case UNION -> {
        List<Schema> branches =
            schema.getTypes().stream().filter(t -> t.getType() != Schema.Type.NULL).toList();
        yield branches.size() == 1 ? typeOf(branches.get(0)) : ColumnType.STRING;
      }
      case RECORD, MAP, ARRAY -> ColumnType.JSON;
      case INT, LONG -> timeOf(schema) != null ? ColumnType.TIMESTAMP : ColumnType.LONG;
      case FLOAT, DOUBLE -> ColumnType.DOUBLE;
      case BOOLEAN -> ColumnType.BOOLEAN;
      default -> ColumnType.STRING; // string, enum, bytes, fixed, null
    };
  }

  /** Writes the value of {@code column} in {@code row} as the JSON its column type loads from. */
  static void write(JsonGenerator g, Column column, IndexedRecord row) throws IOException {
    Object value = row.get(column.field().pos());
    Schema schema = column.field().schema();
    if (column.type() == ColumnType.STRING && schema.getType() == Schema.Type.UNION) {
      Schema branch = branch(schema, value);
      if (value == null) g.writeNull();
      else if (isContainer(branch)) g.writeString(jsonText(branch, value));
      else g.writeString(String.valueOf(scalar(branch, value)));
      return;
    }
    writeValue(g, schema, value);
  }

  private static void writeValue(JsonGenerator g, Schema schema, Object v) throws IOException {
    if (v == null) {
      g.writeNull();
      return;
    }
    switch (schema.getType()) {
      case UNION -> writeValue(g, branch(schema, v), v);
      case RECORD -> {
        IndexedRecord r = (IndexedRecord) v;
        g.writeStartObject();
        for (Schema.Field f : schema.getFields()) {
          g.writeFieldName(f.name());
          writeValue(g, f.schema(), r.get(f.pos()));
        }
        g.writeEndObject();
      }
      case MAP -> {
        g.writeStartObject();
        for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
          g.writeFieldName(String.valueOf(e.getKey()));
          writeValue(g, schema.getValueType(), e.getValue());
        }
        g.writeEndObject();
      }
      case ARRAY -> {
        g.writeStartArray();
        for (Object item : (Collection<?>) v) writeValue(g, schema.getElementType(), item);
        g.writeEndArray();
      }
      default -> {
        Object s = scalar(schema, v);
        if (s == null) g.writeNull();
        else if (s instanceof String text) g.writeString(text);
        else if (s instanceof Boolean b) g.writeBoolean(b);
        else if (s instanceof Double d) g.writeNumber(d);
        else if (s instanceof Float f) g.writeNumber(f);
        else if (s instanceof Long l) g.writeNumber(l);
        else if (s instanceof Integer i) g.writeNumber(i);
        else g.writeString(String.valueOf(s));
      }
    }
  }

  /** A non-container value as a String, Boolean, Long, Integer, Double or Float (or null). */
  private static Object scalar(Schema schema, Object v) {
    switch (schema.getType()) {
      case NULL:
        return null;
      case STRING:
      case ENUM:
        return v.toString();
      case BOOLEAN:
        return v;
      case INT:
      case LONG:
        {
          LogicalType time = timeOf(schema);
          long n = ((Number) v).longValue();
          if (time == null) return v;
          if (time instanceof LogicalTypes.Date)
            return LocalDate.ofEpochDay(n).atStartOfDay(ZoneOffset.UTC).toInstant().toString();
          if (time instanceof LogicalTypes.TimestampMicros
              || time instanceof LogicalTypes.LocalTimestampMicros)
            return Instant.ofEpochSecond(
                    Math.floorDiv(n, 1_000_000L), Math.floorMod(n, 1_000_000L) * 1_000L)
                .toString();
          return Instant.ofEpochMilli(n).toString();
        }
      case FLOAT:
      case DOUBLE:
        {
          double d = ((Number) v).doubleValue();
          if (Double.isNaN(d)) return "NaN";
          if (Double.isInfinite(d)) return d > 0 ? "Infinity" : "-Infinity";
          return v;
        }
      case BYTES:
      case FIXED:
        {
          byte[] bytes;
          if (v instanceof ByteBuffer buffer) {
            ByteBuffer copy = buffer.duplicate();
            bytes = new byte[copy.remaining()];
            copy.get(bytes);
          } else {
            bytes = ((GenericFixed) v).bytes();
          }
          if (schema.getLogicalType() instanceof LogicalTypes.Decimal decimal)
            return new BigDecimal(new BigInteger(bytes), decimal.getScale()).toPlainString();
          return Base64.getEncoder().encodeToString(bytes);
        }
      default:
        return String.valueOf(v);
    }
  }

  /** The logical type that makes an int or long a point in time, or null. */
  private static LogicalType timeOf(Schema schema) {
    LogicalType t = schema.getLogicalType();
    return t instanceof LogicalTypes.Date
            || t instanceof LogicalTypes.TimestampMillis
            || t instanceof LogicalTypes.TimestampMicros
            || t instanceof LogicalTypes.LocalTimestampMillis
            || t instanceof LogicalTypes.LocalTimestampMicros
        ? t
        : null;
  }

  private static Schema branch(Schema union, Object v) {
    return union.getTypes().get(GenericData.get().resolveUnion(union, v));
  }

  private static boolean isContainer(Schema s) {
    return s.getType() == Schema.Type.RECORD
        || s.getType() == Schema.Type.MAP
        || s.getType() == Schema.Type.ARRAY;
  }

  private static String jsonText(Schema schema, Object v) throws IOException {
    StringWriter out = new StringWriter();
    try (JsonGenerator g = Json.MAPPER.getFactory().createGenerator(out)) {
      writeValue(g, schema, v);
    }
    return out.toString();
  }
}
