package weir.loaders.warehouse.contract;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;
import weir.protocol.Json;

/**
 * A local HTTP server standing in for the BigQuery REST API (v2) as far as the loader uses it:
 * datasets and tables (kept in memory), query and load jobs (done at once), resumable uploads and
 * streaming inserts. It records each call as a readable line (method, path, and what the request
 * asks for) for the contract test. Queries answer no rows.
 */
public final class BigQueryStandIn implements AutoCloseable {
  public final List<String> calls = new ArrayList<>();
  private final HttpServer server;
  private final Set<String> datasets = new HashSet<>();
  private final Map<String, ObjectNode> tables = new HashMap<>();
  private final AtomicInteger ids = new AtomicInteger();
  private static final Pattern TABLE =
      Pattern.compile("/bigquery/v2/projects/([^/]+)/datasets/([^/]+)/tables/([^/?]+)");

  public BigQueryStandIn() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", this::handle);
    server.start();
  }

  public String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  @Override
  public void close() {
    server.stop(0);
  }

  private synchronized void handle(HttpExchange x) throws IOException {
    String method = x.getRequestMethod();
    String path = x.getRequestURI().getPath();
    String query = x.getRequestURI().getQuery() == null ? "" : x.getRequestURI().getQuery();
    byte[] raw;
    try (InputStream in =
        "gzip".equals(x.getRequestHeaders().getFirst("Content-Encoding"))
            ? new GZIPInputStream(x.getRequestBody())
            : x.getRequestBody()) {
      raw = in.readAllBytes();
    }
    // Upload sessions carry NDJSON (several values), everything else one JSON value.
    JsonNode body =
        !path.startsWith("/upload/session/") && raw.length > 0 && (raw[0] == '{' || raw[0] == '[')
            ? Json.MAPPER.readTree(raw)
            : null;
    try {
      route(x, method, path, query, body, raw);
    } catch (RuntimeException e) {
      calls.add("!! " + method + " " + path + " failed in the stand-in: " + e);
      e.printStackTrace();
      send(x, 500, "{\"error\":{\"code\":500,\"message\":\"stand-in\"}}");
    }
  }

  private void route(
      HttpExchange x, String method, String path, String query, JsonNode body, byte[] raw)
      throws IOException {
    Matcher t = TABLE.matcher(path);
    if (path.matches("/bigquery/v2/projects/[^/]+/datasets/[^/]+") && method.equals("GET")) {
      String ds = path.substring(path.lastIndexOf('/') + 1);
      calls.add("GET dataset " + ds);
      if (datasets.contains(ds))
        send(x, 200, "{\"datasetReference\":{\"datasetId\":\"" + ds + "\"}}");
      else notFound(x);
    } else if (path.matches("/bigquery/v2/projects/[^/]+/datasets") && method.equals("POST")) {
      String ds = body.at("/datasetReference/datasetId").asText();
      datasets.add(ds);
      calls.add("POST dataset " + ds);
      send(x, 200, Json.write(body));
    } else if (path.matches("/bigquery/v2/projects/[^/]+/datasets/[^/]+/tables")
        && method.equals("POST")) {
      String name =
          body.at("/tableReference/datasetId").asText()
              + "."
              + body.at("/tableReference/tableId").asText();
      calls.add(
          "POST table "
              + (name.contains("_weir_stage_") || name.contains("_weir_trial_")
                  ? name.replaceAll("_[0-9a-f]{12}$", "_<id>")
                  : name)
              + " "
              + describeTable(body));
      ((ObjectNode) body).put("type", "TABLE");
      tables.put(name, (ObjectNode) body);
      send(x, 200, Json.write(body));
    } else if (path.matches("/bigquery/v2/projects/[^/]+/datasets/[^/]+/tables/[^/]+/insertAll")) {
      String[] parts = path.split("/");
      calls.add(
          "POST insertAll "
              + parts[6]
              + "."
              + parts[8]
              + " rows="
              + body.get("rows").size()
              + " insertIds="
              + insertIds(body.get("rows"))
              + " first context="
              + body.at("/rows/0/json/context"));
      send(x, 200, "{\"kind\":\"bigquery#tableDataInsertAllResponse\"}");
    } else if (t.matches()) {
      String name = t.group(2) + "." + t.group(3);
      String shown = name.replaceAll("_[0-9a-f]{12}$", "_<id>");
      switch (method) {
        case "GET" -> {
          calls.add("GET table " + shown);
          if (tables.containsKey(name)) send(x, 200, Json.write(tables.get(name)));
          else notFound(x);
        }
        case "PUT", "PATCH", "POST" -> {
          calls.add("UPDATE table " + shown + " " + describeTable(body));
          ((ObjectNode) body).put("type", "TABLE");
          tables.put(name, (ObjectNode) body);
          send(x, 200, Json.write(body));
        }
        case "DELETE" -> {
          calls.add("DELETE table " + shown);
          tables.remove(name);
          x.sendResponseHeaders(204, -1);
          x.close();
        }
        default -> notFound(x);
      }
    } else if (path.matches("/bigquery/v2/projects/[^/]+/queries") && method.equals("POST")) {
      calls.add(
          "QUERY " + body.get("query").asText().strip() + params(body.get("queryParameters")));
      send(
          x,
          200,
          "{\"kind\":\"bigquery#queryResponse\",\"jobComplete\":true,\"totalRows\":\"0\",\"rows\":[],"
              + "\"schema\":{\"fields\":[{\"name\":\"batch_id\",\"type\":\"STRING\"}]},\"jobReference\":{\"projectId\":"
              + "\"weir-project\",\"jobId\":\"q"
              + ids.incrementAndGet()
              + "\",\"location\":\"US\"}}");
    } else if (path.matches("/bigquery/v2/projects/[^/]+/queries/[^/]+") && method.equals("GET")) {
      send(
          x,
          200,
          "{\"kind\":\"bigquery#getQueryResultsResponse\",\"jobComplete\":true,\"totalRows\":\"0\","
              + "\"rows\":[],\"schema\":{\"fields\":[]},\"jobReference\":{\"projectId\":\"weir-project\",\"jobId\":\""
              + path.substring(path.lastIndexOf('/') + 1)
              + "\"}}");
    } else if (path.matches("/bigquery/v2/projects/[^/]+/jobs") && method.equals("POST")) {
      JsonNode config = body.get("configuration");
      if (config.has("query")) calls.add("QUERY JOB " + config.at("/query/query").asText().strip());
      else calls.add("LOAD JOB " + describeLoad(config.get("load")));
      send(x, 200, Json.write(done(body)));
    } else if (path.matches("/bigquery/v2/projects/[^/]+/jobs/[^/]+")
        && method.equals("GET")
        && failedJobs.containsKey(path.substring(path.lastIndexOf('/') + 1))) {
      send(x, 200, Json.write(failedJobs.get(path.substring(path.lastIndexOf('/') + 1))));
    } else if (path.matches("/bigquery/v2/projects/[^/]+/jobs/[^/]+") && method.equals("GET")) {
      ObjectNode job = Json.MAPPER.createObjectNode();
      job.putObject("jobReference")
          .put("projectId", "weir-project")
          .put("jobId", path.substring(path.lastIndexOf('/') + 1));
      job.putObject("status").put("state", "DONE");
      send(x, 200, Json.write(job));
    } else if (path.startsWith("/upload/bigquery/v2/projects/") && method.equals("POST")) {
      calls.add("UPLOAD START " + describeLoad(body.at("/configuration/load")));
      pendingUpload = body;
      x.getResponseHeaders().add("Location", url() + "/upload/session/" + ids.incrementAndGet());
      send(x, 200, "");
    } else if (path.startsWith("/upload/session/")) {
      String text = new String(raw, StandardCharsets.UTF_8);
      long lines = text.lines().filter(l -> !l.isBlank()).count();
      ObjectNode job = done(pendingUpload);
      boolean fails = failUploadsContaining != null && text.contains(failUploadsContaining);
      calls.add(
          "UPLOAD "
              + lines
              + " NDJSON rows"
              + (lines > 0 ? ", first event_id/user_id " + firstKey(text) : "")
              + (fails ? " -- FAILS (invalid)" : ""));
      if (fails) {
        ObjectNode error =
            Json.MAPPER
                .createObjectNode()
                .put("reason", "invalid")
                .put(
                    "message",
                    "Error while reading "
                        + "data, error message: JSON table encountered too many errors, giving up. Rows: 1; errors: 1.");
        job.with("status").set("errorResult", error);
        job.with("status").putArray("errors").add(error);
        failedJobs.put(job.at("/jobReference/jobId").asText(), job);
      }
      send(x, 200, Json.write(job));
    } else {
      calls.add("!! unexpected " + method + " " + path + "?" + query);
      notFound(x);
    }
  }

  private JsonNode pendingUpload;

  /**
   * Uploads whose rows contain this text fail as BigQuery fails a load job over bad data (null:
   * none).
   */
  volatile String failUploadsContaining;

  private final Map<String, ObjectNode> failedJobs = new ConcurrentHashMap<>();

  private ObjectNode done(JsonNode request) {
    ObjectNode job =
        request == null ? Json.MAPPER.createObjectNode() : ((ObjectNode) request).deepCopy();
    ObjectNode ref = job.with("jobReference");
    if (!ref.has("jobId")) ref.put("jobId", "j" + ids.incrementAndGet());
    ref.put("projectId", "weir-project");
    job.putObject("status").put("state", "DONE");
    return job;
  }

  private static String firstKey(String ndjson) throws IOException {
    JsonNode first = Json.MAPPER.readTree(ndjson.lines().findFirst().orElse("{}"));
    return first.has("event_id") ? first.get("event_id").asText() : first.path("user_id").asText();
  }

  private static String insertIds(JsonNode rows) {
    List<String> out = new ArrayList<>();
    rows.forEach(r -> out.add(r.path("insertId").asText()));
    return out.toString();
  }

  private static String params(JsonNode p) {
    if (p == null) return "";
    List<String> out = new ArrayList<>();
    p.forEach(
        q -> {
          List<String> values = new ArrayList<>();
          q.at("/parameterValue/arrayValues").forEach(v -> values.add(v.path("value").asText()));
          out.add("@" + q.path("name").asText() + "=" + values);
        });
    return " -- " + String.join(" ", out);
  }

  private static String describeTable(JsonNode t) {
    StringBuilder out = new StringBuilder("(");
    List<String> fields = new ArrayList<>();
    t.at("/schema/fields")
        .forEach(
            f ->
                fields.add(
                    f.get("name").asText()
                        + " "
                        + f.get("type").asText()
                        + (f.path("mode").asText().equals("REQUIRED") ? " REQUIRED" : "")
                        + (f.has("defaultValueExpression")
                            ? " DEFAULT " + f.get("defaultValueExpression").asText()
                            : "")));
    out.append(String.join(", ", fields)).append(")");
    if (t.has("timePartitioning")) {
      out.append(" PARTITION BY ")
          .append(t.at("/timePartitioning/type").asText())
          .append("(")
          .append(t.at("/timePartitioning/field").asText())
          .append(")");
    }
    if (t.has("clustering")) {
      List<String> c = new ArrayList<>();
      t.at("/clustering/fields").forEach(f -> c.add(f.asText()));
      out.append(" CLUSTER BY ").append(String.join(", ", c));
    }
    if (t.has("expirationTime")) out.append(" EXPIRES");
    return out.toString();
  }

  private static String describeLoad(JsonNode load) {
    List<String> uris = new ArrayList<>();
    if (load.has("sourceUris"))
      ((ArrayNode) load.get("sourceUris")).forEach(u -> uris.add(u.asText()));
    return "into "
        + load.at("/destinationTable/datasetId").asText()
        + "."
        + load.at("/destinationTable/tableId").asText().replaceAll("_[0-9a-f]{12}$", "_<id>")
        + " format="
        + load.path("sourceFormat").asText()
        + " write="
        + load.path("writeDisposition").asText()
        + " ignoreUnknown="
        + load.path("ignoreUnknownValues").asText()
        + (uris.isEmpty() ? "" : " from " + uris);
  }

  private static void notFound(HttpExchange x) throws IOException {
    send(
        x,
        404,
        "{\"error\":{\"code\":404,\"message\":\"Not found\",\"errors\":[{\"reason\":\"notFound\"}]}}");
  }

  private static void send(HttpExchange x, int status, String body) throws IOException {
    byte[] b = body.getBytes(StandardCharsets.UTF_8);
    x.getResponseHeaders().add("Content-Type", "application/json");
    x.sendResponseHeaders(status, b.length == 0 ? -1 : b.length);
    if (b.length > 0) x.getResponseBody().write(b);
    x.close();
  }
}
