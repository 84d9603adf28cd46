package weir.node.ingest;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.PostStop;
import akka.actor.typed.PreRestart;
import akka.actor.typed.SupervisorStrategy;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.actor.typed.javadsl.TimerScheduler;
import akka.actor.typed.receptionist.Receptionist;
import akka.actor.typed.receptionist.ServiceKey;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import weir.persistence.CborSerializable;
import weir.protocol.StagedRow;

/**
 * This node's half of the cluster-wide live tail: one per member, registered with the Receptionist
 * under {@link #KEY}. It has two roles.
 *
 * <p><b>For tails opened here</b> ({@link Open} from {@link ClusterTail}): it sends {@link Watch}
 * (a lease of {@link Settings#lease}) to every other member's relay, renews it every {@link
 * Settings#renew} and on a member's arrival, and on {@link Close} sends {@link Unwatch}. {@link
 * Rows} from a relay go into the tail's own bounded queue (full: dropped and counted, as for local
 * rows); the rows a relay dropped before sending arrive as its running total and are added to the
 * tail's {@code dropped}, and so are the rows of a batch lost on the way (each batch carries the
 * relay's running count of rows sent). Each batch, an empty one too, is answered with {@link
 * Delivered} (that running count, so a lost batch or a lost answer never holds the relay's window
 * shut).
 *
 * <p><b>For tails elsewhere</b> ({@link Watch}): it holds a bounded {@linkplain EventTail#relay
 * relayed watcher} on the local {@link EventTail} while the lease lasts, and every {@link
 * Settings#flush} sends its rows to the tail in batches of at most {@link Settings#batchRows} rows
 * and {@link Settings#batchChars} characters, never more than {@link Settings#inFlight} rows sent
 * and not yet {@link Delivered}: beyond, rows wait in the watcher's buffer and the newest are
 * dropped and counted. A renewal that finds the window shut is answered with an empty batch (the
 * running counts only), whose {@link Delivered} reopens it: a whole window lost on the way costs
 * its rows, never the tail. A row larger than a batch is dropped and counted (an Artery frame is
 * small). A lease not renewed in time (the tail closed, its member died) removes the watcher: the
 * ingest path of a node does work only for connections somebody in the cluster tails.
 *
 * <p>At-most-once, like the local tail: rows lost to a bound, a lost message or a restart are not
 * sent again. Rows are only ever those whose journal write succeeded ({@link EventTail}).
 */
public final class TailRelay extends AbstractBehavior<TailRelay.Command> {
  /** Every member's relay registers under this key. */
  public static final ServiceKey<Command> KEY = ServiceKey.create(Command.class, "weir-tail-relay");

  /**
   * Timings and bounds.
   *
   * @param lease how long a {@link Watch} holds a relayed watcher without renewal
   * @param renew how often an open tail renews its leases
   * @param flush how often a relay sends what its watchers hold
   * @param queue rows a relayed watcher holds before the newest are dropped
   * @param batchRows rows in one {@link Rows} message at most
   * @param batchChars characters of rows (JSON, event id, table) in one {@link Rows} at most
   * @param inFlight rows sent to one tail and not yet {@link Delivered}, at most
   * @param maxLeases tails of other members one relay serves at most (beyond: ignored, logged)
   */
  public record Settings(
      Duration lease,
      Duration renew,
      Duration flush,
      int queue,
      int batchRows,
      int batchChars,
      int inFlight,
      int maxLeases) {
    public static final Settings DEFAULT =
        new Settings(
            Duration.ofSeconds(15),
            Duration.ofSeconds(5),
            Duration.ofMillis(150),
            // A relayed watcher only bridges the time to the next flush: 64 rows (1 MiB at most).
            64,
            EventTail.MAX_ROWS_PER_REQUEST,
            // One row cut to the tail's bound fits, with its event id and table; at most 3 UTF-8
            // bytes a character, a batch stays under Artery's 256 KiB maximum-frame-size.
            EventTail.MAX_ROW_CHARS + 4 * 1024,
            200,
            2 * EventTail.MAX_WATCHERS);
  }

  /** The relay's protocol; the records that cross members are {@link CborSerializable}. */
  public sealed interface Command {}

  /**
   * Hold (or renew) a watcher of {@code connectionId} for the tail {@code tailId} at {@code tail}.
   */
  public record Watch(String tailId, String connectionId, ActorRef<Command> tail, long leaseMillis)
      implements Command, CborSerializable {}

  /** The tail closed: drop its watcher now rather than at the lease's end. */
  public record Unwatch(String tailId) implements Command, CborSerializable {}

  /**
   * Rows accepted by the {@code relay}'s member; {@code through}: rows it sent this tail so far,
   * these included; {@code dropped}: its running total of rows it dropped before sending.
   */
  public record Rows(
      String tailId, ActorRef<Command> relay, List<Row> rows, long through, long dropped)
      implements Command, CborSerializable {}

