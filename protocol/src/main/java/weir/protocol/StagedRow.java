package weir.protocol;

/**
 * One row on its way to a warehouse table, as it is buffered, staged and loaded.
 *
 * @param table the target table (in the connection's schema)
 * @param eventId the deduplication key: every loaded table has at most one row per event id
 * @param timestampMillis the event time in epoch milliseconds (UTC); it picks the Hive partition
 * @param json the row as one compact JSON object, one staged NDJSON line (unpaired surrogates,
 *     which JSON escapes allow but UTF-8 cannot hold, are U+FFFD)
 */
public record StagedRow(String table, String eventId, long timestampMillis, String json) {
  /** Every text is well-formed UTF-16: a row always encodes to UTF-8 (journal, files) exactly. */
  public StagedRow {
    eventId = Json.wellFormed(eventId);
    json = Json.wellFormed(json);
  }
}
