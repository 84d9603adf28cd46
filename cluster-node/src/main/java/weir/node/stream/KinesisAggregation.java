package weir.node.stream;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * De-aggregation of Kinesis records written by the Kinesis Producer Library (KPL) with aggregation
 * on, as the KCL does it: such a record is the magic {@code F3 89 9A C2}, a protobuf {@code
 * AggregatedRecord} ({@code repeated string partition_key_table = 1; repeated string
 * explicit_hash_key_table = 2; repeated Record records = 3}, a {@code Record} being {@code required
 * uint64 partition_key_index = 1; optional uint64 explicit_hash_key_index = 2; required bytes data
 * = 3; repeated Tag tags = 4}), and the MD5 digest of the protobuf bytes.
 *
 * <p>A record that starts with the magic but whose digest does not match, or whose protobuf does
 * not parse (a missing required field, an index outside its table), is not aggregated: it is one
 * ordinary record, as for the KCL. The protobuf is read by hand (no protobuf dependency); unknown
 * fields are skipped by their wire type (groups, which the KPL never writes, do not parse).
 */
final class KinesisAggregation {
  private static final byte[] MAGIC = {(byte) 0xF3, (byte) 0x89, (byte) 0x9A, (byte) 0xC2};
  private static final int DIGEST_BYTES = 16;

  private static final int VARINT = 0;
  private static final int FIXED64 = 1;
  private static final int LENGTH_DELIMITED = 2;
  private static final int FIXED32 = 5;

  private KinesisAggregation() {}

  /**
   * The data of the user records aggregated in {@code blob}, in order (none for an aggregated
   * record of no records); empty when {@code blob} is not an aggregated record.
   */
  static Optional<List<byte[]>> deaggregate(byte[] blob) {
    if (blob.length < MAGIC.length + DIGEST_BYTES
        || !Arrays.equals(blob, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) return Optional.empty();
    int end = blob.length - DIGEST_BYTES;
    MessageDigest md5;
    try {
      md5 = MessageDigest.getInstance("MD5");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has MD5", e);
    }
    md5.update(blob, MAGIC.length, end - MAGIC.length);
    if (!MessageDigest.isEqual(md5.digest(), Arrays.copyOfRange(blob, end, blob.length)))
      return Optional.empty();
    try {
      return Optional.of(aggregatedRecord(new Reader(blob, MAGIC.length, end)));
    } catch (Malformed e) {
      return Optional.empty();
    }
  }

  private static List<byte[]> aggregatedRecord(Reader in) throws Malformed {
    long partitionKeys = 0;
    long explicitHashKeys = 0;
    List<SubRecord> records = new ArrayList<>();
    while (in.more()) {
      int tag = in.tag();
      switch (tag) {
        case 1 << 3 | LENGTH_DELIMITED -> {
          in.skip(LENGTH_DELIMITED);
          partitionKeys++;
        }
        case 2 << 3 | LENGTH_DELIMITED -> {
          in.skip(LENGTH_DELIMITED);
          explicitHashKeys++;
        }
        case 3 << 3 | LENGTH_DELIMITED -> records.add(record(in.message()));
        default -> in.skipField(tag);
      }
    }
    List<byte[]> data = new ArrayList<>(records.size());
    for (SubRecord r : records) {
      // The KCL looks the keys up in their tables: an index outside them is no aggregated record.
      if (Long.compareUnsigned(r.partitionKeyIndex(), partitionKeys) >= 0
          || (r.explicitHashKeyIndex() != null
              && Long.compareUnsigned(r.explicitHashKeyIndex(), explicitHashKeys) >= 0))
        throw new Malformed();
      data.add(r.data());
    }
    return data;
  }

  private record SubRecord(long partitionKeyIndex, Long explicitHashKeyIndex, byte[] data) {}

  private static SubRecord record(Reader in) throws Malformed {
    Long partitionKeyIndex = null;
    Long explicitHashKeyIndex = null;
    byte[] data = null;
    while (in.more()) {
      int tag = in.tag();
      switch (tag) {
        case 1 << 3 | VARINT -> partitionKeyIndex = in.varint();
        case 2 << 3 | VARINT -> explicitHashKeyIndex = in.varint();
        case 3 << 3 | LENGTH_DELIMITED -> data = in.bytes();
        case 4 << 3 | LENGTH_DELIMITED -> tag(in.message());
        default -> in.skipField(tag);
      }
    }
    if (partitionKeyIndex == null || data == null) throw new Malformed();
    return new SubRecord(partitionKeyIndex, explicitHashKeyIndex, data);
  }

  /**
   * A {@code Tag} is read only to check it parses (its key is required), as the KCL's parser does.
   */
  private static void tag(Reader in) throws Malformed {
    boolean key = false;
    while (in.more()) {
      int tag = in.tag();
      if (tag == (1 << 3 | LENGTH_DELIMITED)) {
        in.skip(LENGTH_DELIMITED);
        key = true;
      } else in.skipField(tag);
    }
    if (!key) throw new Malformed();
  }

  /** Not a valid protobuf message of the expected type. */
  private static final class Malformed extends Exception {
    Malformed() {
      super(null, null, false, false);
    }
  }

  /** Protobuf wire format over {@code bytes[pos, end)}. */
  private static final class Reader {
    private final byte[] bytes;
    private final int end;
    private int pos;

    Reader(byte[] bytes, int pos, int end) {
      this.bytes = bytes;
      this.pos = pos;
      this.end = end;
    }

    boolean more() {
      return pos < end;
    }

    long varint() throws Malformed {
      long value = 0;
      for (int shift = 0; shift < 64; shift += 7) {
        if (pos >= end) throw new Malformed();
        byte b = bytes[pos++];
        value |= (long) (b & 0x7F) << shift;
        if (b >= 0) return value;
      }
      throw new Malformed();
    }

    private int length() throws Malformed {
      long n = varint();
      if (n < 0 || n > end - pos) throw new Malformed();
      return (int) n;
    }

    byte[] bytes() throws Malformed {
      int n = length();
      byte[] out = Arrays.copyOfRange(bytes, pos, pos + n);
      pos += n;
      return out;
    }

    Reader message() throws Malformed {
      int n = length();
      Reader sub = new Reader(bytes, pos, pos + n);
      pos += n;
      return sub;
    }

    /** A field's tag (its number and wire type); field number 0 does not parse. */
    int tag() throws Malformed {
      long tag = varint();
      if (tag >>> 3 == 0 || tag > Integer.MAX_VALUE) throw new Malformed();
      return (int) tag;
    }

    /** Skips an unknown field's value; groups do not parse. */
    void skipField(int tag) throws Malformed {
      skip(tag & 7);
    }

    void skip(int wireType) throws Malformed {
      switch (wireType) {
        case VARINT -> varint();
        case FIXED64 -> advance(8);
        case LENGTH_DELIMITED -> advance(length());
        case FIXED32 -> advance(4);
        default -> throw new Malformed();
      }
    }

    private void advance(int n) throws Malformed {
      if (n > end - pos) throw new Malformed();
      pos += n;
    }
  }
}
