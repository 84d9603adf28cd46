package weir.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import weir.protocol.Json;

/**
 * A running node's HTTP API as tests use it: admin calls that must succeed, and ingestion posts.
 */
public final class NodeApi {
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private final WeirNode node;
  private final String token;

  public NodeApi(WeirNode node, String token) {
    this.node = node;
    this.token = token;
  }

  /** An admin call that must answer 2xx; its JSON body (null when empty). */
  public JsonNode admin(String method, String path, String body) throws Exception {
    HttpResponse<String> r = call(method, path, body);
    assertThat(r.statusCode()).as(r.body()).isLessThan(300);
    return r.body().isEmpty() ? null : Json.MAPPER.readTree(r.body());
  }

  /** An admin call, whatever it answers. */
  public HttpResponse<String> call(String method, String path, String body) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.adminPort() + path))
            .header("Authorization", "Bearer " + token)
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** Creates a DuckDB destination named {@code wh} on {@code warehouse}; its id. */
  public String duckdbDestination(java.nio.file.Path warehouse) throws Exception {
    return admin(
            "POST",
            "/v1/admin/destinations",
            "{\"name\":\"wh\",\"type\":\"duckdb\",\"config\":{\"path\":\"" + warehouse + "\"}}")
        .get("id")
        .asText();
  }

  /** The node's {@code /metrics} text. */
  public String metrics() throws Exception {
    return call("GET", "/metrics", null).body();
  }

  /**
   * POSTs JSON to an ingestion URL (with HTTP Basic auth when {@code basicUser} is set); the
   * status.
   */
  public static int post(String url, String body, String basicUser) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(url))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body));
    if (basicUser != null) {
      b.header(
          "Authorization",
          "Basic "
              + Base64.getEncoder()
                  .encodeToString((basicUser + ":").getBytes(StandardCharsets.UTF_8)));
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString()).statusCode();
  }
}
