package weir.node;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Retry delays: exponential from {@code min}, capped at {@code max}, with jitter (half fixed, half
 * random), never below {@code min}. Retries go on at the cap for as long as the failure lasts.
 */
public record Backoff(Duration min, Duration max) {

  /** From a config object with {@code min} and {@code max} durations. */
  public static Backoff fromConfig(Config c) {
    return new Backoff(c.getDuration("min"), c.getDuration("max"));
  }

  /** The delay before retry number {@code attempt} (1-based) of consecutive failures. */
  public Duration delay(int attempt) {
    long base = min.toMillis() << Math.min(Math.max(attempt, 1) - 1, 20);
    long capped = Math.min(base, max.toMillis());
    long jittered = capped / 2 + (long) (ThreadLocalRandom.current().nextDouble() * (capped / 2.0));
    return Duration.ofMillis(Math.max(jittered, min.toMillis()));
  }
}
