package weir.node.ingest;

import akka.NotUsed;
import akka.stream.QueueOfferResult;
import akka.stream.javadsl.Source;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import weir.protocol.Json;
import weir.protocol.StagedRow;

/**
 * The live tail of the events this node accepted, per connection (the console's debugger view).
 *
 * <p>{@link ShardedIngest} calls {@link #accepted} once a request's journal write is confirmed
 * (what got a 2xx), never before. When nobody tails anywhere, that call is one volatile read; when
 * somebody tails another connection, one map lookup. Each watcher has a bounded queue of {@link
 * #QUEUE} rows: a watcher that reads slower than events arrive loses the newest ones (counted in
 * its {@link Watcher#dropped()}), ingestion never waits for it and nothing grows without bound. At
 * most {@link #MAX_ROWS_PER_REQUEST} rows of one request are offered, each cut to {@link
 * #MAX_ROW_CHARS} characters of JSON, so a queue's bound is one of bytes too.
 *
 * <p>What this node accepted. A watcher sees other members' rows too when {@link ClusterTail}
 * opened it: their {@link TailRelay}s hold a {@linkplain #relay relayed watcher} here for each tail
 * somewhere in the cluster, so a node does work only for connections somebody tails.
 */
public final class EventTail {
  /** Rows a watcher may have waiting before the newest are dropped. */
  public static final int QUEUE = 256;

  /** Rows of one request offered to watchers (a big batch shows its first rows). */
  static final int MAX_ROWS_PER_REQUEST = 50;

  /** At most this many watchers per node (each holds an HTTP response open). */
  public static final int MAX_WATCHERS = 32;

  /**
   * Characters of a row's JSON a tail holds at most: the rest is cut when the row is offered, so a
   * tail's memory is bounded by bytes, not only by rows (a row may be MiBs): at most {@link #QUEUE}
   * × 16 KiB = 4 MiB a watcher, 128 MiB for {@link #MAX_WATCHERS}.
   */
  public static final int MAX_ROW_CHARS = 8 * 1024;

  /**
   * One accepted row as the tail shows it: its JSON at most {@link #MAX_ROW_CHARS} characters. A
   * longer one is cut to its first {@link #MAX_ROW_CHARS} (never inside a surrogate pair), which is
   * how a reader knows: a row is one compact JSON object, and no cut of one parses.
   */
  public record TailedRow(String connectionId, Instant receivedAt, StagedRow row) {
    public TailedRow {
      if (row.json().length() > MAX_ROW_CHARS)
        row =
            new StagedRow(
                row.table(),
                row.eventId(),
                row.timestampMillis(),
                Json.truncate(row.json(), MAX_ROW_CHARS));
    }
  }

  /** An open tail: its watcher (the dropped count) and its rows. */
  public record Tail(Watcher watcher, Source<TailedRow, NotUsed> source) {}

  /** One watcher: its stream and how many rows it lost to its bounded queue. */
  public static final class Watcher {
    private final AtomicLong dropped = new AtomicLong();
    // Set before the watcher is added to the map (which publishes it); true when the row was taken.
    private Predicate<TailedRow> sink;

    public long dropped() {
      return dropped.get();
    }

    void offer(TailedRow row) {
      if (!sink.test(row)) dropped.incrementAndGet();
    }

    /** Rows lost before they reached this node (another member's relay counted them). */
    void droppedElsewhere(long rows) {
      dropped.addAndGet(rows);
    }
  }

  /**
   * Rows of one connection held for a tail on another member, drained by this node's {@link
   * TailRelay}: a bounded buffer (full: the newest are dropped and counted), never a stream.
   */
  static final class Relayed {
    private final String connectionId;
    private final Watcher watcher;
    private final ArrayBlockingQueue<TailedRow> rows;

    private Relayed(String connectionId, Watcher watcher, ArrayBlockingQueue<TailedRow> rows) {
      this.connectionId = connectionId;
      this.watcher = watcher;
      this.rows = rows;
    }

    /** The oldest waiting row, left in place; null when none waits. */
    TailedRow peek() {
      return rows.peek();
    }

    /** Removes the oldest waiting row. */
    TailedRow poll() {
      return rows.poll();
    }

    long dropped() {
      return watcher.dropped();
    }
  }

  private final Map<String, Set<Watcher>> watchers = new ConcurrentHashMap<>();
  private final AtomicInteger count = new AtomicInteger();
  private volatile boolean anyone;

  /** Called after the journal write of a request for {@code connectionId} succeeded. */
  void accepted(String connectionId, IngestBatch batch) {
    if (!anyone) return;
    Set<Watcher> these = watchers.get(connectionId);
    if (these == null) return;
    List<StagedRow> rows = batch.rows();
    int n = Math.min(rows.size(), MAX_ROWS_PER_REQUEST);
    // Made (and cut) once: every watcher holds the same rows.
    TailedRow[] offered = new TailedRow[n];
    for (int i = 0; i < n; i++)
      offered[i] = new TailedRow(connectionId, batch.receivedAt(), rows.get(i));
    for (Watcher w : these) for (TailedRow r : offered) w.offer(r);
  }

  /**
   * A stream of the rows accepted for {@code connectionId} from now on, until the stream is
   * cancelled (the client went away); empty when {@link #MAX_WATCHERS} are already watching. The
   * caller must run the stream (its place is held from this call until the stream ends).
   */
  public Optional<Tail> watch(String connectionId) {
    if (count.incrementAndGet() > MAX_WATCHERS) {
      count.decrementAndGet();
      return Optional.empty();
    }
    Watcher w = new Watcher();
    Source<TailedRow, NotUsed> rows =
        Source.<TailedRow>queue(QUEUE)
            .mapMaterializedValue(
                q -> {
                  w.sink = row -> q.offer(row) == QueueOfferResult.enqueued();
                  add(connectionId, w);
                  return w;
                })
            .watchTermination(
                (watcher, done) -> {
                  done.whenComplete(
                      (ok, error) -> {
                        remove(connectionId, w);
                        count.decrementAndGet();
                      });
                  return NotUsed.getInstance();
                });
    return Optional.of(new Tail(w, rows));
  }

  // Subscribing and leaving are rare: a lock keeps the flag and the map in step.
  private synchronized void add(String connectionId, Watcher w) {
    watchers.computeIfAbsent(connectionId, id -> ConcurrentHashMap.newKeySet()).add(w);
    anyone = true;
  }

  private synchronized void remove(String connectionId, Watcher w) {
    watchers.computeIfPresent(
        connectionId,
        (id, set) -> {
          set.remove(w);
          return set.isEmpty() ? null : set;
        });
    anyone = !watchers.isEmpty();
  }

  /**
   * A bounded buffer of the rows accepted for {@code connectionId} from now on, for a tail on
   * another member; not counted in {@link #MAX_WATCHERS} (the relay bounds its own). Held until
   * {@link #close}.
   */
  Relayed relay(String connectionId, int capacity) {
    Watcher w = new Watcher();
    ArrayBlockingQueue<TailedRow> rows = new ArrayBlockingQueue<>(capacity);
    w.sink = rows::offer;
    add(connectionId, w);
    return new Relayed(connectionId, w, rows);
  }

  /** Stops filling {@code relayed}. */
  void close(Relayed relayed) {
    remove(relayed.connectionId, relayed.watcher);
  }

  /** True when some watcher (a tail here or a relay for one elsewhere) watches the connection. */
  boolean watched(String connectionId) {
    return watchers.containsKey(connectionId);
  }

  /** Watchers on this node now. */
  public int watchers() {
    return count.get();
  }
}
