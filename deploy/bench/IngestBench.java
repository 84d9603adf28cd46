import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A closed-loop HTTP load generator for a Weir webhook URL, with no dependencies (run it with
 * {@code java IngestBench.java URL[,URL...] CLIENTS EVENTS_PER_REQUEST SECONDS}). Each client posts JSON
 * arrays of distinct events back to back (with several URLs, client i uses URL i mod n, like a load balancer
 * spreading connections over nodes); a request counts when answered 200. Prints requests/s, events/s and
 * latency percentiles. With the environment variable ACKED_FILE set, the {@code seq} of every event answered 200 is
 * written there, one per line (deploy/bench/kill-bench.sh checks each is loaded once).
 */
public class IngestBench {
  public static void main(String[] args) throws Exception {
    String[] urls = args[0].split(",");
    int clients = Integer.parseInt(args[1]);
    int perRequest = Integer.parseInt(args[2]);
    int seconds = Integer.parseInt(args[3]);
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    // Events must differ across runs too: identical bodies share a content-hash event_id and are deduplicated.
    String run = Long.toHexString(System.nanoTime());
    AtomicLong seq = new AtomicLong();
    AtomicLong ok = new AtomicLong();
    AtomicLong failed = new AtomicLong();
    ConcurrentHashMap<Integer, AtomicLong> statuses = new ConcurrentHashMap<>();
    long end = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
    ExecutorService pool = Executors.newFixedThreadPool(clients);
    List<Future<long[]>> results = new ArrayList<>();
    List<Long> acked = Collections.synchronizedList(new ArrayList<>());
    boolean keepAcked = System.getenv("ACKED_FILE") != null;
    long started = System.nanoTime();
    for (int c = 0; c < clients; c++) {
      String url = urls[c % urls.length];
      results.add(pool.submit(() -> {
        long[] latencies = new long[1 << 20];
        int n = 0;
        while (System.nanoTime() < end) {
          StringBuilder body = new StringBuilder(perRequest == 1 ? "" : "[");
          long[] seqs = new long[perRequest];
          for (int i = 0; i < perRequest; i++) {
            long s = seq.incrementAndGet();
            seqs[i] = s;
            if (i > 0) body.append(',');
            body.append("{\"run\":\"").append(run).append("\",\"seq\":").append(s).append(",\"event\":\"page_view\",\"path\":\"/p/").append(s % 500)
                .append("\",\"user\":{\"id\":\"u").append(s % 10_000).append("\",\"plan\":\"pro\"}}");
          }
          if (perRequest != 1) body.append(']');
          HttpRequest req = HttpRequest.newBuilder(URI.create(url)).header("Content-Type", "application/json")
              .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build();
          long t0 = System.nanoTime();
          try {
            HttpResponse<String> r = http.send(req, HttpResponse.BodyHandlers.ofString());
            statuses.computeIfAbsent(r.statusCode(), k -> new AtomicLong()).incrementAndGet();
            if (r.statusCode() == 200) {
              ok.incrementAndGet();
              if (keepAcked) for (long a : seqs) acked.add(a);
            } else {
              failed.incrementAndGet();
            }
          } catch (Exception e) {
            failed.incrementAndGet();
            try {
              Thread.sleep(20); // the node is down (kill-bench.sh): do not spin
            } catch (InterruptedException stop) {
              break;
            }
          }
          if (n < latencies.length) latencies[n++] = System.nanoTime() - t0;
        }
        return Arrays.copyOf(latencies, n);
      }));
    }
    List<Long> all = new ArrayList<>();
    for (Future<long[]> f : results) for (long l : f.get()) all.add(l);
    pool.shutdown();
    if (keepAcked) {
      StringBuilder out = new StringBuilder("seq\n");
      for (long a : acked) out.append(a).append('\n');
      Files.writeString(Path.of(System.getenv("ACKED_FILE")), out);
    }
    double elapsed = (System.nanoTime() - started) / 1e9;
    all.sort(null);
    System.out.printf("clients=%d events/request=%d duration=%.1fs: %d ok, %d failed; %.0f requests/s, %.0f events/s;"
            + " latency p50=%.1fms p99=%.1fms max=%.1fms; statuses=%s%n",
        clients, perRequest, elapsed, ok.get(), failed.get(), ok.get() / elapsed, ok.get() * perRequest / elapsed,
        pct(all, 0.50), pct(all, 0.99), all.isEmpty() ? 0 : all.get(all.size() - 1) / 1e6,
        new TreeMap<>(statuses));
  }

  private static double pct(List<Long> sorted, double p) {
    return sorted.isEmpty() ? 0 : sorted.get((int) Math.min(sorted.size() - 1, sorted.size() * p)) / 1e6;
  }
}
