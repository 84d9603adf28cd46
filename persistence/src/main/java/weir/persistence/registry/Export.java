package weir.persistence.registry;

import weir.persistence.CborSerializable;

/**
 * A registered Data Sync export of a connection into a data-lake destination (API.md, Exports).
 * Persisted inside the registry's events: fields may be added (absent: null), never renamed or
 * removed. What an export has done (its runs, counters, status) is the export feed's state, not the
 * registry's.
 *
 * @param id stable identifier ({@code x_...})
 * @param name human name
 * @param connectionId the connection whose events are exported
 * @param destinationId the data lake (s3, gcs, filesystem) the files go to
 * @param type {@code one_time} (a range of days), {@code recurring} (daily) or {@code test} (one
 *     day)
 * @param from first UTC day (ISO date) of a one-time or test export; null for recurring
 * @param to last UTC day of a one-time or test export; null for recurring
 * @param finalizeAfterDays a recurring export re-exports the day this many days ago, finalized
 * @param createdAtMillis creation time
 * @param stoppedAtMillis when it was stopped ({@code DELETE}); 0 while it runs
 */
public record Export(
    String id,
    String name,
    String connectionId,
    String destinationId,
    Type type,
    String from,
    String to,
    int finalizeAfterDays,
    long createdAtMillis,
    long stoppedAtMillis)
    implements CborSerializable {

  /** The kinds of export. */
  public enum Type {
    one_time,
    recurring,
    test
  }

  public boolean active() {
    return stoppedAtMillis == 0;
  }

  /** The feed that runs it: one per connection and destination (they share one manifest). */
  public String feedId() {
    return feedId(destinationId, connectionId);
  }

  public static String feedId(String destinationId, String connectionId) {
    return destinationId + "~" + connectionId;
  }

  public Export stoppedAt(long atMillis) {
    return new Export(
        id,
        name,
        connectionId,
        destinationId,
        type,
        from,
        to,
        finalizeAfterDays,
        createdAtMillis,
        atMillis);
  }
}
