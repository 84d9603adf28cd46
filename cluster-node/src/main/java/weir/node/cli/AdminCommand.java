package weir.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import weir.protocol.Json;

/**
 * {@code java -jar weir-node.jar admin <verb> ...}: the common management calls from a terminal, as
 * readable tables. The admin URL comes from {@code WEIR_ADMIN_URL} (default
 * {@code http://127.0.0.1:<WEIR_ADMIN_PORT or 8081>}), the token from {@code WEIR_ADMIN_TOKEN} or
 * {@code <WEIR_DATA_DIR>/admin-token}. {@code sync} and {@code resync} show a progress line until done.
 */
public final class AdminCommand {
  static final String USAGE = """
      Usage: java -jar weir-node.jar admin <verb> [arguments]
        destinations                                 list destinations
        destinations create NAME TYPE CONFIG_JSON    e.g. destinations create wh duckdb '{"path":"wh.duckdb"}'
        connections                                  list connections
        connections create NAME DESTINATION_ID [--kind webhook] [--batch-size N] [--batch-interval-seconds N]
                           [--sync-interval-minutes N] [--schema S] [--table T] [--signing-secret S] [--id-field F]
        connections delete CONNECTION_ID
        status CONNECTION_ID                         buffer and load figures
        sync CONNECTION_ID                           load staged batches now, with progress
        resync CONNECTION_ID [--tables a,b] [--from YYYY-MM-DD] [--to YYYY-MM-DD]
        dead-letters CONNECTION_ID [--limit N]       rejected events with their reasons
        rotate-write-key CONNECTION_ID
      Environment: WEIR_ADMIN_URL, WEIR_ADMIN_TOKEN (else WEIR_DATA_DIR/admin-token), WEIR_ADMIN_PORT.
      """;

  private final String baseUrl;
  private final String token;
  private final PrintStream out;
  private final PrintStream err;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final Duration pollInterval;

  AdminCommand(String baseUrl, String token, PrintStream out, PrintStream err, Duration pollInterval) {
    this.baseUrl = baseUrl;
    this.token = token;
    this.out = out;
    this.err = err;
    this.pollInterval = pollInterval;
  }

  /** Runs {@code args} (after "admin") with settings from {@code env}; returns the exit status. */
  public static int run(List<String> args, Map<String, String> env, Path defaultDataDir, PrintStream out,
      PrintStream err) {
    String url = env.getOrDefault("WEIR_ADMIN_URL",
        "http://127.0.0.1:" + env.getOrDefault("WEIR_ADMIN_PORT", "8081"));
    String token = env.get("WEIR_ADMIN_TOKEN");
    if (token == null || token.isBlank()) {
      Path file = Path.of(env.getOrDefault("WEIR_DATA_DIR", defaultDataDir.toString())).resolve("admin-token");
      try {
        token = Files.readString(file).strip();
      } catch (IOException e) {
        err.println("No admin token: set WEIR_ADMIN_TOKEN, or WEIR_DATA_DIR to the node's data directory ("
            + file + " is not readable).");
        return 2;
      }
    }
    return new AdminCommand(url.replaceAll("/+$", ""), token, out, err, Duration.ofMillis(500)).run(args);
  }

  int run(List<String> args) {
    if (args.isEmpty()) {
      err.print(USAGE);
      return 2;
    }
    try {
      Map<String, String> opts = new LinkedHashMap<>();
      List<String> pos = new ArrayList<>();
      for (int i = 0; i < args.size(); i++) {
        String a = args.get(i);
        if (a.startsWith("--") && i + 1 < args.size()) opts.put(a.substring(2), args.get(++i));
        else pos.add(a);
      }
      String verb = pos.get(0);
      return switch (verb) {
        case "destinations" -> pos.size() >= 2 && pos.get(1).equals("create")
            ? createDestination(arg(pos, 2, "NAME"), arg(pos, 3, "TYPE"), arg(pos, 4, "CONFIG_JSON"))
            : listDestinations();
        case "connections" -> pos.size() >= 2 && pos.get(1).equals("create")
            ? createConnection(arg(pos, 2, "NAME"), arg(pos, 3, "DESTINATION_ID"), opts)
            : pos.size() >= 2 && pos.get(1).equals("delete") ? deleteConnection(arg(pos, 2, "CONNECTION_ID"))
            : listConnections();
        case "status" -> status(arg(pos, 1, "CONNECTION_ID"));
        case "sync" -> sync(arg(pos, 1, "CONNECTION_ID"));
        case "resync" -> resync(arg(pos, 1, "CONNECTION_ID"), opts);
        case "dead-letters" -> deadLetters(arg(pos, 1, "CONNECTION_ID"), opts.getOrDefault("limit", "20"));
        case "rotate-write-key" -> rotate(arg(pos, 1, "CONNECTION_ID"));
        default -> {
          err.print(USAGE);
          yield 2;
        }
      };
    } catch (UsageException e) {
      err.println(e.getMessage());
      err.print(USAGE);
      return 2;
    } catch (ApiException e) {
      err.println("Error " + e.status + " " + e.code + ": " + e.getMessage());
      return 1;
    } catch (IOException e) {
      err.println("Cannot reach the admin API at " + baseUrl + ": " + e.getMessage());
      return 1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 1;
    }
  }

