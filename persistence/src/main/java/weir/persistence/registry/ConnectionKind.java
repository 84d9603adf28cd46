package weir.persistence.registry;

/** What a connection ingests. */
public enum ConnectionKind {
  webhook,
  segment,
  snowplow,
  connector,
  /** Loads Data Sync exports (Weir's or Pendo's) from a store into a warehouse. */
  datasync,
  /** Consumes Kafka topics; its {@code source} names the brokers, topics and record format. */
  kafka,
  /** Consumes a Kinesis stream; its {@code source} names the stream, region and record format. */
  kinesis
}
