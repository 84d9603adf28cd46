package weir.node.ingest;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The bytes of rows that the buffers hosted on this node hold together, against one limit: a share
 * of the heap ({@code weir.buffer.max-heap-share}). Each slot also has its own event limit, but a
 * node hosts any number of slots, and without a node-wide bound a fast producer into many slots (or
 * a stager slower than ingest) grows the buffers until the heap is gone. Beyond the limit a buffer
 * refuses new requests (503 overloaded, Retry-After) until flushes free memory; nothing accepted is
 * dropped.
 *
 * <p>Each buffer reports its own total after every change ({@link #account}); the check before a
 * write and the report after it are not atomic together, so concurrent writers can pass the limit
 * by at most one journal write each (a group, {@code max-group-bytes}).
 */
public final class BufferMemory {
  private final long limitBytes;
  private final AtomicLong held = new AtomicLong();

  public BufferMemory(long limitBytes) {
    if (limitBytes <= 0) throw new IllegalArgumentException("limit must be positive");
    this.limitBytes = limitBytes;
  }

  /** The limit from {@code settings}' share of this JVM's maximum heap. */
  public static BufferMemory forHeap(BufferSettings settings) {
    return new BufferMemory(
        Math.max(1, (long) (Runtime.getRuntime().maxMemory() * settings.maxHeapShare())));
  }

  /** Whether {@code more} bytes may be added now. */
  boolean hasRoom(long more) {
    return held.get() + more <= limitBytes;
  }

  /** A buffer's total went from {@code before} to {@code after}; returns {@code after}. */
  long account(long before, long after) {
    if (after != before) held.addAndGet(after - before);
    return after;
  }

  /** Bytes held by all buffers of this node. */
  public long heldBytes() {
    return held.get();
  }

  public long limitBytes() {
    return limitBytes;
  }
}
