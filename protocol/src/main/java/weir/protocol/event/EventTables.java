package weir.protocol.event;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import weir.protocol.ColumnType;
import weir.protocol.Json;
import weir.protocol.StagedRow;
import weir.protocol.TableSpec;

/**
 * The warehouse tables of Segment and Snowplow connections (API.md, Warehouse tables) and the rows
 * one {@link CanonicalEvent} becomes:
 *
 * <ul>
 *   <li>one row in its type's table ({@code tracks}, {@code pages}, ...), canonical columns;
 *   <li>a track event also in the table named after the event ({@code order_completed}): canonical
 *       columns plus one column per top-level property (name made safe by {@link Names}; a name
 *       taken by a canonical column gets a {@code property_} prefix; two keys with the same safe
 *       name: the second gets {@code _2}, in key order). Objects and arrays are stored as JSON
 *       text;
 *   <li>an identify with a user id also in {@code users}, merged by {@code user_id} (traits merged,
 *       latest wins; {@code first_seen}/{@code last_seen}).
 * </ul>
 */
public final class EventTables {
  public static final String USERS = "users";

  /** Canonical columns staged in every event row ({@code loaded_at} is added by the loader). */
  public static final List<TableSpec.Column> CANONICAL =
      List.of(
          new TableSpec.Column("event_id", ColumnType.STRING),
          new TableSpec.Column("type", ColumnType.STRING),
          new TableSpec.Column("event", ColumnType.STRING),
          new TableSpec.Column("anonymous_id", ColumnType.STRING),
          new TableSpec.Column("user_id", ColumnType.STRING),
          new TableSpec.Column("timestamp", ColumnType.TIMESTAMP),
          new TableSpec.Column("original_timestamp", ColumnType.TIMESTAMP),
          new TableSpec.Column("received_at", ColumnType.TIMESTAMP),
          new TableSpec.Column("sent_at", ColumnType.TIMESTAMP),
          new TableSpec.Column("context", ColumnType.JSON),
          new TableSpec.Column("properties", ColumnType.JSON),
          new TableSpec.Column("traits", ColumnType.JSON),
          new TableSpec.Column("connection_id", ColumnType.STRING));

  private static final Set<String> CANONICAL_NAMES =
      new HashSet<>(CANONICAL.stream().map(TableSpec.Column::name).toList());

  /** Table names that a track event name must not take. */
  private static final Set<String> FIXED_TABLES =
      Set.of("tracks", "identifies", "pages", "screens", "groups", "aliases", USERS, "_weir_loads");

  private EventTables() {}

  /** The fixed table of a type: canonical columns, deduplicated on event_id. */
  public static TableSpec typeTable(CanonicalEvent.Type type) {
    return TableSpec.events(type.table(), CANONICAL);
  }

  /** A per-event table: canonical columns plus property columns found in the data. */
  public static TableSpec eventTable(String table) {
    return TableSpec.events(table, CANONICAL).withDynamicColumns();
  }

  /** The users table, merged by user_id. */
  public static TableSpec usersTable() {
    return TableSpec.merged(
        USERS,
        List.of(
            new TableSpec.Column("user_id", ColumnType.STRING, TableSpec.Merge.KEY),
            new TableSpec.Column("anonymous_id", ColumnType.STRING, TableSpec.Merge.LATEST),
            new TableSpec.Column("traits", ColumnType.JSON, TableSpec.Merge.JSON_PATCH),
            new TableSpec.Column("first_seen", ColumnType.TIMESTAMP, TableSpec.Merge.MIN),
            new TableSpec.Column("last_seen", ColumnType.TIMESTAMP, TableSpec.Merge.MAX)),
        "last_seen");
  }

  /** The table spec for any table name these events produce. */
  public static TableSpec specFor(String table) {
    if (table.equals(USERS)) return usersTable();
    for (CanonicalEvent.Type t : CanonicalEvent.Type.values()) {
      if (t.table().equals(table)) return typeTable(t);
    }
    return eventTable(table);
  }

  /** The per-event table of a track event name. */
  public static String eventTableName(String eventName) {
    String name = Names.safe(eventName);
    return FIXED_TABLES.contains(name) ? "track_" + name : name;
  }

  /**
   * Every staged row of one event: its {@link #row} and what {@link #expand} derives from it.
   * Buffers journal only the first; staging expands.
   */
  public static List<StagedRow> rows(CanonicalEvent e) {
    StagedRow row = row(e);
    List<StagedRow> rows = new ArrayList<>(3);
    rows.add(row);
    rows.addAll(expand(row));
    return rows;
  }

  /**
   * The one row an event is journaled as: its type table's row ({@code tracks}, {@code pages}, ...)
   * with the canonical columns. It holds everything the event's other rows are derived from ({@link
   * #expand}).
   */
  public static StagedRow row(CanonicalEvent e) {
    // Files are partitioned by the event's (skew-corrected) time, so a period is the events of that
    // day.
    return new StagedRow(
        e.type().table(), e.eventId(), e.timestamp().toEpochMilli(), canonicalRow(e));
  }

