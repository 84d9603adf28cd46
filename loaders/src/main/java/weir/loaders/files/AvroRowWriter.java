package weir.loaders.files;

import java.io.IOException;
import java.io.OutputStream;
import org.apache.avro.Schema;
import org.apache.avro.file.CodecFactory;
import org.apache.avro.file.DataFileWriter;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import weir.protocol.StagedRow;

/** An Avro object container file of the table's schema ({@link TableSchemas}). */
final class AvroRowWriter implements RowFileWriter {
  private final TableSchemas.RecordSchema schema;
  private final CountingOutputStream counting;
  private final DataFileWriter<GenericRecord> writer;

  /**
   * @param blockBytes uncompressed size of a block (what is buffered before it is compressed and
   *     written)
   */
  AvroRowWriter(
      TableSchemas.RecordSchema schema,
      FileFormat.Compression compression,
      OutputStream out,
      int blockBytes)
      throws IOException {
    this.schema = schema;
    this.counting = new CountingOutputStream(out);
    Schema avro = schema.avro();
    writer = new DataFileWriter<>(new GenericDatumWriter<GenericRecord>(avro));
    writer.setCodec(
        switch (compression) {
          case DEFLATE -> CodecFactory.deflateCodec(1);
          case SNAPPY -> CodecFactory.snappyCodec();
          case NONE -> CodecFactory.nullCodec();
          default -> throw new IllegalArgumentException(compression + " does not apply to Avro");
        });
    writer.setSyncInterval(blockBytes);
    writer.create(avro, counting);
  }

  @Override
  public void write(StagedRow row) throws IOException {
    writer.append(schema.record(row.json()));
  }

  @Override
  public long size() {
    return counting.count();
  }

  @Override
  public void finish() throws IOException {
    writer.flush();
  }
}