  private int listDestinations() throws IOException, InterruptedException, ApiException {
    TextTable t = new TextTable("id", "name", "type", "staging", "created_at");
    for (JsonNode d : call("GET", "/v1/admin/destinations", null).get("destinations")) {
      t.row(d.get("id").asText(), d.get("name").asText(), d.get("type").asText(),
          d.at("/config/staging/type").asText("-"), d.get("created_at").asText());
    }
    t.print(out);
    return 0;
  }

  private int createDestination(String name, String type, String configJson)
      throws IOException, InterruptedException, ApiException, UsageException {
    ObjectNode body = Json.MAPPER.createObjectNode().put("name", name).put("type", type);
    try {
      body.set("config", Json.MAPPER.readTree(configJson));
    } catch (IOException e) {
      throw new UsageException("CONFIG_JSON is not valid JSON.");
    }
    JsonNode d = call("POST", "/v1/admin/destinations", body);
    out.println("Created destination " + d.get("id").asText() + " (" + type + ")");
    return 0;
  }

  private int listConnections() throws IOException, InterruptedException, ApiException {
    TextTable t = new TextTable("id", "name", "kind", "destination", "schema.table", "batch", "sync_min", "url");
    for (JsonNode c : call("GET", "/v1/admin/connections", null).get("connections")) {
      t.row(c.get("id").asText(), c.get("name").asText(), c.get("kind").asText(), c.get("destination_id").asText(),
          c.get("schema").asText() + (c.get("table").isNull() ? "" : "." + c.get("table").asText()),
          c.get("batch_size").asText() + "/" + c.get("batch_interval_seconds").asText() + "s",
          c.get("sync_interval_minutes").asText(), c.at("/urls/webhook").asText(""));
    }
    t.print(out);
    return 0;
  }

  private int createConnection(String name, String destination, Map<String, String> opts)
      throws IOException, InterruptedException, ApiException {
    ObjectNode body = Json.MAPPER.createObjectNode().put("name", name).put("destination_id", destination)
        .put("kind", opts.getOrDefault("kind", "webhook"));
    for (Map.Entry<String, String> e : opts.entrySet()) {
      String field = e.getKey().replace('-', '_');
      if (field.equals("kind")) continue;
      if (e.getValue().matches("-?\\d+(\\.\\d+)?")) body.set(field, Json.MAPPER.readTree(e.getValue()));
      else body.put(field, e.getValue());
    }
    JsonNode c = call("POST", "/v1/admin/connections", body);
    out.println("Created connection " + c.get("id").asText() + " (" + c.get("kind").asText() + ") loading into "
        + c.get("schema").asText() + (c.get("table").isNull() ? "" : "." + c.get("table").asText()));
    out.println("write key: " + c.get("write_key").asText());
    c.get("urls").fields().forEachRemaining(u -> out.println(u.getKey() + " url: " + u.getValue().asText()));
    return 0;
  }

  private int deleteConnection(String id) throws IOException, InterruptedException, ApiException {
    call("DELETE", "/v1/admin/connections/" + id, null);
    out.println("Deleted connection " + id + " (what it accepted is still loaded)");
    return 0;
  }

  private int status(String id) throws IOException, InterruptedException, ApiException {
    JsonNode s = call("GET", "/v1/admin/connections/" + id + "/status", null);
    TextTable t = new TextTable("figure", "value");
    s.fields().forEachRemaining(e -> t.row(e.getKey(), e.getValue().isNull() ? "-" : e.getValue().asText()));
    t.print(out);
    return 0;
  }

