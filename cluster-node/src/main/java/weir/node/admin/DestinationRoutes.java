package weir.node.admin;

import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.server.PathMatchers;
import akka.http.javadsl.server.Route;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import weir.loaders.destination.DestinationTypes;
import weir.loaders.destination.InvalidConfig;
import weir.node.http.ApiErrors;
import weir.node.registry.ConnectionDirectory;
import weir.persistence.registry.Destination;
import weir.persistence.registry.Ids;
import weir.persistence.registry.Registry;
import weir.persistence.secrets.SecretBox;
import weir.protocol.Json;

/**
 * {@code /v1/admin/destinations}: create, list, read, patch, delete (API.md). Every type is
 * validated (in a cluster without a shared staging directory, only S3/GCS staging is accepted).
 * Secret fields are sealed before they reach the registry and answered as {@code "********"}; a
 * PATCH that sends {@code "********"} keeps the stored value.
 */
final class DestinationRoutes extends AdminSupport {
  private static final Set<String> BODY_FIELDS = Set.of("name", "type", "config");

  private final ConnectionDirectory directory;
  private final DestinationTypes types;
  private final SecretBox secrets;
  private final Path stagingDir;
  private final boolean localFilesystemStaging;

  /**
   * @param stagingDir default filesystem staging of new warehouse destinations
   * @param localFilesystemStaging whether the node's filesystem may hold staged or delivered files
   *     (false in a cluster without a shared staging directory: S3 or GCS then)
   */
  DestinationRoutes(
      ConnectionDirectory directory,
      DestinationTypes types,
      SecretBox secrets,
      Path stagingDir,
      boolean localFilesystemStaging) {
    this.directory = directory;
    this.types = types;
    this.secrets = secrets;
    this.stagingDir = stagingDir;
    this.localFilesystemStaging = localFilesystemStaging;
  }

  Route route() {
    Route collection =
        pathEndOrSingleSlash(
            () ->
                concat(
                    get(() -> complete(ApiErrors.json(StatusCodes.OK, list()))),
                    post(() -> jsonObject(body -> respond(create(body))))));
    return pathPrefix(
        "destinations", () -> concat(collection, path(PathMatchers.segment(), this::item)));
  }

  private Route item(String id) {
    return concat(
        get(() -> withDestination(id, d -> complete(ApiErrors.json(StatusCodes.OK, view(d))))),
        patch(() -> withDestination(id, d -> jsonObject(body -> respond(update(d, body))))),
        delete(() -> withDestination(id, d -> respond(delete(d)))));
  }

  private Route withDestination(String id, Function<Destination, Route> inner) {
    return onSuccess(
        directory.refresh(),
        s ->
            directory
                .destination(id)
                .filter(Destination::active)
                .map(inner)
                .orElseGet(
                    () ->
                        complete(
                            ApiErrors.response(
                                StatusCodes.NOT_FOUND,
                                "destination_not_found",
                                "No destination with id '" + id + "'."))));
  }

  private ObjectNode list() {
    ObjectNode out = Json.MAPPER.createObjectNode();
    var items = out.putArray("destinations");
    directory.destinations().values().stream()
        .filter(Destination::active)
        .sorted(Comparator.comparingLong(Destination::createdAtMillis))
        .forEach(d -> items.add(view(d)));
    return out;
  }

