package weir.sdk;

import java.util.Map;

/**
 * What a connector emits during {@link SourceConnector#update}. Calls may block while Weir's
 * buffers are full (backpressure): memory stays bounded whatever the source emits. Not thread-safe:
 * call it from the thread that runs {@code update}.
 */
public interface Operations {
  /** Inserts {@code row}, or replaces the row with its primary key (the whole row is needed). */
  void upsert(String table, Map<String, Object> row);

  /** Changes the given columns of the row with {@code row}'s primary key; ignored if missing. */
  void update(String table, Map<String, Object> row);

  /** Soft-deletes the row with these primary-key values ({@code _weir_deleted} = true). */
  void delete(String table, Map<String, Object> keys);

  /** Soft-deletes every row of {@code table} synced before this call. */
  void truncate(String table);

  /**
   * Saves {@code state} (JSON-serialisable): the next sync starts from it. Returns once every
   * operation before it is durable.
   */
  void checkpoint(Map<String, Object> state);
}
