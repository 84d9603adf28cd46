package weir.node;

import akka.actor.ActorSystem;
import akka.actor.CoordinatedShutdown;
import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * Readiness check for Akka Management ({@code /health/ready}): ready once the node serves (its HTTP
 * ports are bound: {@link #serving}) and until coordinated shutdown begins, so a load balancer
 * sends traffic only to a node that takes it and stops before the node unbinds and drains.
 */
public final class ServingCheck implements Supplier<CompletionStage<Boolean>> {
  private static final Map<ActorSystem, Boolean> SERVING =
      Collections.synchronizedMap(new WeakHashMap<>());

  private final ActorSystem system;

  public ServingCheck(ActorSystem system) {
    this.system = system;
  }

  /** Called by the node once every HTTP port is bound. */
  static void serving(ActorSystem system) {
    SERVING.put(system, Boolean.TRUE);
  }

  @Override
  public CompletionStage<Boolean> get() {
    boolean ready =
        SERVING.getOrDefault(system, false)
            && CoordinatedShutdown.get(system).getShutdownReason().isEmpty();
    return CompletableFuture.completedFuture(ready);
  }
}
