package weir.node.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import weir.protocol.StagedRow;

/** The journaled row encoding: encoded requests concatenate into one group without decoding. */
class RowCodecTest {
  private static StagedRow row(String id) {
    return new StagedRow(
        "tracks", id, 1_700_000_000_000L, "{\"event_id\":\"" + id + "\",\"é\":\"ü\"}");
  }

  @Test
  void concatenatedEncodingsDecodeToEveryRowInOrder() {
    byte[] a = RowCodec.encode(List.of(row("a1"), row("a2")));
    byte[] b = RowCodec.encode(List.of());
    byte[] c = RowCodec.encode(List.of(row("c1")));
    assertThat(RowCodec.decode(RowCodec.concat(List.of(a, b, c))))
        .containsExactly(row("a1"), row("a2"), row("c1"));
    assertThat(RowCodec.decode(RowCodec.concat(List.of(b)))).isEmpty();
  }

  @Test
  void anUnknownVersionIsRefused() {
    byte[] bad = RowCodec.encode(List.of(row("x")));
    bad[0] = 9;
    assertThatThrownBy(() -> RowCodec.concat(List.of(bad))).hasMessageContaining("version 9");
  }
}
