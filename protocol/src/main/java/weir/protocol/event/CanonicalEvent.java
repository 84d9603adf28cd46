package weir.protocol.event;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.Locale;

/**
 * The canonical event every tracking protocol (Segment, Snowplow) is parsed into; its fields are
 * the canonical warehouse columns of API.md (besides {@code loaded_at}, which the loader sets).
 *
 * @param eventId deduplication key (Segment {@code messageId}, Snowplow {@code eid})
 * @param type track, identify, page, screen, group or alias
 * @param event the track event name, or the page/screen name; null otherwise
 * @param anonymousId anonymous id, or null
 * @param userId user id, or null
 * @param timestamp event time, corrected for client clock skew
 * @param originalTimestamp the client's own timestamp, or null
 * @param receivedAt when the node received it
 * @param sentAt when the client sent it, or null
 * @param context context object (never null)
 * @param properties properties object (never null); group and alias keep {@code group_id} / {@code
 *     previous_id} here
 * @param traits traits object (never null)
 * @param connectionId the connection it arrived on
 */
public record CanonicalEvent(
    String eventId,
    Type type,
    String event,
    String anonymousId,
    String userId,
    Instant timestamp,
    Instant originalTimestamp,
    Instant receivedAt,
    Instant sentAt,
    ObjectNode context,
    ObjectNode properties,
    ObjectNode traits,
    String connectionId) {

  /** Event types, each with its own table. */
  public enum Type {
    track("tracks"),
    identify("identifies"),
    page("pages"),
    screen("screens"),
    group("groups"),
    alias("aliases");

    private final String table;

    Type(String table) {
      this.table = table;
    }

    /** The warehouse table of this type. */
    public String table() {
      return table;
    }

    public static Type parse(String s) {
      return Type.valueOf(s.toLowerCase(Locale.ROOT));
    }
  }

  /** This event on another connection (protocols that authenticate after parsing). */
  public CanonicalEvent withConnectionId(String id) {
    return new CanonicalEvent(
        eventId,
        type,
        event,
        anonymousId,
        userId,
        timestamp,
        originalTimestamp,
        receivedAt,
        sentAt,
        context,
        properties,
        traits,
        id);
  }

  /** The earliest event time a warehouse column stores everywhere: 0001-01-01T00:00:00Z. */
  public static final Instant MIN_TIME = Instant.parse("0001-01-01T00:00:00Z");

  /** The latest: 9999-12-31T23:59:59.999Z. */
  public static final Instant MAX_TIME = Instant.parse("9999-12-31T23:59:59.999Z");

  /** Whether {@code t} is within {@link #MIN_TIME} .. {@link #MAX_TIME} (years 1 to 9999). */
  public static boolean storable(Instant t) {
    return !t.isBefore(MIN_TIME) && !t.isAfter(MAX_TIME);
  }

  /**
   * The timestamp corrected for clock skew: {@code receivedAt - (sentAt - clientTimestamp)}; the
   * client's own timestamp when the correction would leave the storable range. Arguments are
   * storable (parsers check).
   */
  public static Instant corrected(Instant clientTimestamp, Instant sentAt, Instant receivedAt) {
    if (clientTimestamp == null) return receivedAt;
    if (sentAt == null) return clientTimestamp;
    Instant t = receivedAt.minusMillis(sentAt.toEpochMilli() - clientTimestamp.toEpochMilli());
    return storable(t) ? t : clientTimestamp;
  }
}
