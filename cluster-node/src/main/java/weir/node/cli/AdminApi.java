package weir.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.channels.UnresolvedAddressException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.function.Supplier;
import weir.protocol.Json;

/**
 * The node's management API as the {@code admin} verbs call it: JSON in and out, the bearer token
 * on every request, and every failure as a {@link CommandFailure} whose message names the HTTP
 * status and error code, or says the node cannot be reached. The token never appears in a message.
 */
final class AdminApi {
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(30);

  private final String baseUrl;
  private final String token;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(CONNECT_TIMEOUT).build();

  private AdminApi(String baseUrl, String token) {
    this.baseUrl = baseUrl;
    this.token = token;
  }

  /**
   * The API at {@code WEIR_ADMIN_URL} (default {@code http://127.0.0.1:<WEIR_ADMIN_PORT or 8081>})
   * with the token from {@code WEIR_ADMIN_TOKEN}, else from {@code admin-token} in {@code
   * WEIR_DATA_DIR} or the configured data directory.
   */
  static AdminApi fromEnvironment(Map<String, String> env, Supplier<Path> defaultDataDir)
      throws CommandFailure {
    String url =
        env.getOrDefault(
                "WEIR_ADMIN_URL", "http://127.0.0.1:" + env.getOrDefault("WEIR_ADMIN_PORT", "8081"))
            .replaceAll("/+$", "");
    try {
      URI uri = URI.create(url);
      if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))
          || uri.getHost() == null) {
        throw new IllegalArgumentException("not an http(s) URL");
      }
    } catch (IllegalArgumentException e) {
      throw CommandFailure.misconfigured(
          "WEIR_ADMIN_URL '" + url + "' is not an http(s) URL like " + "http://127.0.0.1:8081.");
    }
    String token = env.get("WEIR_ADMIN_TOKEN");
    if (token == null || token.isBlank()) {
      String dataDir = env.get("WEIR_DATA_DIR");
      Path file =
          (dataDir == null ? defaultDataDir.get() : Path.of(dataDir)).resolve("admin-token");
      try {
        token = Files.readString(file).strip();
      } catch (IOException e) {
        throw CommandFailure.misconfigured(
            "No admin token: set WEIR_ADMIN_TOKEN, or WEIR_DATA_DIR to the node's "
                + "data directory ("
                + file
                + " is not readable).");
      }
    }
    return new AdminApi(url, token);
  }

  /**
   * The path of one connection's resource, its id encoded (an id is never taken for more path or a
   * query).
   */
  static String connectionPath(String connectionId, String resource) {
    return "/v1/admin/connections/"
        + URLEncoder.encode(connectionId, StandardCharsets.UTF_8).replace("+", "%20")
        + resource;
  }

  JsonNode get(String path) throws CommandFailure {
    return call("GET", path, null);
  }

  /** {@code POST}, with {@code body} as JSON or no body when it is null. */
  JsonNode post(String path, JsonNode body) throws CommandFailure {
    return call("POST", path, body);
  }

  JsonNode delete(String path) throws CommandFailure {
    return call("DELETE", path, null);
  }

  /** {@code POST} of raw bytes of {@code contentType} (a jar). */
  JsonNode postBytes(String path, String contentType, byte[] body) throws CommandFailure {
    return send(
        HttpRequest.newBuilder(URI.create(baseUrl + path))
            .timeout(REQUEST_TIMEOUT)
            .header("Authorization", "Bearer " + token)
            .header("Content-Type", contentType)
            .POST(BodyPublishers.ofByteArray(body))
            .build());
  }

  private JsonNode call(String method, String path, JsonNode body) throws CommandFailure {
    return send(
        HttpRequest.newBuilder(URI.create(baseUrl + path))
            .timeout(REQUEST_TIMEOUT)
            .header("Authorization", "Bearer " + token)
            .header("Content-Type", "application/json")
            .method(
                method,
                body == null ? BodyPublishers.noBody() : BodyPublishers.ofString(Json.write(body)))
            .build());
  }

  private JsonNode send(HttpRequest request) throws CommandFailure {
    HttpResponse<String> response;
    try {
      response = http.send(request, BodyHandlers.ofString());
    } catch (IOException e) {
      throw CommandFailure.failed("Cannot reach the admin API at " + baseUrl + ": " + reason(e));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw CommandFailure.failed("Interrupted while calling the admin API at " + baseUrl + ".");
    }
    JsonNode json;
    try {
      json =
          response.body().isBlank()
              ? Json.MAPPER.createObjectNode()
              : Json.MAPPER.readTree(response.body());
    } catch (IOException e) {
      throw CommandFailure.failed(
          "The admin API at "
              + baseUrl
              + " answered "
              + response.statusCode()
              + " with a body that is not JSON; is WEIR_ADMIN_URL the node's admin port?");
    }
    if (response.statusCode() >= 300) {
      throw CommandFailure.failed(
          "Error "
              + response.statusCode()
              + " "
              + json.at("/error/code").asText("error")
              + ": "
              + json.at("/error/message").asText(response.body()));
    }
    return json;
  }

  /** The JDK's HTTP client often throws without a message: name what went wrong from the cause. */
  private static String reason(IOException e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof UnresolvedAddressException) return "unknown host";
      if (t.getMessage() != null) return t.getMessage();
    }
    return e instanceof ConnectException ? "connection refused" : e.getClass().getSimpleName();
  }
}
