package weir.node.connector;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import weir.node.TestNodes;
import weir.node.WeirNode;
import weir.persistence.connectors.ConnectorJars;
import weir.protocol.Json;

/**
 * {@code /v1/admin/connectors} on a running node: a jar is stored content-addressed in the journal
 * database with the connector classes found in it (found without running their code), listed, found
 * again on a second upload of the same bytes, and bad bodies get precise errors.
 */
class ConnectorUploadTest {
  private static final String TOKEN = "connector-upload-token";
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @TempDir static Path dir;
  static WeirNode node;

  @BeforeAll
  static void start() throws Exception {
    System.setProperty("weir.test.echo.forbidden", "true");
    node = TestNodes.inProcess(dir.resolve("node"), Map.of("weir.admin.token", TOKEN));
  }

  @AfterAll
  static void stop() throws Exception {
    System.clearProperty("weir.test.echo.forbidden");
    node.stop(Duration.ofSeconds(30));
  }

  private static HttpResponse<String> call(String method, String type, byte[] body)
      throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + node.adminPort() + "/v1/admin/connectors"))
            .header("Authorization", "Bearer " + TOKEN)
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofByteArray(body));
    if (type != null) b.header("Content-Type", type);
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** A jar holding the given classes of the test classpath. */
  private static byte[] jar(Class<?>... classes) throws Exception {
    return jar("not a class", classes);
  }

  /** A jar holding the given classes and a README of {@code note} (other bytes, other id). */
  private static byte[] jar(String note, Class<?>... classes) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (JarOutputStream jar = new JarOutputStream(out)) {
      for (Class<?> c : classes) {
        String name = c.getName().replace('.', '/') + ".class";
        jar.putNextEntry(new JarEntry(name));
        try (InputStream in = c.getClassLoader().getResourceAsStream(name)) {
          in.transferTo(jar);
        }
        jar.closeEntry();
      }
      jar.putNextEntry(new JarEntry("README.txt"));
      jar.write(note.getBytes(StandardCharsets.UTF_8));
      jar.closeEntry();
    }
    return out.toByteArray();
  }

  @Test
  void aJarIsStoredContentAddressedWithItsConnectorClassesAndListed() throws Exception {
    byte[] bytes = jar(weir.node.connector.fixture.EchoConnector.class);
    HttpResponse<String> created = call("POST", "application/java-archive", bytes);
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    JsonNode body = Json.MAPPER.readTree(created.body());
    assertThat(body.get("id").asText()).isEqualTo(ConnectorJars.idOf(bytes));
    assertThat(body.get("classes"))
        .extracting(JsonNode::asText)
        .containsExactly("weir.node.connector.fixture.EchoConnector");
    assertThat(body.get("size_bytes").asLong()).isEqualTo(bytes.length);

    HttpResponse<String> again = call("POST", "application/java-archive", bytes);
    assertThat(again.statusCode()).isEqualTo(200);
    assertThat(Json.MAPPER.readTree(again.body()).get("id").asText())
        .isEqualTo(body.get("id").asText());

    JsonNode list = Json.MAPPER.readTree(call("GET", null, null).body());
    assertThat(list.get("connectors"))
        .extracting(j -> j.get("id").asText())
        .containsOnlyOnce(body.get("id").asText());
  }

  @Test
  void badBodiesGetPreciseErrors() throws Exception {
    HttpResponse<String> r =
        call("POST", "application/json", "{}".getBytes(StandardCharsets.UTF_8));
    assertThat(r.statusCode()).isEqualTo(415);
    assertThat(r.body()).contains("application/java-archive");
    r = call("POST", "application/java-archive", "not a jar".getBytes(StandardCharsets.UTF_8));
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(r.body()).contains("invalid_jar");
    r = call("POST", "application/java-archive", jar(ConnectorUploadTest.class));
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(r.body()).contains("no_connector_class");
  }

  @Test
  void theCliUploadsAndListsJars() throws Exception {
    byte[] bytes = jar("the CLI's jar", weir.node.connector.fixture.EchoConnector.class);
    Path file = dir.resolve("echo.jar");
    java.nio.file.Files.write(file, bytes);
    Map<String, String> env =
        Map.of("WEIR_ADMIN_URL", "http://127.0.0.1:" + node.adminPort(), "WEIR_ADMIN_TOKEN", TOKEN);
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
    int status =
        weir.node.cli.WeirNodeCommand.execute(
            new String[] {"admin", "connectors", "upload", file.toString()},
            env,
            () -> dir,
            new java.io.PrintStream(out, true),
            new java.io.PrintStream(err, true));
    assertThat(status).as(err.toString()).isZero();
    assertThat(out.toString())
        .contains(ConnectorJars.idOf(bytes))
        .contains("weir.node.connector.fixture.EchoConnector");
    out.reset();
    status =
        weir.node.cli.WeirNodeCommand.execute(
            new String[] {"admin", "connectors"},
            env,
            () -> dir,
            new java.io.PrintStream(out, true),
            new java.io.PrintStream(err, true));
    assertThat(status).isZero();
    assertThat(out.toString()).contains(ConnectorJars.idOf(bytes).substring(0, 20));
  }
}
