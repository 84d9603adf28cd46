package weir.node.load;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * Settings of the load coordinators, from {@code weir.load}.
 *
 * @param tickInterval how often a coordinator checks whether a load is due
 * @param backoffMin first retry delay after a failed load
 * @param backoffMax longest retry delay; retries go on at this pace, never dropping a batch
 * @param maxBatchesPerLoad batches loaded in one transaction at most
 * @param snapshotEvery journal events between snapshots (older events are deleted)
 */
public record LoadSettings(Duration tickInterval, Duration backoffMin, Duration backoffMax, int maxBatchesPerLoad,
    int snapshotEvery) {

  public static LoadSettings fromConfig(Config weir) {
    Config c = weir.getConfig("load");
    return new LoadSettings(c.getDuration("tick-interval"), c.getDuration("backoff.min"),
        c.getDuration("backoff.max"), c.getInt("max-batches-per-load"), c.getInt("snapshot-every"));
  }

  /** Exponential backoff with jitter for the {@code attempt}-th consecutive failure (1-based). */
  public Duration backoff(int attempt) {
    long base = backoffMin.toMillis() << Math.min(attempt - 1, 20);
    long capped = Math.min(base, backoffMax.toMillis());
    long jittered = capped / 2 + (long) (Math.random() * (capped / 2.0));
    return Duration.ofMillis(Math.max(jittered, backoffMin.toMillis()));
  }
}
