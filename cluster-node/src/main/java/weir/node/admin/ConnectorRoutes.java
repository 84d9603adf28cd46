package weir.node.admin;

import akka.http.javadsl.model.ContentType;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.server.Route;
import akka.http.javadsl.unmarshalling.Unmarshaller;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import weir.node.connector.ConnectorJarScanner;
import weir.node.http.ApiErrors;
import weir.persistence.connectors.ConnectorJars;
import weir.protocol.Json;

/**
 * {@code /v1/admin/connectors} (API.md, Connectors): {@code POST} a jar ({@code
 * application/java-archive}) stores it content-addressed in the journal database, so every node can
 * load it, and answers its id (the SHA-256) and the connector classes found in it; {@code GET}
 * lists the stored jars. Scanning and storing run on the blocking executor.
 */
final class ConnectorRoutes extends AdminSupport {
  /** The largest jar taken. */
  static final long MAX_JAR_BYTES = 64L * 1024 * 1024;

  private static final Set<String> JAR_TYPES =
      Set.of("application/java-archive", "application/x-java-archive");

  private final ConnectorJars jars;
  private final Executor blocking;
  private final Path scratch;

  ConnectorRoutes(ConnectorJars jars, Executor blocking, Path scratch) {
    this.jars = jars;
    this.blocking = blocking;
    this.scratch = scratch;
  }

  Route route() {
    return pathPrefix(
        "connectors",
        () ->
            pathEndOrSingleSlash(
                () ->
                    concat(
                        get(() -> respond(list())),
                        post(
                            () ->
                                extractRequestEntity(
                                    entity -> {
                                      ContentType type = entity.getContentType();
                                      if (!JAR_TYPES.contains(type.mediaType().toString()))
                                        return complete(
                                            ApiErrors.response(
                                                StatusCodes.UNSUPPORTED_MEDIA_TYPE,
                                                "unsupported_media_type",
                                                "Upload the jar as Content-Type:"
                                                    + " application/java-archive."));
                                      return withSizeLimit(
                                          MAX_JAR_BYTES,
                                          () ->
                                              entity(
                                                  Unmarshaller.entityToByteArray(),
                                                  bytes -> respond(upload(bytes))));
                                    })))));
  }

  private CompletionStage<HttpResponse> upload(byte[] bytes) {
    return CompletableFuture.supplyAsync(
        () -> {
          try {
            List<String> classes = ConnectorJarScanner.classes(bytes, scratch);
            ConnectorJars.Stored stored = jars.put(bytes, classes);
            return ApiErrors.json(
                stored.created() ? StatusCodes.CREATED : StatusCodes.OK, view(stored.jar()));
          } catch (ConnectorJarScanner.InvalidJar e) {
            throw new CompletionException(new BadRequest(e.code(), e.getMessage()));
          } catch (Exception e) {
            throw new CompletionException(e);
          }
        },
        blocking);
  }

  private CompletionStage<HttpResponse> list() {
    return CompletableFuture.supplyAsync(
        () -> {
          try {
            ObjectNode out = Json.MAPPER.createObjectNode();
            ArrayNode items = out.putArray("connectors");
            for (ConnectorJars.Jar j : jars.list()) items.add(view(j));
            return ApiErrors.json(StatusCodes.OK, out);
          } catch (Exception e) {
            throw new CompletionException(e);
          }
        },
        blocking);
  }

  private static ObjectNode view(ConnectorJars.Jar j) {
    ObjectNode o = Json.MAPPER.createObjectNode();
    o.put("id", j.id());
    j.classes().forEach(o.putArray("classes")::add);
    o.put("size_bytes", j.size());
    o.put("uploaded_at", instant(j.uploadedAtMillis()));
    return o;
  }
}
