package weir.node.ingest;

import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.actor.typed.javadsl.TimerScheduler;
import akka.cluster.sharding.typed.javadsl.EntityRef;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;

/**
 * Group commit for one buffer slot, on the node that received the requests: while one {@link
 * ConnectionBuffer.AcceptMany} is waiting for its journal write, the requests that arrive meanwhile
 * are collected and sent together when it returns. A busy slot thus writes many requests per
 * journal round trip instead of queueing them one by one; an idle slot sends each request at once
 * (no added latency). Each request still gets its own verdict and its own journal event.
 *
 * <p>Bounds: a group holds at most {@code maxGroupBytes} of rows (one larger request goes alone),
 * so that it fits a remoting frame when the slot lives on another node; at most {@code
 * maxQueuedBytes} wait, beyond which a request is refused at once (overloaded, 503); a request that
 * waited past its deadline (the ask timeout, the time its HTTP call waits) is answered as failed
 * and never sent.
 */
final class SlotBatcher extends AbstractBehavior<SlotBatcher.Message> {

  /** Messages: local only (they carry futures), never serialized. */
  sealed interface Message {}

  /**
   * One request; {@code result} completes with true (durable), false (refused: slot full), or
   * exceptionally (not durable: timeout, journal failure).
   */
  record Submit(
      ConnectionBuffer.Request request, CompletableFuture<Boolean> result, long deadlineNanos)
      implements Message {
    long bytes() {
      return request.rows().length;
    }
  }

  private record Written(List<Submit> group, ConnectionBuffer.Accepted verdicts, Throwable failure)
      implements Message {}

  private enum Expire implements Message {
    INSTANCE
  }

  /** Limits of one slot's batcher. */
  record Limits(Duration askTimeout, long maxGroupBytes, int maxGroupEvents, long maxQueuedBytes) {}

  static Behavior<Message> create(EntityRef<ConnectionBuffer.Command> slot, Limits limits) {
    return Behaviors.setup(
        ctx -> Behaviors.withTimers(timers -> new SlotBatcher(ctx, timers, slot, limits)));
  }

  private final EntityRef<ConnectionBuffer.Command> slot;
  private final Limits limits;
  private final TimerScheduler<Message> timers;
  private final ArrayDeque<Submit> waiting = new ArrayDeque<>();
  private long waitingBytes;
  private boolean writing;

  private SlotBatcher(
      ActorContext<Message> ctx,
      TimerScheduler<Message> timers,
      EntityRef<ConnectionBuffer.Command> slot,
      Limits limits) {
    super(ctx);
    this.timers = timers;
    this.slot = slot;
    this.limits = limits;
  }

  @Override
  public Receive<Message> createReceive() {
    return newReceiveBuilder()
        .onMessage(
            Submit.class,
            s -> {
              if (writing
                  && waitingBytes + s.bytes() > limits.maxQueuedBytes()
                  && !waiting.isEmpty()) {
                s.result().complete(false);
                return this;
              }
              waiting.add(s);
              waitingBytes += s.bytes();
              if (!writing) send();
              else if (!timers.isTimerActive(Expire.INSTANCE)) {
                timers.startTimerWithFixedDelay(Expire.INSTANCE, Duration.ofMillis(100));
              }
              return this;
            })
        .onMessage(
            Written.class,
            w -> {
              for (int i = 0; i < w.group().size(); i++) {
                CompletableFuture<Boolean> result = w.group().get(i).result();
                if (w.failure() != null) result.completeExceptionally(w.failure());
                else result.complete(w.verdicts().accepted().get(i));
              }
              writing = false;
              expire();
              if (!waiting.isEmpty()) send();
              return this;
            })
        .onMessage(
            Expire.class,
            e -> {
              expire();
              if (waiting.isEmpty()) timers.cancel(Expire.INSTANCE);
              return this;
            })
        .build();
  }

  /** Fails the waiting requests whose HTTP call has given up: they are never written. */
  private void expire() {
    long now = System.nanoTime();
    for (Iterator<Submit> it = waiting.iterator(); it.hasNext(); ) {
      Submit s = it.next();
      if (now - s.deadlineNanos() >= 0) {
        it.remove();
        waitingBytes -= s.bytes();
        s.result()
            .completeExceptionally(
                new TimeoutException(
                    "the journal write did not start within "
                        + limits.askTimeout().toSeconds()
                        + " s"));
      }
    }
  }

  /** Sends the waiting requests (up to the group limits) as one group. */
  private void send() {
    List<Submit> group = new ArrayList<>();
    long bytes = 0;
    int events = 0;
    while (!waiting.isEmpty()) {
      Submit next = waiting.peek();
      boolean fits =
          group.isEmpty()
              || (bytes + next.bytes() <= limits.maxGroupBytes()
                  && events + next.request().events() <= limits.maxGroupEvents());
      if (!fits) break;
      waiting.poll();
      waitingBytes -= next.bytes();
      bytes += next.bytes();
      events += next.request().events();
      group.add(next);
    }
    writing = true;
    long remainingNanos =
        group.stream().mapToLong(s -> s.deadlineNanos() - System.nanoTime()).min().orElse(0);
    Duration timeout = Duration.ofNanos(Math.max(Duration.ofMillis(100).toNanos(), remainingNanos));
    List<ConnectionBuffer.Request> requests = group.stream().map(Submit::request).toList();
    getContext()
        .pipeToSelf(
            slot.<ConnectionBuffer.Accepted>askWithStatus(
                r -> new ConnectionBuffer.AcceptMany(requests, r), timeout),
            (verdicts, failure) -> new Written(group, verdicts, failure));
  }
}
