package weir.loaders.warehouse.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;

class NulEscapesTest {
  private static String through(String in, int readSize) throws Exception {
    // The underlying stream hands out tiny reads, so escapes fall across every chunk boundary.
    InputStream slow =
        new ByteArrayInputStream(in.getBytes(StandardCharsets.UTF_8)) {
          @Override
          public synchronized int read(byte[] b, int off, int len) {
            return super.read(b, off, Math.min(len, readSize));
          }
        };
    return new String(new NulEscapes(slow).readAllBytes(), StandardCharsets.UTF_8);
  }

  @Test
  void aNulEscapeBecomesAnEscapedBackslashAndEverythingElsePasses() throws Exception {
    for (int size : new int[] {1, 2, 3, 5, 7, 1 << 16}) {
      assertThat(through("{\"note\":\"nul \\u0000 inside\"}\n", size))
          .isEqualTo("{\"note\":\"nul \\\\u0000 inside\"}\n");
      assertThat(through("\"\\\\u0000\"", size))
          .as("an escaped backslash then text")
          .isEqualTo("\"\\\\u0000\"");
      assertThat(through("\"\\\\\\u0000\"", size))
          .as("escaped backslash, then NUL")
          .isEqualTo("\"\\\\\\\\u0000\"");
      assertThat(through("\"\\u00e9\\u000\"\\u0000", size)).isEqualTo("\"\\u00e9\\u000\"\\\\u0000");
      assertThat(through("\\u0000\\u0000", size)).isEqualTo("\\\\u0000\\\\u0000");
      assertThat(through("", size)).isEmpty();
    }
  }

  @Test
  void largeInputWithoutEscapesIsByteForByteTheSame() throws Exception {
    byte[] data = new byte[300_000];
    new Random(7).nextBytes(data);
    for (int i = 0; i < data.length; i++) if (data[i] == '\\') data[i] = 'x';
    byte[] out = new NulEscapes(new ByteArrayInputStream(data)).readAllBytes();
    assertThat(out).isEqualTo(data);
  }
}
