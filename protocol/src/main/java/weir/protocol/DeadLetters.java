package weir.protocol;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;

/**
 * Rejected events as rows of the {@code _weir_dead_letters} table in the connection's schema, so
 * that every rejection is kept durably (journal, staged file, warehouse) with its reason and raw
 * payload, like any event.
 */
public final class DeadLetters {
  public static final String TABLE = "_weir_dead_letters";

  /** Raw payloads are cut to this many characters. */
  public static final int MAX_PAYLOAD_CHARS = 64 * 1024;

  private DeadLetters() {}

  /** The table: one row per rejection (id from connection, time, position and payload). */
  public static TableSpec tableSpec() {
    return TableSpec.fixed(
        TABLE,
        List.of(
            new TableSpec.Column("event_id", ColumnType.STRING),
            new TableSpec.Column("received_at", ColumnType.TIMESTAMP),
            new TableSpec.Column("code", ColumnType.STRING),
            new TableSpec.Column("message", ColumnType.STRING),
            new TableSpec.Column("payload", ColumnType.STRING)),
        "event_id");
  }

  /** The staged row of one rejection. */
  public static StagedRow row(String connectionId, Rejection r, Instant receivedAt) {
    String payload = truncate(r.payload());
    String id =
        Json.sha256Hex(
            (connectionId + "\n" + receivedAt + "\n" + r.index() + "\n" + payload)
                .getBytes(StandardCharsets.UTF_8));
    ObjectNode row = JsonNodeFactory.instance.objectNode();
    row.put("event_id", id);
    row.put("received_at", receivedAt.toString());
    row.put("code", r.code());
    row.put("message", r.message());
    row.put("payload", payload);
    return new StagedRow(TABLE, id, receivedAt.toEpochMilli(), Json.write(row));
  }

  /**
   * The dead-letter row of a staged row of {@code table} that a warehouse refused: its id follows
   * from the table and the row (the same refusal is the same dead letter), the row is the payload
   * (cut to {@link #MAX_PAYLOAD_CHARS}).
   */
  public static StagedRow rejectedRow(
      String table, String row, String code, String reason, Instant at) {
    String id = Json.sha256Hex((table + "\n" + row).getBytes(StandardCharsets.UTF_8));
    ObjectNode out = JsonNodeFactory.instance.objectNode();
    out.put("event_id", id);
    out.put("received_at", at.toString());
    out.put("code", code);
    out.put("message", reason);
    out.put("payload", truncate(row));
    return new StagedRow(TABLE, id, at.toEpochMilli(), Json.write(out));
  }

  public static String truncate(String payload) {
    return Json.truncate(payload, MAX_PAYLOAD_CHARS);
  }
}
