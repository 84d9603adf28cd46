package weir.node.load;

import com.typesafe.config.Config;
import java.time.Duration;
import weir.node.Backoff;

/**
 * Settings of the load coordinators, from {@code weir.load}.
 *
 * @param tickInterval how often a coordinator checks whether a load is due
 * @param retry delays of failed loads; retries go on at the cap, never dropping a batch
 * @param maxBatchesPerLoad batches loaded in one transaction at most
 */
public record LoadSettings(Duration tickInterval, Backoff retry, int maxBatchesPerLoad) {

  public static LoadSettings fromConfig(Config weir) {
    Config c = weir.getConfig("load");
    return new LoadSettings(
        c.getDuration("tick-interval"),
        Backoff.fromConfig(c.getConfig("backoff")),
        c.getInt("max-batches-per-load"));
  }
}
