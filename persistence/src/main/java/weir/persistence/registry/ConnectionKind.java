package weir.persistence.registry;

/** What a connection ingests. */
public enum ConnectionKind {
  webhook,
  segment,
  snowplow,
  connector
}
