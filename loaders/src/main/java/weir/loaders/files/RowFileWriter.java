package weir.loaders.files;

import java.io.IOException;
import java.io.OutputStream;
import java.util.function.Function;
import weir.protocol.StagedRow;
import weir.protocol.TableSpec;

/**
 * Writes the rows of one table into one file of a {@link FileFormat}, streaming: memory stays
 * bounded by the format's block (a gzip window, an Avro block, a Parquet row group) whatever the
 * file's size.
 */
public interface RowFileWriter {

  void write(StagedRow row) throws IOException;

  /**
   * Bytes of the file so far, including what the format still buffers (used to split at a size
   * cap).
   */
  long size();

  /**
   * Writes the format's trailer and flushes everything into the stream; does not close the stream.
   */
  void finish() throws IOException;

  /**
   * Opens a writer for {@code table} on {@code out}.
   *
   * @param specs the shape of each table (Avro and Parquet schemas are derived from it)
   */
  static RowFileWriter open(
      FileFormat format, String table, Function<String, TableSpec> specs, OutputStream out)
      throws IOException {
    return switch (format.format()) {
      case NDJSON -> new NdjsonRowWriter(out, format.compression());
      case AVRO ->
          new AvroRowWriter(
              TableSchemas.forTable(specs.apply(table)),
              format.compression(),
              out,
              (int) Math.max(16 * 1024, Math.min(1 << 20, format.maxFileBytes() / 8)));
      case PARQUET ->
          new ParquetRowWriter(
              TableSchemas.forTable(specs.apply(table)), format.compression(), out);
    };
  }
}
