package weir.node.http;

import akka.http.javadsl.model.HttpRequest;
import akka.stream.Attributes;
import akka.stream.FlowShape;
import akka.stream.Inlet;
import akka.stream.Outlet;
import akka.stream.stage.AbstractInHandler;
import akka.stream.stage.AbstractOutHandler;
import akka.stream.stage.GraphStage;
import akka.stream.stage.GraphStageLogic;
import akka.stream.stage.TimerGraphStageLogic;
import java.time.Duration;

/**
 * One connection's deadline for its next request's headers: from the moment the connection opens,
 * or the previous response went out, a client has {@code timeout} to send a complete request line
 * and headers, or the connection is closed. Akka HTTP's {@code idle-timeout} only counts silence,
 * so a client that trickles a byte every few seconds (or opens thousands of half-open connections)
 * would otherwise hold its connection slot forever; bodies have their own deadline ({@code
 * weir.ingest.body-read-timeout}).
 *
 * <p>It sits in front of a connection's route flow ({@code bindFlow} materializes it per
 * connection): it starts its timer when the route asks for the next request and stops it when a
 * parsed request arrives; on expiry it completes, which closes the connection.
 */
public final class RequestDeadline extends GraphStage<FlowShape<HttpRequest, HttpRequest>> {
  private final Inlet<HttpRequest> in = Inlet.create("RequestDeadline.in");
  private final Outlet<HttpRequest> out = Outlet.create("RequestDeadline.out");
  private final FlowShape<HttpRequest, HttpRequest> shape = FlowShape.of(in, out);
  private final Duration timeout;

  public RequestDeadline(Duration timeout) {
    this.timeout = timeout;
  }

  @Override
  public FlowShape<HttpRequest, HttpRequest> shape() {
    return shape;
  }

  @Override
  public GraphStageLogic createLogic(Attributes attributes) {
    return new TimerGraphStageLogic(shape) {
      {
        setHandler(
            in,
            new AbstractInHandler() {
              @Override
              public void onPush() {
                cancelTimer("deadline");
                push(out, grab(in));
              }
            });
        setHandler(
            out,
            new AbstractOutHandler() {
              @Override
              public void onPull() {
                scheduleOnce("deadline", timeout);
                pull(in);
              }
            });
      }

      @Override
      public void onTimer(Object key) {
        completeStage();
      }
    };
  }
}