  /** One relayed row. */
  public record Row(Instant receivedAt, StagedRow row) implements CborSerializable {}

  /** The tail has accounted for the first {@code rows} rows this relay sent it (cumulative). */
  public record Delivered(String tailId, long rows) implements Command, CborSerializable {}

  /** A tail opened on this node (local only: it carries the tail's watcher). */
  record Open(String tailId, String connectionId, EventTail.Watcher watcher) implements Command {}

  /** A tail opened on this node ended. */
  record Close(String tailId) implements Command {}

  private record Relays(Receptionist.Listing listing) implements Command {}

  private enum Flush implements Command {
    INSTANCE
  }

  private enum Renew implements Command {
    INSTANCE
  }

  public static Behavior<Command> create(EventTail tail, Settings settings) {
    return Behaviors.<Command>supervise(
            Behaviors.setup(
                ctx ->
                    Behaviors.withTimers(
                        timers -> {
                          ctx.getSystem()
                              .receptionist()
                              .tell(Receptionist.register(KEY, ctx.getSelf()));
                          ctx.getSystem()
                              .receptionist()
                              .tell(
                                  Receptionist.subscribe(
                                      KEY,
                                      ctx.messageAdapter(Receptionist.Listing.class, Relays::new)));
                          return new TailRelay(ctx, timers, tail, settings);
                        })))
        .onFailure(
            SupervisorStrategy.restartWithBackoff(
                Duration.ofMillis(200), Duration.ofSeconds(5), 0.2));
  }

  /** A tail elsewhere, served from here. */
  private static final class Lease {
    final ActorRef<Command> tail;
    final EventTail.Relayed rows;
    long deadlineNanos;
    long sent;
    long delivered;
    long tooLarge;
    long droppedSent;

    Lease(ActorRef<Command> tail, EventTail.Relayed rows) {
      this.tail = tail;
      this.rows = rows;
    }

    long dropped() {
      return rows.dropped() + tooLarge;
    }
  }

  /** A tail opened here; per relay: rows accounted for (received or lost) and drops reported. */
  private record Tailing(
      String connectionId, EventTail.Watcher watcher, Map<ActorRef<Command>, long[]> from) {}

  private final TimerScheduler<Command> timers;
  private final EventTail tail;
  private final Settings settings;
  private final Map<String, Lease> leases = new HashMap<>();
  private final Map<String, Tailing> open = new HashMap<>();
  private Set<ActorRef<Command>> relays = Set.of();

