package weir.loaders.files;

import java.io.IOException;
import java.io.OutputStream;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.parquet.avro.AvroParquetWriter;
import org.apache.parquet.conf.PlainParquetConfiguration;
import org.apache.parquet.hadoop.ParquetFileWriter;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.io.OutputFile;
import org.apache.parquet.io.PositionOutputStream;
import weir.protocol.StagedRow;

/**
 * A Parquet file of the table's schema ({@link TableSchemas}, through parquet-avro), written
 * straight into the staged file's stream: one row group (at most {@link #ROW_GROUP_BYTES}) is
 * buffered in memory at a time.
 */
final class ParquetRowWriter implements RowFileWriter {
  static final int ROW_GROUP_BYTES = 32 * 1024 * 1024;

  private final TableSchemas.RecordSchema schema;
  private final ParquetWriter<GenericRecord> writer;

  ParquetRowWriter(
      TableSchemas.RecordSchema schema, FileFormat.Compression compression, OutputStream out)
      throws IOException {
    this.schema = schema;
    writer =
        AvroParquetWriter.<GenericRecord>builder(new StreamOutputFile(out))
            .withConf(new PlainParquetConfiguration())
            .withSchema(schema.avro())
            .withDataModel(GenericData.get())
            .withCompressionCodec(
                switch (compression) {
                  case SNAPPY -> CompressionCodecName.SNAPPY;
                  case GZIP -> CompressionCodecName.GZIP;
                  case NONE -> CompressionCodecName.UNCOMPRESSED;
                  default ->
                      throw new IllegalArgumentException(
                          compression + " does not apply to Parquet");
                })
            .withRowGroupSize((long) ROW_GROUP_BYTES)
            .withWriteMode(ParquetFileWriter.Mode.OVERWRITE)
            .build();
  }

  @Override
  public void write(StagedRow row) throws IOException {
    writer.write(schema.record(row.json()));
  }

  @Override
  public long size() {
    return writer.getDataSize();
  }

  @Override
  public void finish() throws IOException {
    writer.close();
  }

  /**
   * Parquet's output abstraction over a plain stream (Parquet only appends and asks for the
   * position).
   */
  private static final class StreamOutputFile implements OutputFile {
    private final OutputStream out;

    StreamOutputFile(OutputStream out) {
      this.out = out;
    }

    @Override
    public PositionOutputStream create(long blockSizeHint) {
      // The position is the count of bytes written; closing only flushes (the staged output
      // completes the stream).
      CountingOutputStream counting = new CountingOutputStream(out);
      return new PositionOutputStream() {
        @Override
        public long getPos() {
          return counting.count();
        }

        @Override
        public void write(int b) throws IOException {
          counting.write(b);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
          counting.write(b, off, len);
        }

        @Override
        public void flush() throws IOException {
          counting.flush();
        }

        @Override
        public void close() throws IOException {
          counting.close();
        }
      };
    }

    @Override
    public PositionOutputStream createOrOverwrite(long blockSizeHint) {
      return create(blockSizeHint);
    }

    @Override
    public boolean supportsBlockSize() {
      return false;
    }

    @Override
    public long defaultBlockSize() {
      return 0;
    }
  }
}
