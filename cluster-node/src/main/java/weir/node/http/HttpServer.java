package weir.node.http;

import akka.NotUsed;
import akka.actor.typed.ActorSystem;
import akka.http.javadsl.Http;
import akka.http.javadsl.ServerBinding;
import akka.http.javadsl.model.HttpRequest;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.server.Directives;
import akka.http.javadsl.server.RejectionHandler;
import akka.http.javadsl.server.Route;
import akka.stream.javadsl.Flow;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletionStage;

/**
 * Binds one port's routes, wrapped in Weir's JSON rejection and exception handling, behind a
 * per-connection {@link RequestDeadline} (a client that does not send its request headers in time
 * loses its connection), and registers unbind and drain of in-flight requests with {@code
 * CoordinatedShutdown} (phases service-unbind and service-requests-done), before buffers flush in
 * service-stop. The connection limit is {@code akka.http.server.max-connections} (set from {@code
 * weir.ingest.max-connections}).
 */
public final class HttpServer {
  private HttpServer() {}

  public static CompletionStage<InetSocketAddress> bind(
      ActorSystem<?> system,
      String host,
      int port,
      Route routes,
      Duration drainDeadline,
      Duration headerTimeout) {
    // Built once: the Java DSL calls an inner route's supplier for every request, so a handler
    // made inside one was built again per request (2 % of a single event's allocations).
    RejectionHandler rejections = ApiErrors.rejectionHandler();
    Route withRejections = Directives.handleRejections(rejections, () -> routes);
    Route handled = Directives.handleExceptions(ApiErrors.exceptionHandler(), () -> withRejections);
    // bindFlow materializes this flow once per connection: each connection gets its own deadline.
    Flow<HttpRequest, HttpResponse, NotUsed> perConnection =
        Flow.of(HttpRequest.class)
            .via(new RequestDeadline(headerTimeout))
            .via(handled.flow(system));
    return Http.get(system)
        .newServerAt(host, port)
        .bindFlow(perConnection)
        .thenApply(binding -> binding.addToCoordinatedShutdown(drainDeadline, system))
        .thenApply(ServerBinding::localAddress);
  }
}
