package weir.loaders.staging;

/**
 * One complete staged file of a batch: the rows of one table for one hour partition.
 *
 * @param table target table
 * @param key the file's key in its staging store
 * @param rows number of rows (NDJSON lines)
 * @param minTimestampMillis earliest event time in the file
 * @param maxTimestampMillis latest event time in the file
 * @param bytes size of the file
 */
public record StagedFile(
    String table,
    String key,
    long rows,
    long minTimestampMillis,
    long maxTimestampMillis,
    long bytes) {}
