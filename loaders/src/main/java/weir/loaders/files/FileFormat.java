package weir.loaders.files;

import java.util.Locale;

/**
 * How staged and delivered files are written: the format, its compression, and the size at which a
 * batch's file is split into several parts.
 *
 * @param format ndjson, avro or parquet
 * @param compression gzip or none (ndjson); deflate, snappy or none (avro); snappy, gzip or none
 *     (parquet)
 * @param maxFileBytes a file is closed and the next part started once this many bytes are written
 */
public record FileFormat(Format format, Compression compression, long maxFileBytes) {
  /** Default split size: 3 GB. */
  public static final long DEFAULT_MAX_FILE_BYTES = 3L * 1024 * 1024 * 1024;

  /** What every warehouse loader reads: gzip-compressed NDJSON. */
  public static final FileFormat NDJSON_GZIP =
      new FileFormat(Format.NDJSON, Compression.GZIP, DEFAULT_MAX_FILE_BYTES);

  public enum Format {
    NDJSON,
    AVRO,
    PARQUET
  }

  public enum Compression {
    GZIP,
    SNAPPY,
    DEFLATE,
    NONE
  }

  public FileFormat {
    boolean valid =
        switch (format) {
          case NDJSON -> compression == Compression.GZIP || compression == Compression.NONE;
          case AVRO ->
              compression == Compression.DEFLATE
                  || compression == Compression.SNAPPY
                  || compression == Compression.NONE;
          case PARQUET ->
              compression == Compression.SNAPPY
                  || compression == Compression.GZIP
                  || compression == Compression.NONE;
        };
    if (!valid)
      throw new IllegalArgumentException(
          compression + " compression does not apply to " + format + " files");
    if (maxFileBytes < 1) throw new IllegalArgumentException("maxFileBytes must be positive");
  }

  /**
   * Parses the API's {@code format} and {@code compression} settings (null: the format's default,
   * which is gzip for ndjson, deflate for avro, snappy for parquet).
   */
  public static FileFormat parse(String format, String compression, long maxFileBytes) {
    Format f = Format.valueOf((format == null ? "ndjson" : format).toUpperCase(Locale.ROOT));
    Compression c =
        compression != null
            ? Compression.valueOf(compression.toUpperCase(Locale.ROOT))
            : switch (f) {
              case NDJSON -> Compression.GZIP;
              case AVRO -> Compression.DEFLATE;
              case PARQUET -> Compression.SNAPPY;
            };
    return new FileFormat(f, c, maxFileBytes);
  }

  /**
   * The file name extension, with its leading dot: {@code .ndjson.gz}, {@code .ndjson}, {@code
   * .avro}, {@code .parquet}.
   */
  public String extension() {
    return switch (format) {
      case NDJSON -> compression == Compression.GZIP ? ".ndjson.gz" : ".ndjson";
      case AVRO -> ".avro";
      case PARQUET -> ".parquet";
    };
  }

  public FileFormat withMaxFileBytes(long bytes) {
    return new FileFormat(format, compression, bytes);
  }

  @Override
  public String toString() {
    return format.name().toLowerCase(Locale.ROOT)
        + "/"
        + compression.name().toLowerCase(Locale.ROOT);
  }
}
