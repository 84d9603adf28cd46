package weir.node.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Per-minute figures are differences of the node's counters, minute by minute. */
class ConnectionActivityTest {
  private static final long MINUTE = 60_000;

  @Test
  void eachMinuteShowsWhatItsCountersGainedAndTheLagItsSamplesSaw() {
    NodeMetrics metrics = new NodeMetrics();
    Map<String, String> registry = Map.of("c1", "d1");
    ConnectionActivity activity = new ConnectionActivity(metrics, () -> registry);
    long t0 = 1_000 * MINUTE;

    metrics.increment("weir_ingest_events_total", 7, "connection", "c1");
    metrics.set("weir_load_lag_seconds", 12, "destination", "d1");
    activity.sample(registry, t0 + 5_000);
    metrics.set("weir_load_lag_seconds", 3, "destination", "d1");
    activity.sample(registry, t0 + 10_000);
    metrics.increment("weir_ingest_events_total", 2, "connection", "c1");
    metrics.increment("weir_loaded_events_total", 9, "connection", "c1");
    metrics.increment("weir_retries_total", 1, "stage", "load");

    List<ConnectionActivity.Minute> hour = activity.lastHour("c1", t0 + 2 * MINUTE + 1);
    assertThat(hour).hasSize(ConnectionActivity.MINUTES);
    ConnectionActivity.Minute first = hour.get(57), second = hour.get(58), now = hour.get(59);
    assertThat(first.startMillis()).isEqualTo(t0);
    assertThat(first.accepted()).isEqualTo(7);
    assertThat(first.loadLagSeconds()).isEqualTo(12); // the highest sample of the minute
    assertThat(second.accepted()).isZero(); // not sampled: nothing counted then
    assertThat(now.accepted()).isEqualTo(2);
    assertThat(now.loaded()).isEqualTo(9);
    assertThat(now.retries()).isEqualTo(1);
    assertThat(hour.subList(0, 57)).allSatisfy(m -> assertThat(m.accepted()).isZero());
    assertThat(activity.lastHour("unknown", t0).get(59).accepted()).isZero();
  }
}
