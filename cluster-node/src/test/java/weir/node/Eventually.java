package weir.node;

import java.time.Duration;

/** Polls an assertion until it holds or a deadline passes (no fixed sleeps in tests). */
public final class Eventually {
  private Eventually() {}

  /** An assertion that may also fail by throwing (an HTTP call, a JDBC query). */
  @FunctionalInterface
  public interface Check {
    void run() throws Exception;
  }

  /** Retries {@code assertion} every 10 ms for up to 5 s; the last failure is thrown. */
  public static void eventually(Runnable assertion) {
    eventually(Duration.ofSeconds(5), assertion::run);
  }

  /**
   * Retries {@code check} until it passes or {@code timeout} has passed (every 10 ms at first,
   * backing off to 250 ms); the last failure is thrown, an exception wrapped in an AssertionError.
   */
  public static void eventually(Duration timeout, Check check) {
    long deadline = System.nanoTime() + timeout.toNanos();
    long pause = 10;
    while (true) {
      try {
        check.run();
        return;
      } catch (AssertionError | Exception e) {
        if (System.nanoTime() > deadline) {
          if (e instanceof AssertionError a) throw a;
          throw new AssertionError("still failing after " + timeout + ": " + e, e);
        }
        try {
          Thread.sleep(pause);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw new AssertionError("interrupted while waiting", e);
        }
        pause = Math.min(250, pause * 2);
      }
    }
  }
}
