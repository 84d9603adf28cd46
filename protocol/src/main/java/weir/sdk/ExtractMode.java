package weir.sdk;

/** How the rows of successive syncs of a table combine. */
public enum ExtractMode {
  /** Each sync sends every row: rows a successful sync did not send are soft-deleted at its end. */
  SNAPSHOT,
  /** Rows are appended, never merged (no key needed: each gets a surrogate {@code _weir_id}). */
  INCREMENTAL_APPENDS,
  /**
   * Rows are merged by primary key: upserts replace, updates change columns, deletes soft-delete.
   */
  INCREMENTAL_UPDATES
}
