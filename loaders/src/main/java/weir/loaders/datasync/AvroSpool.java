package weir.loaders.datasync;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.file.CodecFactory;
import org.apache.avro.file.DataFileWriter;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import weir.loaders.files.CountingOutputStream;
import weir.loaders.staging.StagingStore;

/**
 * The Avro files of one export file name ({@code allevents.avro}, {@code
 * matchedEvents/Page/pricing.avro}), written to local scratch files first and split when one
 * reaches the size cap ({@code allevents.avro}, {@code allevents_1.avro}, ...); {@link #publish}
 * then copies them into the target store, each completed atomically, with its SHA-256. Spooling
 * keeps at most one upload open at a time however many matched files a period has (an S3 upload
 * holds a 5 MB part in memory). Not thread-safe; {@link #close()} deletes the scratch files.
 */
final class AvroSpool implements AutoCloseable {
  /** One published file: its name in the export, rows, bytes and SHA-256 (hex). */
  record Published(String name, long rows, long bytes, String sha256) {}

  private record Part(Path path, long rows) {}

  private final Path scratch;
  private final String baseName;
  private final Schema schema;
  private final long maxBytes;
  private final List<Part> parts = new ArrayList<>();
  private DataFileWriter<GenericRecord> writer;
  private CountingOutputStream counting;
  private Path current;
  private long currentRows;

  /** Bytes the current part had when its writer was last opened (resumed after a suspend). */
  private long baseBytes;

  private long rows;

  /**
   * @param baseName the file's name in the export without {@code .avro}
   * @param maxBytes size at which the file is closed and the next part begun
   */
  AvroSpool(Path scratch, String baseName, Schema schema, long maxBytes) {
    this.scratch = scratch;
    this.baseName = baseName;
    this.schema = schema;
    this.maxBytes = maxBytes;
  }

  void write(GenericRecord record) throws IOException {
    if (writer == null) {
      if (current != null) resume();
      else start();
    }
    writer.append(record);
    currentRows++;
    rows++;
    if (baseBytes + counting.count() >= maxBytes) {
      writer.flush();
      if (baseBytes + counting.count() >= maxBytes) finishPart();
    }
  }

  /**
   * Closes the open file (its rows stay in it) so that a day with many matched files holds few open
   * at once; the next write appends to it again.
   */
  void suspend() throws IOException {
    if (writer == null) return;
    writer.close();
    writer = null;
  }

  private void resume() throws IOException {
    baseBytes = Files.size(current);
    counting =
        new CountingOutputStream(
            new BufferedOutputStream(
                Files.newOutputStream(current, java.nio.file.StandardOpenOption.APPEND)));
    writer = new DataFileWriter<>(new GenericDatumWriter<GenericRecord>(schema));
    // appendTo reads the header and sync marker, then writes to counting: the input is not kept.
    try (org.apache.avro.file.SeekableFileInput in =
        new org.apache.avro.file.SeekableFileInput(current.toFile())) {
      writer.appendTo(in, counting);
    }
  }

  long rows() {
    return rows;
  }

  private void start() throws IOException {
    current = Files.createTempFile(scratch, "export-", ".avro");
    baseBytes = 0;
    counting = new CountingOutputStream(new BufferedOutputStream(Files.newOutputStream(current)));
    writer = new DataFileWriter<>(new GenericDatumWriter<GenericRecord>(schema));
    writer.setCodec(CodecFactory.deflateCodec(1));
    writer.create(schema, counting);
    currentRows = 0;
  }

  private void finishPart() throws IOException {
    if (writer != null) writer.close();
    parts.add(new Part(current, currentRows));
    writer = null;
    current = null;
  }

  /**
   * Copies the files into {@code target} under {@code folder} (a key prefix ending in {@code /});
   * with no row written, one empty file (a definition file that has no rows still carries its
   * schema) when {@code emptyFile}, else none.
   */
  List<Published> publish(StagingStore target, String folder, boolean emptyFile)
      throws IOException {
    if (current == null && parts.isEmpty() && emptyFile) start();
    if (current != null) finishPart();
    List<Published> out = new ArrayList<>();
    for (int i = 0; i < parts.size(); i++) {
      String name = baseName + (i == 0 ? "" : "_" + i) + ".avro";
      out.add(copy(target, folder, name, parts.get(i)));
    }
    return out;
  }

  private static Published copy(StagingStore target, String folder, String name, Part part)
      throws IOException {
    MessageDigest sha;
    try {
      sha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    try (StagingStore.StagedOutput out = target.create(folder + name);
        InputStream in = Files.newInputStream(part.path())) {
      OutputStream digest = new DigestOutputStream(out.stream(), sha);
      in.transferTo(digest);
      digest.flush();
      long bytes = out.complete();
      return new Published(name, part.rows(), bytes, HexFormat.of().formatHex(sha.digest()));
    }
  }

  @Override
  public void close() {
    try {
      if (writer != null) writer.close();
    } catch (IOException ignored) {
      // the scratch file is deleted below either way
    }
    if (current != null) parts.add(new Part(current, 0));
    for (Part p : parts) {
      try {
        Files.deleteIfExists(p.path());
      } catch (IOException ignored) {
        // a scratch file left behind is removed with the scratch directory
      }
    }
    parts.clear();
    writer = null;
    current = null;
  }
}
