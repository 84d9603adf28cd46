package weir.persistence;

/**
 * Marker for every message and persisted event that crosses the wire or the journal: bound to
 * Akka's {@code jackson-cbor} serializer in this module's {@code reference.conf}. Persisted events
 * are a contract: never rename, move or drop a field of one without a {@code JacksonMigration}.
 */
public interface CborSerializable {}
