package weir.node;

import akka.actor.ActorSystem;
import akka.actor.CoordinatedShutdown;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * Readiness check for Akka Management ({@code /health/ready}): not ready once coordinated shutdown has begun,
 * so a load balancer stops sending traffic before the node unbinds and drains.
 */
public final class ServingCheck implements Supplier<CompletionStage<Boolean>> {
  private final ActorSystem system;

  public ServingCheck(ActorSystem system) {
    this.system = system;
  }

  @Override
  public CompletionStage<Boolean> get() {
    return CompletableFuture.completedFuture(CoordinatedShutdown.get(system).getShutdownReason().isEmpty());
  }
}
