package weir.loaders.datasync;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The event ids of one exported day, to export each event once, in 16 bytes per id: the first 128
 * bits of its SHA-256 in an open-addressing table (two ids that share them — about one chance in
 * 10^22 for a day of ten million events — would count as one), filled to three quarters at most. A
 * day of ten million events takes 2^24 slots of 17 bytes, about 290 MB (430 MB while it grows),
 * against well over a gigabyte as a set of strings. Not thread-safe.
 */
final class EventIdSet {
  private static final int MIN_CAPACITY = 1 << 10;

  private final MessageDigest sha;
  private long[] high;
  private long[] low;
  private boolean[] used;
  private int size;

  EventIdSet() {
    try {
      sha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    allocate(MIN_CAPACITY);
  }

  /** Adds {@code id}; false when it was there already. */
  boolean add(String id) {
    byte[] d = sha.digest(id.getBytes(StandardCharsets.UTF_8));
    long h = 0;
    long l = 0;
    for (int i = 0; i < 8; i++) h = (h << 8) | (d[i] & 0xff);
    for (int i = 8; i < 16; i++) l = (l << 8) | (d[i] & 0xff);
    if ((size + 1) * 4L > used.length * 3L) grow();
    return insert(h, l);
  }

  int size() {
    return size;
  }

  private boolean insert(long h, long l) {
    int mask = used.length - 1;
    int i = (int) (h ^ (h >>> 32)) & mask;
    while (used[i]) {
      if (high[i] == h && low[i] == l) return false;
      i = (i + 1) & mask;
    }
    used[i] = true;
    high[i] = h;
    low[i] = l;
    size++;
    return true;
  }

  private void allocate(int capacity) {
    high = new long[capacity];
    low = new long[capacity];
    used = new boolean[capacity];
    size = 0;
  }

  private void grow() {
    long[] h = high;
    long[] l = low;
    boolean[] u = used;
    allocate(used.length * 2);
    for (int i = 0; i < u.length; i++) if (u[i]) insert(h[i], l[i]);
  }
}