  /**
   * The rows derived from an event's {@link #row}: a track's row in its per-event table (canonical
   * columns plus one column per top-level property), an identify's row in {@code users}; nothing
   * for other rows (webhook rows, dead letters, other types). Deterministic: the same row always
   * gives the same rows.
   */
  public static List<StagedRow> expand(StagedRow row) {
    boolean track = row.table().equals(CanonicalEvent.Type.track.table());
    boolean identify = row.table().equals(CanonicalEvent.Type.identify.table());
    if (!track && !identify) return List.of();
    if (track) return perEventRow(row);
    ObjectNode canonical;
    try {
      canonical = (ObjectNode) Json.MAPPER.readTree(row.json());
    } catch (IOException | ClassCastException e) {
      throw new IllegalArgumentException("not a canonical event row: " + row.eventId(), e);
    }
    JsonNode userId = canonical.get("user_id");
    if (userId == null || !userId.isTextual()) return List.of();
    ObjectNode user = JsonNodeFactory.instance.objectNode();
    user.put("event_id", row.eventId());
    user.set("user_id", userId);
    user.set("anonymous_id", canonical.get("anonymous_id"));
    user.set("traits", canonical.get("traits"));
    user.set("first_seen", canonical.get("timestamp"));
    user.set("last_seen", canonical.get("timestamp"));
    return List.of(new StagedRow(USERS, row.eventId(), row.timestampMillis(), Json.write(user)));
  }

  /**
   * A track's row in its per-event table: the canonical row's text with one column per top-level
   * property appended ({@link #propertyColumns}; objects and arrays as their JSON text, nulls left
   * out). Read with a streaming parser, the values copied as the text they have in the row: the
   * canonical row is Jackson's own compact output, so that text is what writing the parsed value
   * again would give, without building and writing a tree per staged event (a tenth of the CPU of a
   * batch load in the profile).
   */
  private static List<StagedRow> perEventRow(StagedRow row) {
    String json = row.json();
    String event = null;
    Map<String, String> properties = new TreeMap<>();
    try (JsonParser p = Json.MAPPER.getFactory().createParser(json)) {
      if (p.nextToken() != JsonToken.START_OBJECT) throw new IOException("not an object");
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        JsonToken value = p.nextToken();
        if (field.equals("event") && value == JsonToken.VALUE_STRING) {
          event = p.getText();
        } else if (field.equals("properties") && value == JsonToken.START_OBJECT) {
          while (p.nextToken() == JsonToken.FIELD_NAME) {
            String key = p.currentName();
            JsonToken v = p.nextToken();
            int start = (int) p.currentTokenLocation().getCharOffset();
            if (v.isStructStart()) {
              p.skipChildren();
              String text = json.substring(start, (int) p.currentLocation().getCharOffset());
              properties.put(key, quoted(text));
            } else if (v != JsonToken.VALUE_NULL) {
              p.finishToken();
              properties.put(key, json.substring(start, (int) p.currentLocation().getCharOffset()));
            } else {
              properties.remove(key); // a later null of the same key, as the tree would hold it
            }
          }
        } else {
          p.skipChildren();
        }
      }
    } catch (IOException e) {
      throw new IllegalArgumentException("not a canonical event row: " + row.eventId(), e);
    }
    if (event == null) return List.of();
    int end = json.lastIndexOf('}');
    StringBuilder out = new StringBuilder(json.length() + 16 * properties.size());
    out.append(json, 0, end);
    for (Map.Entry<String, String> column : propertyColumns(properties).entrySet()) {
      out.append(",\""); // a canonical row is never empty
      JsonStringEncoder.getInstance().quoteAsString(column.getKey(), out);
      out.append("\":").append(column.getValue());
    }
    out.append('}');
    return List.of(
        new StagedRow(eventTableName(event), row.eventId(), row.timestampMillis(), out.toString()));
  }

  private static String quoted(String text) {
    StringBuilder b = new StringBuilder(text.length() + 8).append('"');
    JsonStringEncoder.getInstance().quoteAsString(text, b);
    return b.append('"').toString();
  }

  /**
   * Top-level properties (keys in order, nulls already left out) under their column names
   * (deterministic; collisions with canonical columns prefixed, between properties suffixed).
   */
  static <V> Map<String, V> propertyColumns(Map<String, V> byKey) {
    Map<String, V> out = new TreeMap<>();
    for (Map.Entry<String, V> e : byKey.entrySet()) {
      String name = Names.safe(e.getKey());
      if (CANONICAL_NAMES.contains(name) || name.equals("loaded_at"))
        name = Names.safe("property_" + name);
      String unique = name;
      for (int i = 2; out.containsKey(unique); i++) unique = name + "_" + i;
      out.put(unique, e.getValue());
    }
    return out;
  }

  /**
   * The canonical row's JSON, written field by field (what writing the same fields as a tree gives,
   * without building the tree).
   */
  private static String canonicalRow(CanonicalEvent e) {
    StringWriter out = new StringWriter(256);
    try (JsonGenerator g = Json.MAPPER.getFactory().createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField("event_id", e.eventId());
      g.writeStringField("type", e.type().name());
      g.writeStringField("event", e.event());
      g.writeStringField("anonymous_id", e.anonymousId());
      g.writeStringField("user_id", e.userId());
      g.writeStringField("timestamp", iso(e.timestamp()));
      g.writeStringField("original_timestamp", iso(e.originalTimestamp()));
      g.writeStringField("received_at", iso(e.receivedAt()));
      g.writeStringField("sent_at", iso(e.sentAt()));
      g.writeFieldName("context");
      g.writeTree(e.context());
      g.writeFieldName("properties");
      g.writeTree(e.properties());
      g.writeFieldName("traits");
      g.writeTree(e.traits());
      g.writeStringField("connection_id", e.connectionId());
      g.writeEndObject();
    } catch (IOException x) {
      throw new UncheckedIOException(x);
    }
    return Json.wellFormed(out.toString());
  }

  private static String iso(Instant t) {
    return t == null ? null : Timestamps.iso(t);
  }
}
