package weir.node.ingest;

import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.cluster.sharding.typed.javadsl.EntityRef;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Group commit for one buffer slot, on the node that received the requests: while one {@link
 * ConnectionBuffer.AcceptMany} is waiting for its journal write, the requests that arrive meanwhile are
 * collected and sent together when it returns. A busy slot thus writes many requests per journal round
 * trip instead of queueing them one by one; an idle slot sends each request at once (no added latency).
 * Each request still gets its own verdict and its own journal event.
 */
final class SlotBatcher extends AbstractBehavior<SlotBatcher.Message> {

  /** Messages: local only (they carry futures), never serialized. */
  sealed interface Message {}

  /** One request; {@code result} completes with true (durable), false (slot full), or exceptionally. */
  record Submit(ConnectionBuffer.Request request, CompletableFuture<Boolean> result) implements Message {}

  private record Written(List<Submit> group, ConnectionBuffer.Accepted verdicts, Throwable failure)
      implements Message {}

  static Behavior<Message> create(EntityRef<ConnectionBuffer.Command> slot, Duration askTimeout, int maxGroupEvents) {
    return Behaviors.setup(ctx -> new SlotBatcher(ctx, slot, askTimeout, maxGroupEvents));
  }

  private final EntityRef<ConnectionBuffer.Command> slot;
  private final Duration askTimeout;
  private final int maxGroupEvents;
  private final List<Submit> waiting = new ArrayList<>();
  private boolean writing;

  private SlotBatcher(ActorContext<Message> ctx, EntityRef<ConnectionBuffer.Command> slot, Duration askTimeout,
      int maxGroupEvents) {
    super(ctx);
    this.slot = slot;
    this.askTimeout = askTimeout;
    this.maxGroupEvents = maxGroupEvents;
  }

  @Override
  public Receive<Message> createReceive() {
    return newReceiveBuilder()
        .onMessage(Submit.class, s -> {
          waiting.add(s);
          if (!writing) send();
          return this;
        })
        .onMessage(Written.class, w -> {
          for (int i = 0; i < w.group().size(); i++) {
            CompletableFuture<Boolean> result = w.group().get(i).result();
            if (w.failure() != null) result.completeExceptionally(w.failure());
            else result.complete(w.verdicts().accepted().get(i));
          }
          writing = false;
          if (!waiting.isEmpty()) send();
          return this;
        })
        .build();
  }

  /** Sends the waiting requests (up to about {@code maxGroupEvents} events) as one group. */
  private void send() {
    List<Submit> group = new ArrayList<>();
    int events = 0;
    while (!waiting.isEmpty() && (group.isEmpty() || events + waiting.get(0).request().rows().size() <= maxGroupEvents)) {
      Submit next = waiting.remove(0);
      events += next.request().rows().size();
      group.add(next);
    }
    writing = true;
    List<ConnectionBuffer.Request> requests = group.stream().map(Submit::request).toList();
    getContext().pipeToSelf(
        slot.<ConnectionBuffer.Accepted>askWithStatus(r -> new ConnectionBuffer.AcceptMany(requests, r), askTimeout),
        (verdicts, failure) -> new Written(group, verdicts, failure));
  }
}
