package weir.sdk;

import java.util.List;
import java.util.Map;

/**
 * A custom source (Weir's Connector SDK, after Fivetran's): what a connector author implements and
 * the only thing Weir calls. {@link #schema} declares the tables; {@link #update} reads the source
 * from {@code state} on and emits rows through {@link Operations}, calling {@link
 * Operations#checkpoint} whenever the state it has reached should survive a crash.
 *
 * <p>Contract: {@code configuration} holds the connection's settings (secrets in clear: never log
 * them); {@code state} is what the last checkpoint saved — empty on the first sync and after a full
 * re-sync — and must be JSON-serialisable (maps, lists, strings, numbers, booleans, null). An
 * exception fails the sync: its message shows in the connection's status (a {@link
 * ConnectorException} is meant for users), and the next sync starts again from the last checkpoint,
 * so emitting the same rows twice must be harmless (upserts by primary key are). Implementations
 * need a public no-argument constructor; one instance may run several syncs, one at a time.
 */
public interface SourceConnector {
  /** The tables this connector emits, for {@code configuration}. */
  List<Table> schema(Map<String, String> configuration) throws Exception;

  /** One sync: reads the source from {@code state} on and emits through {@code ops}. */
  void update(Map<String, String> configuration, Map<String, Object> state, Operations ops)
      throws Exception;
}
