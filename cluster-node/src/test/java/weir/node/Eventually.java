package weir.node;

/** Polls an assertion until it holds or a deadline passes (no fixed sleeps in tests). */
public final class Eventually {
  private Eventually() {}

  /** Retries {@code assertion} every 10 ms for up to 5 s; the last failure is thrown. */
  public static void eventually(Runnable assertion) {
    long deadline = System.currentTimeMillis() + 5_000;
    while (true) {
      try {
        assertion.run();
        return;
      } catch (AssertionError e) {
        if (System.currentTimeMillis() > deadline) throw e;
        try {
          Thread.sleep(10);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw e;
        }
      }
    }
  }
}
