package weir.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.function.Predicate;

/**
 * The progress line of {@code admin sync} and {@code admin resync}: polls the connection's status
 * and rewrites one line in place until the work is done (exit status 0) or the status shows an
 * error (a {@link CommandFailure}: the load is retrying, the command stops waiting).
 */
final class LoadProgress {
  private static final Duration POLL_INTERVAL = Duration.ofMillis(500);

  private final AdminApi api;
  private final String connectionId;
  private final PrintWriter out;

  LoadProgress(AdminApi api, String connectionId, PrintWriter out) {
    this.api = api;
    this.connectionId = connectionId;
    this.out = out;
  }

  /**
   * Until nothing is pending and a sync has finished since {@code before} (or nothing was pending
   * then).
   */
  int awaitSync(JsonNode before) throws CommandFailure {
    String lastSyncBefore = before.get("last_sync_at").asText("");
    boolean nothingBefore = before.get("staged_batches_pending").asLong() == 0;
    return await(
        "sync",
        before,
        s ->
            s.get("staged_batches_pending").asLong() == 0
                && (nothingBefore || !s.get("last_sync_at").asText("").equals(lastSyncBefore)));
  }

  /** Until no resync of the connection is pending. */
  int awaitResyncs(JsonNode before) throws CommandFailure {
    return await("resync", before, s -> s.path("resyncs_pending").asInt() == 0);
  }

  private int await(String what, JsonNode before, Predicate<JsonNode> done) throws CommandFailure {
    long started = System.currentTimeMillis();
    long rowsBefore = before.get("loaded_rows_total").asLong();
    while (true) {
      try {
        Thread.sleep(POLL_INTERVAL.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        out.println();
        throw CommandFailure.failed(what + " interrupted while waiting; it goes on in the node.");
      }
      JsonNode s = api.get(AdminApi.connectionPath(connectionId, "/status"));
      out.printf(
          "\r%s: %d batches pending, %d resyncs running, %d new rows loaded, %.1f s   ",
          what,
          s.get("staged_batches_pending").asLong(),
          s.path("resyncs_pending").asInt(),
          s.get("loaded_rows_total").asLong() - rowsBefore,
          (System.currentTimeMillis() - started) / 1000.0);
      out.flush();
      if (!s.get("last_error").isNull()) {
        out.println();
        throw CommandFailure.failed(what + " is retrying: " + s.get("last_error").asText());
      }
      if (done.test(s)) {
        out.println();
        out.println(what + " done.");
        return 0;
      }
    }
  }
}