  private int sync(String id) throws IOException, InterruptedException, ApiException {
    JsonNode before = call("GET", "/v1/admin/connections/" + id + "/status", null);
    call("POST", "/v1/admin/connections/" + id + "/sync", null);
    return awaitDone(id, before, "sync");
  }

  private int resync(String id, Map<String, String> opts) throws IOException, InterruptedException, ApiException {
    ObjectNode body = Json.MAPPER.createObjectNode();
    if (opts.containsKey("tables")) {
      var tables = body.putArray("tables");
      for (String t : opts.get("tables").split(",")) tables.add(t.strip());
    }
    if (opts.containsKey("from")) body.put("from", opts.get("from"));
    if (opts.containsKey("to")) body.put("to", opts.get("to"));
    JsonNode before = call("GET", "/v1/admin/connections/" + id + "/status", null);
    call("POST", "/v1/admin/connections/" + id + "/resync", body);
    return awaitDone(id, before, "resync");
  }

  /** Shows one progress line, rewritten in place, until nothing is pending or an error shows up. */
  private int awaitDone(String id, JsonNode before, String what) throws IOException, InterruptedException,
      ApiException {
    long started = System.currentTimeMillis();
    long rowsBefore = before.get("loaded_rows_total").asLong();
    String lastSyncBefore = before.get("last_sync_at").asText("");
    while (true) {
      Thread.sleep(pollInterval.toMillis());
      JsonNode s = call("GET", "/v1/admin/connections/" + id + "/status", null);
      long pending = s.get("staged_batches_pending").asLong();
      int resyncs = s.path("resyncs_pending").asInt();
      out.printf("\r%s: %d batches pending, %d resyncs running, %d new rows loaded, %.1f s   ", what, pending,
          resyncs, s.get("loaded_rows_total").asLong() - rowsBefore, (System.currentTimeMillis() - started) / 1000.0);
      out.flush();
      if (!s.get("last_error").isNull()) {
        out.println();
        err.println(what + " is retrying: " + s.get("last_error").asText());
        return 1;
      }
      boolean synced = what.equals("sync") ? pending == 0 && (!s.get("last_sync_at").asText("").equals(lastSyncBefore)
          || before.get("staged_batches_pending").asLong() == 0) : resyncs == 0;
      if (synced) {
        out.println();
        out.println(what + " done.");
        return 0;
      }
    }
  }

  private int deadLetters(String id, String limit) throws IOException, InterruptedException, ApiException {
    JsonNode d = call("GET", "/v1/admin/connections/" + id + "/dead-letters?limit=" + limit, null);
    TextTable t = new TextTable("received_at", "code", "message", "payload");
    for (JsonNode x : d.get("dead_letters")) {
      t.row(x.get("received_at").asText(), x.get("code").asText(), x.get("message").asText(), x.get("payload").asText());
    }
    t.print(out);
    out.println(d.get("dead_letters_total").asText() + " dead letters in total");
    return 0;
  }

  private int rotate(String id) throws IOException, InterruptedException, ApiException {
    JsonNode c = call("POST", "/v1/admin/connections/" + id + "/rotate-write-key", null);
    out.println("New write key: " + c.get("write_key").asText() + " (the old one no longer works)");
    return 0;
  }

  private JsonNode call(String method, String path, JsonNode body) throws IOException, InterruptedException,
      ApiException {
    HttpRequest request = HttpRequest.newBuilder(URI.create(baseUrl + path)).timeout(Duration.ofSeconds(30))
        .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(Json.write(body))).build();
    HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
    JsonNode json = r.body().isBlank() ? Json.MAPPER.createObjectNode() : Json.MAPPER.readTree(r.body());
    if (r.statusCode() >= 300) {
      throw new ApiException(r.statusCode(), json.at("/error/code").asText("error"),
          json.at("/error/message").asText(r.body()));
    }
    return json;
  }

  private static String arg(List<String> pos, int i, String name) throws UsageException {
    if (pos.size() <= i) throw new UsageException("Missing " + name + ".");
    return pos.get(i);
  }

  private static final class UsageException extends Exception {
    private static final long serialVersionUID = 1L;

    UsageException(String message) {
      super(message);
    }
  }

  private static final class ApiException extends Exception {
    private static final long serialVersionUID = 1L;
    final int status;
    final String code;

    ApiException(int status, String code, String message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }
}