  private TailRelay(
      ActorContext<Command> ctx,
      TimerScheduler<Command> timers,
      EventTail tail,
      Settings settings) {
    super(ctx);
    this.timers = timers;
    this.tail = tail;
    this.settings = settings;
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Watch.class, this::onWatch)
        .onMessage(Unwatch.class, u -> unlease(u.tailId()))
        .onMessage(Delivered.class, this::onDelivered)
        .onMessageEquals(Flush.INSTANCE, this::onFlush)
        .onMessage(Open.class, this::onOpen)
        .onMessage(Close.class, this::onClose)
        .onMessageEquals(Renew.INSTANCE, this::onRenew)
        .onMessage(Relays.class, this::onRelays)
        .onMessage(Rows.class, this::onRows)
        .onSignal(PreRestart.class, s -> releaseAll())
        .onSignal(PostStop.class, s -> releaseAll())
        .build();
  }

  // ---- tails elsewhere

  private Behavior<Command> onWatch(Watch w) {
    long lease =
        Duration.ofMillis(Math.min(w.leaseMillis(), 4 * settings.lease().toMillis())).toNanos();
    Lease l = leases.get(w.tailId());
    if (l == null) {
      if (leases.size() >= settings.maxLeases()) {
        getContext()
            .getLog()
            .warn(
                "Tail relay already serves {} tails of other members; ignoring tail {} at {}",
                leases.size(),
                w.tailId(),
                w.tail().path().address());
        return this;
      }
      l = new Lease(w.tail(), tail.relay(w.connectionId(), settings.queue()));
      leases.put(w.tailId(), l);
      if (leases.size() == 1)
        timers.startTimerAtFixedRate(Flush.INSTANCE, Flush.INSTANCE, settings.flush());
    }
    l.deadlineNanos = System.nanoTime() + lease;
    // The tail is alive but the window is shut: the batches in flight or their answers may have
    // been lost, and an empty batch's answer is what reopens it.
    if (l.sent - l.delivered >= settings.inFlight()) {
      l.droppedSent = l.dropped();
      l.tail.tell(new Rows(w.tailId(), getContext().getSelf(), List.of(), l.sent, l.droppedSent));
    }
    return this;
  }

  private Behavior<Command> unlease(String tailId) {
    Lease l = leases.remove(tailId);
    if (l != null) tail.close(l.rows);
    if (leases.isEmpty()) timers.cancel(Flush.INSTANCE);
    return this;
  }

  private Behavior<Command> onDelivered(Delivered d) {
    Lease l = leases.get(d.tailId());
    if (l != null) l.delivered = Math.max(l.delivered, Math.min(d.rows(), l.sent));
    return this;
  }

  private Behavior<Command> onFlush() {
    long now = System.nanoTime();
    for (Iterator<Map.Entry<String, Lease>> it = leases.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<String, Lease> e = it.next();
      Lease l = e.getValue();
      if (now - l.deadlineNanos > 0) {
        tail.close(l.rows);
        it.remove();
      } else {
        forward(e.getKey(), l);
      }
    }
    if (leases.isEmpty()) timers.cancel(Flush.INSTANCE);
    return this;
  }

  private void forward(String tailId, Lease l) {
    while (true) {
      List<Row> batch = new ArrayList<>();
      int chars = 0;
      while (batch.size() < settings.batchRows()
          && l.sent - l.delivered + batch.size() < settings.inFlight()) {
        EventTail.TailedRow next = l.rows.peek();
        if (next == null) break;
        int size =
            next.row().json().length()
                + next.row().eventId().length()
                + next.row().table().length();
        if (size > settings.batchChars()) {
          l.rows.poll();
          l.tooLarge++;
          continue;
        }
        if (chars + size > settings.batchChars()) break;
        l.rows.poll();
        batch.add(new Row(next.receivedAt(), next.row()));
        chars += size;
      }
      long dropped = l.dropped();
      if (batch.isEmpty() && dropped == l.droppedSent) return;
      l.sent += batch.size();
      l.tail.tell(new Rows(tailId, getContext().getSelf(), List.copyOf(batch), l.sent, dropped));
      l.droppedSent = dropped;
      if (batch.isEmpty()) return;
    }
  }

  // ---- tails opened here

  private Behavior<Command> onOpen(Open o) {
    open.put(o.tailId(), new Tailing(o.connectionId(), o.watcher(), new HashMap<>()));
    for (ActorRef<Command> r : relays) r.tell(watch(o.tailId(), o.connectionId()));
    if (open.size() == 1)
      timers.startTimerAtFixedRate(Renew.INSTANCE, Renew.INSTANCE, settings.renew());
    return this;
  }

  private Behavior<Command> onClose(Close c) {
    if (open.remove(c.tailId()) != null)
      for (ActorRef<Command> r : relays) r.tell(new Unwatch(c.tailId()));
    if (open.isEmpty()) timers.cancel(Renew.INSTANCE);
    return this;
  }

  private Behavior<Command> onRenew() {
    for (Map.Entry<String, Tailing> t : open.entrySet())
      for (ActorRef<Command> r : relays) r.tell(watch(t.getKey(), t.getValue().connectionId()));
    return this;
  }

  private Behavior<Command> onRelays(Relays r) {
    Set<ActorRef<Command>> now = new HashSet<>(r.listing().getServiceInstances(KEY));
    now.remove(getContext().getSelf());
    for (ActorRef<Command> relay : now)
      if (!relays.contains(relay))
        for (Map.Entry<String, Tailing> t : open.entrySet())
          relay.tell(watch(t.getKey(), t.getValue().connectionId()));
    relays = Set.copyOf(now);
    return this;
  }

  private Behavior<Command> onRows(Rows r) {
    Tailing t = open.get(r.tailId());
    if (t == null) {
      // Closed here while the relay's lease still ran: let it stop now.
      r.relay().tell(new Unwatch(r.tailId()));
      return this;
    }
    long[] from = t.from().computeIfAbsent(r.relay(), k -> new long[2]);
    for (Row row : r.rows())
      t.watcher().offer(new EventTail.TailedRow(t.connectionId(), row.receivedAt(), row.row()));
    // Messages between two actors arrive in order or not at all: a gap is a batch lost on the way.
    long lost = r.through() - r.rows().size() - from[0];
    long dropped = Math.max(lost, 0) + Math.max(r.dropped() - from[1], 0);
    if (dropped > 0) t.watcher().droppedElsewhere(dropped);
    from[0] = Math.max(from[0], r.through());
    from[1] = Math.max(from[1], r.dropped());
    // Every batch is answered, an empty one too: after a lost window (or a lost answer) the relay
    // sends empty batches, and only this answer reopens its window.
    r.relay().tell(new Delivered(r.tailId(), from[0]));
    return this;
  }

  private Watch watch(String tailId, String connectionId) {
    return new Watch(tailId, connectionId, getContext().getSelf(), settings.lease().toMillis());
  }

  private Behavior<Command> releaseAll() {
    for (Lease l : leases.values()) tail.close(l.rows);
    leases.clear();
    return this;
  }
}
