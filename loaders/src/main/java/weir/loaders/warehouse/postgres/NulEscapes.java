package weir.loaders.warehouse.postgres;

import java.io.IOException;
import java.io.InputStream;

/**
 * NDJSON for PostgreSQL's {@code jsonb}, which refuses the escape {@code \u0000} (U+0000 cannot be
 * stored in {@code text}): every such escape in a JSON string becomes {@code \\u0000}, the escaped
 * backslash followed by {@code u0000}, so the loaded string holds the six characters {@code \u0000}
 * instead of the NUL. Lossless in practice and documented (loaders README); every other byte passes
 * as it is.
 *
 * <p>An escape is a {@code u0000} after an odd run of backslashes ({@code \\\\u0000} is an escaped
 * backslash and the text {@code u0000}: left alone). Works on 64 KB chunks; the last bytes of a
 * chunk that could begin an escape wait for the next one. Chunks without {@code u0000} (nearly all)
 * are passed on without a copy.
 */
final class NulEscapes extends InputStream {
  private static final int CHUNK = 1 << 16;

  /** "u0000" minus one byte: what may still complete an escape at the end of a chunk. */
  private static final int HOLD = 4;

  private final InputStream in;
  private byte[] buf = new byte[CHUNK];

  /** Input bytes in buf: [0, filled). */
  private int filled;

  private boolean eof;

  /** Output ready to be read: out[outPos, outEnd). */
  private byte[] out = new byte[0];

  private int outPos;
  private int outEnd;

  /** Consecutive backslashes at the end of what was already processed. */
  private int run;

  NulEscapes(InputStream in) {
    this.in = in;
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    int n = read(one, 0, 1);
    return n < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    if (len == 0) return 0;
    while (outPos >= outEnd) {
      if (!next()) return -1;
    }
    int n = Math.min(len, outEnd - outPos);
    System.arraycopy(out, outPos, b, off, n);
    outPos += n;
    return n;
  }

  /** Reads and processes the next chunk; false at the end of the input. */
  private boolean next() throws IOException {
    if (eof && filled == 0) return false;
    while (!eof && filled < buf.length) {
      int n = in.read(buf, filled, buf.length - filled);
      if (n < 0) {
        eof = true;
      } else {
        filled += n;
        if (n == 0 || filled >= HOLD + 1) break;
      }
    }
    int ready = eof ? filled : Math.max(0, filled - HOLD);
    if (ready == 0 && !eof) return true;
    // Output may grow by one byte per escape: at most one per six input bytes.
    int count = rewrite(ready);
    int rest = filled - ready;
    byte[] next = new byte[CHUNK];
    System.arraycopy(buf, ready, next, 0, rest);
    if (count < 0) {
      // Nothing to rewrite: hand the chunk out as it is (no copy), keep the held bytes for later.
      out = buf;
      outPos = 0;
      outEnd = ready;
    }
    buf = next;
    filled = rest;
    return true;
  }

  /**
   * Sets {@link #out} to bytes [0, ready) of {@link #buf} with the escapes rewritten and returns
   * how many there were; -1 (and {@link #out} untouched) when there were none. Updates {@link
   * #run}.
   */
  private int rewrite(int ready) {
    int escapes = 0;
    byte[] target = null;
    int t = 0;
    int copiedUpTo = 0;
    int runHere = run;
    for (int i = 0; i < ready; i++) {
      byte c = buf[i];
      if (c == '\\') {
        runHere++;
        continue;
      }
      if (c == 'u' && (runHere & 1) == 1 && isZeros(i + 1)) {
        if (target == null) target = new byte[ready + ready / 6 + 1];
        int length = i - copiedUpTo;
        System.arraycopy(buf, copiedUpTo, target, t, length);
        t += length;
        target[t++] = '\\';
        copiedUpTo = i;
        escapes++;
      }
      runHere = 0;
    }
    run = runHere;
    if (target == null) return -1;
    System.arraycopy(buf, copiedUpTo, target, t, ready - copiedUpTo);
    t += ready - copiedUpTo;
    out = target;
    outPos = 0;
    outEnd = t;
    return escapes;
  }

  private boolean isZeros(int from) {
    for (int k = from; k < from + 4; k++) {
      if (k >= filled || buf[k] != '0') return false;
    }
    return true;
  }

  @Override
  public int available() {
    return outEnd - outPos;
  }

  @Override
  public void close() throws IOException {
    in.close();
  }
}
