package weir.node.ingest;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import weir.protocol.StagedRow;

/**
 * The binary form in which a request's rows are journaled and buffered ({@link
 * ConnectionBuffer.EventsAppended}): compact (UTF-8, no per-field tags), encoded once at the edge,
 * and journal-safe by construction (bytes). Persisted: this format is a contract; a change needs a
 * new version byte and a reader for the old one.
 *
 * <pre>
 * version:u8 (=1)  count:i32  { table:str  eventId:str  timestampMillis:i64  json:str }*count
 * str = length:i32 (bytes) + UTF-8 bytes
 * </pre>
 */
public final class RowCodec {
  private static final byte VERSION = 1;
  private static final int HEADER = 5;

  private RowCodec() {}

  /** The rows' bytes. */
  public static byte[] encode(List<StagedRow> rows) {
    int estimate = 8;
    for (StagedRow r : rows)
      estimate += 24 + r.table().length() + r.eventId().length() + r.json().length();
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(estimate);
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.writeByte(VERSION);
      out.writeInt(rows.size());
      for (StagedRow r : rows) {
        writeString(out, r.table());
        writeString(out, r.eventId());
        out.writeLong(r.timestampMillis());
        writeString(out, r.json());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  /**
   * One encoding of the rows of several, in order, without decoding them (a group of requests
   * journaled as one event).
   */
  public static byte[] concat(List<byte[]> encoded) {
    int count = 0;
    int size = HEADER;
    for (byte[] e : encoded) {
      if (e[0] != VERSION)
        throw new IllegalArgumentException("unknown row encoding version " + e[0]);
      count += ByteBuffer.wrap(e, 1, 4).getInt();
      size += e.length - HEADER;
    }
    ByteBuffer out = ByteBuffer.allocate(size).put(VERSION).putInt(count);
    for (byte[] e : encoded) out.put(e, HEADER, e.length - HEADER);
    return out.array();
  }

  /** The rows of {@code bytes}, in order. */
  public static List<StagedRow> decode(byte[] bytes) {
    try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
      byte version = in.readByte();
      if (version != VERSION)
        throw new IllegalArgumentException("unknown row encoding version " + version);
      int n = in.readInt();
      List<StagedRow> rows = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        String table = readString(in);
        String eventId = readString(in);
        long ts = in.readLong();
        rows.add(new StagedRow(table, eventId, ts, readString(in)));
      }
      return rows;
    } catch (IOException e) {
      throw new UncheckedIOException("corrupt journaled rows", e);
    }
  }

  private static void writeString(DataOutputStream out, String s) throws IOException {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    out.writeInt(b.length);
    out.write(b);
  }

  private static String readString(DataInputStream in) throws IOException {
    byte[] b = new byte[in.readInt()];
    in.readFully(b);
    return new String(b, StandardCharsets.UTF_8);
  }
}
