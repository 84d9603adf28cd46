package weir.persistence.registry;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import weir.persistence.CborSerializable;
import weir.protocol.datasync.PageRule;

/**
 * A registered source of events and where they go. Persisted inside the registry's events: adding a
 * field is fine (absent in old payloads means null), renaming or removing one needs a migration.
 *
 * @param id stable identifier, used in ingestion URLs and staged paths
 * @param name human name
 * @param kind what it ingests
 * @param destinationId where its events are loaded
 * @param schema warehouse schema of its tables
 * @param table the table of a webhook connection
 * @param batchSize buffered events per slot that trigger a flush
 * @param batchIntervalSeconds age of the oldest buffered event that triggers a flush
 * @param syncIntervalSeconds how often staged batches are loaded
 * @param slots buffer slots (entities) the connection's traffic is spread over (persisted as {@code
 *     partitions}, its name before the vocabulary settled on slots)
 * @param signingSecret HMAC secret webhook requests must be signed with, or null
 * @param idField body field that holds the event id, or null
 * @param writeKey the key tracking clients authenticate with
 * @param appId the Snowplow {@code aid} that routes events to this connection, or null
 * @param createdAtMillis creation time
 * @param deletedAtMillis when it was deleted (0: active). A deleted connection takes no new events,
 *     but stays in the registry so that what it had accepted is still flushed and loaded.
 * @param pageRules the pages of its Data Sync exports ({@code page_rules}); empty in connections
 *     persisted before them
 * @param source a {@code datasync} connection's store: {@code type} ({@code s3}, {@code gcs},
 *     {@code filesystem}), the store's settings (secret ones sealed) and {@code path} or {@code
 *     prefix} of the folder that holds {@code exportmanifest.json}; empty for other kinds
 * @param connector a {@code connector} connection's connector; null for other kinds
 */
public record Connection(
    String id,
    String name,
    ConnectionKind kind,
    String destinationId,
    String schema,
    String table,
    int batchSize,
    int batchIntervalSeconds,
    long syncIntervalSeconds,
    @JsonProperty("partitions") int slots,
    String signingSecret,
    String idField,
    String writeKey,
    String appId,
    long createdAtMillis,
    long deletedAtMillis,
    List<PageRule> pageRules,
    Map<String, String> source,
    ConnectorSource connector)
    implements CborSerializable {

  @JsonCreator
  public Connection {
    pageRules = pageRules == null ? List.of() : List.copyOf(pageRules);
    source = source == null ? Map.of() : Map.copyOf(source);
  }

  /** A connection without a connector (every kind but {@code connector}). */
  public Connection(
      String id,
      String name,
      ConnectionKind kind,
      String destinationId,
      String schema,
      String table,
      int batchSize,
      int batchIntervalSeconds,
      long syncIntervalSeconds,
      int slots,
      String signingSecret,
      String idField,
      String writeKey,
      String appId,
      long createdAtMillis,
      long deletedAtMillis,
      List<PageRule> pageRules,
      Map<String, String> source) {
    this(
        id,
        name,
        kind,
        destinationId,
        schema,
        table,
        batchSize,
        batchIntervalSeconds,
        syncIntervalSeconds,
        slots,
        signingSecret,
        idField,
        writeKey,
        appId,
        createdAtMillis,
        deletedAtMillis,
        pageRules,
        source,
        null);
  }

  /** A connection without pages or a source (the fields connections had before Data Sync). */
  public Connection(
      String id,
      String name,
      ConnectionKind kind,
      String destinationId,
      String schema,
      String table,
      int batchSize,
      int batchIntervalSeconds,
      long syncIntervalSeconds,
      int slots,
      String signingSecret,
      String idField,
      String writeKey,
      String appId,
      long createdAtMillis,
      long deletedAtMillis) {
    this(
        id,
        name,
        kind,
        destinationId,
        schema,
        table,
        batchSize,
        batchIntervalSeconds,
        syncIntervalSeconds,
        slots,
        signingSecret,
        idField,
        writeKey,
        appId,
        createdAtMillis,
        deletedAtMillis,
        List.of(),
        Map.of());
  }

  /** This connection, deleted at {@code atMillis}. */
  public Connection deletedAt(long atMillis) {
    return copy(atMillis, pageRules, connector);
  }

  /** This connection with other pages. */
  public Connection withPageRules(List<PageRule> rules) {
    return copy(deletedAtMillis, rules, connector);
  }

  /** This connection with another connector. */
  public Connection withConnector(ConnectorSource next) {
    return copy(deletedAtMillis, pageRules, next);
  }

  private Connection copy(long deletedAt, List<PageRule> rules, ConnectorSource next) {
    return new Connection(
        id,
        name,
        kind,
        destinationId,
        schema,
        table,
        batchSize,
        batchIntervalSeconds,
        syncIntervalSeconds,
        slots,
        signingSecret,
        idField,
        writeKey,
        appId,
        createdAtMillis,
        deletedAt,
        rules,
        source,
        next);
  }

  /**
   * The wire format of its events, which decides their tables: {@code json} (webhook bodies, one
   * table), {@code segment} or {@code snowplow} (the normalized event tables); a Kafka or Kinesis
   * connection's is its source's {@code format}; null for kinds without events (connector,
   * datasync).
   */
  public String eventFormat() {
    return switch (kind) {
      case webhook -> "json";
      case segment -> "segment";
      case snowplow -> "snowplow";
      case kafka, kinesis -> source.getOrDefault("format", "json");
      case connector, datasync -> null;
    };
  }

  public boolean active() {
    return deletedAtMillis == 0;
  }

  public Optional<String> signingSecretIfAny() {
    return Optional.ofNullable(signingSecret).filter(s -> !s.isEmpty());
  }

  public Optional<String> idFieldIfAny() {
    return Optional.ofNullable(idField).filter(s -> !s.isEmpty());
  }

  /** The buffer entity id of one slot: {@code <connectionId>#<slot>}. */
  public String slotEntityId(int slot) {
    return id + "#" + slot;
  }

  @Override
  public String toString() {
    // Secrets never reach a log line through toString.
    return "Connection["
        + id
        + " "
        + name
        + " "
        + kind
        + " -> "
        + destinationId
        + " "
        + schema
        + "."
        + table
        + "]";
  }
}
