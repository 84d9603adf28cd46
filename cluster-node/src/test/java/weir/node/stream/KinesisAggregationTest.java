package weir.node.stream;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * KPL de-aggregation: the user records of an aggregated record come out in order; a record with a
 * wrong digest, without the magic, or whose protobuf does not parse is one ordinary record; unknown
 * fields are skipped.
 */
class KinesisAggregationTest {
  private static final byte[] MAGIC = {(byte) 0xF3, (byte) 0x89, (byte) 0x9A, (byte) 0xC2};

  /** A tiny protobuf writer. */
  static final class Proto {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    Proto varint(long v) {
      while ((v & ~0x7FL) != 0) {
        out.write((int) (v & 0x7F) | 0x80);
        v >>>= 7;
      }
      out.write((int) v);
      return this;
    }

    Proto tag(int field, int wireType) {
      return varint((long) field << 3 | wireType);
    }

    Proto uint64(int field, long v) {
      return tag(field, 0).varint(v);
    }

    Proto bytes(int field, byte[] b) {
      tag(field, 2).varint(b.length);
      out.writeBytes(b);
      return this;
    }

    Proto string(int field, String s) {
      return bytes(field, s.getBytes(StandardCharsets.UTF_8));
    }

    Proto message(int field, Proto m) {
      return bytes(field, m.toByteArray());
    }

    Proto fixed(int field, int wireType, int n) {
      tag(field, wireType);
      for (int i = 0; i < n; i++) out.write(0xAB);
      return this;
    }

    byte[] toByteArray() {
      return out.toByteArray();
    }
  }

  /** Magic, {@code message}, and its MD5 digest: what the KPL writes. */
  static byte[] aggregated(byte[] message) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(MAGIC);
    out.writeBytes(message);
    out.writeBytes(MessageDigest.getInstance("MD5").digest(message));
    return out.toByteArray();
  }

  /** An aggregated record of {@code values}, every one under partition key {@code "pk"}. */
  static byte[] aggregated(List<byte[]> values) throws Exception {
    Proto m = new Proto().string(1, "pk");
    for (byte[] v : values) m.message(3, new Proto().uint64(1, 0).bytes(3, v));
    return aggregated(m.toByteArray());
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static List<String> strings(Optional<List<byte[]>> records) {
    return records.orElseThrow().stream().map(b -> new String(b, StandardCharsets.UTF_8)).toList();
  }

  @Test
  void anAggregatedRecordGivesItsUserRecordsInOrder() throws Exception {
    byte[] message =
        new Proto()
            .string(1, "a")
            .string(1, "b")
            .string(2, "12345")
            .message(3, new Proto().uint64(1, 0).bytes(3, utf8("first")))
            .message(
                3,
                new Proto()
                    .uint64(1, 1)
                    .uint64(2, 0)
                    .bytes(3, utf8("second"))
                    .message(4, new Proto().string(1, "k").string(2, "v")))
            .message(3, new Proto().uint64(1, 0).bytes(3, new byte[0]))
            .toByteArray();

    assertThat(strings(KinesisAggregation.deaggregate(aggregated(message))))
        .containsExactly("first", "second", "");
  }

  @Test
  void aWrongDigestIsOneOrdinaryRecord() throws Exception {
    byte[] blob = aggregated(List.of(utf8("one"), utf8("two")));
    blob[blob.length - 1] ^= 1;

    assertThat(KinesisAggregation.deaggregate(blob)).isEmpty();
  }

  @Test
  void aRecordWithoutTheMagicIsOneOrdinaryRecord() throws Exception {
    byte[] blob = aggregated(List.of(utf8("one")));
    blob[0] = '{';

    assertThat(KinesisAggregation.deaggregate(blob)).isEmpty();
    assertThat(KinesisAggregation.deaggregate(utf8("{\"n\":1}"))).isEmpty();
    assertThat(KinesisAggregation.deaggregate(new byte[0])).isEmpty();
    assertThat(KinesisAggregation.deaggregate(MAGIC)).isEmpty();
  }

  @Test
  void anAggregatedRecordOfNoRecordsGivesNone() throws Exception {
    assertThat(KinesisAggregation.deaggregate(aggregated(new byte[0]))).hasValue(List.of());
    assertThat(
            KinesisAggregation.deaggregate(aggregated(new Proto().string(1, "pk").toByteArray())))
        .hasValue(List.of());
  }

  @Test
  void unknownFieldsAreSkipped() throws Exception {
    byte[] message =
        new Proto()
            .uint64(9, 300)
            .string(1, "pk")
            .fixed(10, 1, 8)
            .message(
                3,
                new Proto()
                    .fixed(7, 5, 4)
                    .uint64(1, 0)
                    .string(8, "ignored")
                    .bytes(3, utf8("data"))
                    .uint64(1000, Long.MAX_VALUE))
            .string(11, "ignored")
            // A known field with another wire type is an unknown field, as for protobuf-java.
            .uint64(3, 5)
            .toByteArray();

    assertThat(strings(KinesisAggregation.deaggregate(aggregated(message))))
        .containsExactly("data");
  }

  @Test
  void aProtobufThatDoesNotParseIsOneOrdinaryRecord() throws Exception {
    // Truncated: a length beyond the end.
    byte[] truncated = new Proto().tag(3, 2).varint(50).varint(1).toByteArray();
    // Required fields missing: no data, no partition key index.
    byte[] noData = new Proto().string(1, "pk").message(3, new Proto().uint64(1, 0)).toByteArray();
    byte[] noKey =
        new Proto().string(1, "pk").message(3, new Proto().bytes(3, utf8("x"))).toByteArray();
    // A partition key index outside the table, a tag without its key, a group, field number 0.
    byte[] badIndex =
        new Proto()
            .string(1, "pk")
            .message(3, new Proto().uint64(1, 1).bytes(3, utf8("x")))
            .toByteArray();
    byte[] tagWithoutKey =
        new Proto()
            .string(1, "pk")
            .message(
                3,
                new Proto().uint64(1, 0).bytes(3, utf8("x")).message(4, new Proto().string(2, "v")))
            .toByteArray();
    byte[] group = new Proto().string(1, "pk").tag(5, 3).tag(5, 4).toByteArray();
    byte[] fieldZero = new Proto().uint64(0, 1).toByteArray();

    for (byte[] message :
        List.of(truncated, noData, noKey, badIndex, tagWithoutKey, group, fieldZero))
      assertThat(KinesisAggregation.deaggregate(aggregated(message))).isEmpty();
  }
}
