package weir.node.http;

import akka.actor.typed.ActorSystem;
import akka.http.javadsl.Http;
import akka.http.javadsl.ServerBinding;
import akka.http.javadsl.server.Directives;
import akka.http.javadsl.server.Route;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletionStage;

/**
 * Binds one port's routes, wrapped in Weir's JSON rejection and exception handling, and registers unbind
 * and drain of in-flight requests with {@code CoordinatedShutdown} (phases service-unbind and
 * service-requests-done), before buffers flush in service-stop.
 */
public final class HttpServer {
  private HttpServer() {}

  public static CompletionStage<InetSocketAddress> bind(ActorSystem<?> system, String host, int port, Route routes,
      Duration drainDeadline) {
    Route handled = Directives.handleExceptions(ApiErrors.exceptionHandler(),
        () -> Directives.handleRejections(ApiErrors.rejectionHandler(), () -> routes));
    return Http.get(system).newServerAt(host, port).bind(handled)
        .thenApply(binding -> binding.addToCoordinatedShutdown(drainDeadline, system))
        .thenApply(ServerBinding::localAddress);
  }
}
