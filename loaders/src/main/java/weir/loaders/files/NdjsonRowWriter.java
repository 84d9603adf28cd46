package weir.loaders.files;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.zip.Deflater;
import java.util.zip.GZIPOutputStream;
import weir.protocol.StagedRow;

/** One JSON object per line, the staged row as is; gzip at the fastest level, or no compression. */
final class NdjsonRowWriter implements RowFileWriter {
  private final CountingOutputStream counting;
  private final GZIPOutputStream gzip;
  private final Writer writer;
  private long uncompressed;

  NdjsonRowWriter(OutputStream out, FileFormat.Compression compression) throws IOException {
    counting = new CountingOutputStream(out);
    if (compression == FileFormat.Compression.GZIP) {
      gzip =
          new GZIPOutputStream(counting, 1 << 16) {
            {
              def.setLevel(Deflater.BEST_SPEED);
            }
          };
      writer =
          new OutputStreamWriter(new BufferedOutputStream(gzip, 1 << 16), StandardCharsets.UTF_8);
    } else {
      gzip = null;
      writer =
          new OutputStreamWriter(
              new BufferedOutputStream(counting, 1 << 16), StandardCharsets.UTF_8);
    }
  }

  @Override
  public void write(StagedRow row) throws IOException {
    writer.write(row.json());
    writer.write('\n');
    uncompressed += row.json().length() + 1;
  }

  @Override
  public long size() {
    // Compressed bytes lag behind by at most the deflater's window and the buffers (~200 KB).
    return gzip == null ? uncompressed : counting.count();
  }

  @Override
  public void finish() throws IOException {
    writer.flush();
    if (gzip != null) {
      gzip.finish();
      gzip.flush();
    }
  }
}