  private CompletionStage<HttpResponse> create(ObjectNode body) {
    try {
      checkFields(body);
      String name = text(body, "name");
      String type = text(body, "type");
      if (name == null || name.isBlank())
        throw new BadRequest("invalid_field", "Field 'name' is required.");
      if (type == null) throw new BadRequest("invalid_field", "Field 'type' is required.");
      DestinationTypes.Validated v = validate(type, body.get("config"), defaultStaging());
      Destination d =
          new Destination(
              Ids.newId("d"),
              name,
              type,
              seal(type, v.config(), Map.of()),
              sealStaging(v.staging(), Map.of()),
              System.currentTimeMillis(),
              0);
      return directory
          .<Destination>write(r -> new Registry.CreateDestination(d, r))
          .thenApply(created -> ApiErrors.json(StatusCodes.CREATED, view(created)));
    } catch (BadRequest e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  private CompletionStage<HttpResponse> update(Destination current, ObjectNode body) {
    try {
      checkFields(body);
      String type = text(body, "type");
      if (type != null && !type.equals(current.type())) {
        throw new BadRequest(
            "immutable_field",
            "Field 'type' cannot change ("
                + current.type()
                + "); create a new "
                + "destination instead.");
      }
      String name = text(body, "name");
      if (name != null && name.isBlank())
        throw new BadRequest("invalid_field", "Field 'name' must not be empty.");
      // Merge: the stored config (secrets opened), with the patch's fields on top; "********" keeps
      // a stored secret.
      ObjectNode merged = storedAsJson(current);
      JsonNode patch = body.get("config");
      if (patch != null && !patch.isNull()) {
        if (!patch.isObject())
          throw new BadRequest("invalid_field", "Field 'config' must be a JSON object.");
        mergeInto(merged, (ObjectNode) patch);
      }
      DestinationTypes.Validated v =
          validate(current.type(), merged, openStaging(current.staging()));
      Destination d =
          new Destination(
              current.id(),
              name == null ? current.name() : name,
              current.type(),
              seal(current.type(), v.config(), current.config()),
              sealStaging(v.staging(), current.staging()),
              current.createdAtMillis(),
              0);
      return directory
          .<Destination>write(r -> new Registry.UpdateDestination(d, r))
          .thenApply(updated -> ApiErrors.json(StatusCodes.OK, view(updated)));
    } catch (BadRequest e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  private CompletionStage<HttpResponse> delete(Destination d) {
    return directory
        .<Destination>write(r -> new Registry.DeleteDestination(d.id(), r))
        .thenApply(deleted -> HttpResponse.create().withStatus(StatusCodes.NO_CONTENT));
  }

  private static void checkFields(ObjectNode body) throws BadRequest {
    for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!BODY_FIELDS.contains(f)) {
        throw new BadRequest(
            "unknown_field",
            "Field '" + f + "' is not part of a destination (name, type, config).");
      }
    }
  }

  private Map<String, String> defaultStaging() {
    return Map.of("type", "filesystem", "path", stagingDir.toString());
  }

  /**
   * The registered types' validation (and, in a cluster without shared staging, shared storage
   * only).
   */
  private DestinationTypes.Validated validate(
      String type, JsonNode config, Map<String, String> defaultStaging) throws BadRequest {
    try {
      DestinationTypes.Validated v = types.validate(type, config, defaultStaging);
      if (!localFilesystemStaging) types.requireSharedStorage(type, v.staging());
      return v;
    } catch (InvalidConfig e) {
      throw new BadRequest(e.code(), e.getMessage());
    }
  }

  /** Secret fields sealed; a value equal to the stored one keeps its stored (sealed) form. */
  private Map<String, String> seal(
      Set<String> secret, Map<String, String> values, Map<String, String> stored) {
    Map<String, String> out = new LinkedHashMap<>();
    values.forEach(
        (k, v) -> {
          String before = stored.get(k);
          boolean unchanged = before != null && secrets.open(before).equals(v);
          out.put(k, !secret.contains(k) ? v : unchanged ? before : secrets.seal(v));
        });
    return out;
  }

  private Map<String, String> seal(
      String type, Map<String, String> config, Map<String, String> stored) {
    return seal(types.secretFields(type), config, stored);
  }

  private Map<String, String> sealStaging(Map<String, String> staging, Map<String, String> stored) {
    String type = staging.get("type");
    return type == null ? staging : seal(types.stagingSecretFields(type), staging, stored);
  }

  private Map<String, String> openStaging(Map<String, String> staging) {
    String type = staging.get("type");
    return type == null
        ? staging
        : DestinationTypes.openSecrets(staging, types.stagingSecretFields(type), secrets::open);
  }

  /**
   * The stored config as the JSON a client would send, secrets opened (validated again, sealed
   * again).
   */
  private ObjectNode storedAsJson(Destination d) {
    ObjectNode config = Json.MAPPER.createObjectNode();
    DestinationTypes.openSecrets(d.config(), types.secretFields(d.type()), secrets::open)
        .forEach(config::put);
    if (!d.staging().isEmpty()) {
      ObjectNode staging = config.putObject("staging");
      openStaging(d.staging()).forEach(staging::put);
    }
    return config;
  }

  private static void mergeInto(ObjectNode target, ObjectNode patch) {
    for (Iterator<Map.Entry<String, JsonNode>> it = patch.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      JsonNode v = e.getValue();
      if (v.isTextual() && v.asText().equals(DestinationTypes.MASK)) continue;
      if (e.getKey().equals("staging")
          && v.isObject()
          && target.get("staging") instanceof ObjectNode existing
          && existing
              .path("type")
              .asText()
              .equals(v.path("type").asText(existing.path("type").asText()))) {
        mergeInto(existing, (ObjectNode) v);
        continue;
      }
      if (v.isNull()) target.remove(e.getKey());
      else target.set(e.getKey(), v);
    }
  }

  /** The API view: secrets masked. */
  ObjectNode view(Destination d) {
    ObjectNode out = Json.MAPPER.createObjectNode();
    out.put("id", d.id());
    out.put("name", d.name());
    out.put("type", d.type());
    ObjectNode config = out.putObject("config");
    masked(types.secretFields(d.type()), d.config(), config);
    if (!d.staging().isEmpty()) {
      masked(
          types.stagingSecretFields(d.staging().get("type")),
          d.staging(),
          config.putObject("staging"));
    }
    out.put("created_at", instant(d.createdAtMillis()));
    return out;
  }

  private static void masked(Set<String> secret, Map<String, String> values, ObjectNode into) {
    List<String> keys =
        values.keySet().stream()
            .sorted((a, b) -> a.equals("type") ? -1 : b.equals("type") ? 1 : a.compareTo(b))
            .toList();
    for (String k : keys) into.put(k, secret.contains(k) ? DestinationTypes.MASK : values.get(k));
  }
}
