package weir.node.admin;

import akka.Done;
import akka.actor.typed.ActorSystem;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.server.PathMatchers;
import akka.http.javadsl.server.Route;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import weir.loaders.destination.DestinationTypes;
import weir.node.datasync.ArchiveWindow;
import weir.node.datasync.ExportFeed;
import weir.node.http.ApiErrors;
import weir.node.registry.ConnectionDirectory;
import weir.persistence.registry.Connection;
import weir.persistence.registry.Destination;
import weir.persistence.registry.Export;
import weir.persistence.registry.Ids;
import weir.persistence.registry.Registry;
import weir.protocol.Json;

/**
 * {@code /v1/admin/exports} (API.md, Exports): create a Data Sync export of a connection into a
 * data lake (registered, then handed to the connection's export feed, both persisted before the
 * 201), list and read them with their feed's status, and stop one ({@code DELETE}).
 */
final class ExportRoutes extends AdminSupport {
  private static final Set<String> CREATE_FIELDS =
      Set.of(
          "connection_id", "destination_id", "type", "from", "to", "finalize_after_days", "name");

  /** The longest range of a one-time export (Pendo's: three calendar years). */
  private static final int MAX_DAYS = 3 * 366;

  private final ConnectionDirectory directory;
  private final DestinationTypes types;
  private final ClusterSharding sharding;
  private final Duration askTimeout;

  ExportRoutes(
      ActorSystem<?> system,
      ConnectionDirectory directory,
      DestinationTypes types,
      Duration askTimeout) {
    this.directory = directory;
    this.types = types;
    this.sharding = ClusterSharding.get(system);
    this.askTimeout = askTimeout;
  }

  Route route() {
    Route collection =
        pathEndOrSingleSlash(
            () ->
                concat(
                    get(() -> respond(list())),
                    post(() -> jsonObject(body -> respond(create(body))))));
    return pathPrefix(
        "exports",
        () ->
            concat(
                collection,
                path(
                    PathMatchers.segment(),
                    id ->
                        concat(
                            get(() -> withExport(id, x -> respond(show(x)))),
                            delete(() -> withExport(id, x -> respond(stop(x))))))));
  }

  private Route withExport(String id, Function<Export, Route> inner) {
    return directory
        .export(id)
        .map(inner)
        .orElseGet(
            () ->
                onSuccess(
                    directory.refresh(),
                    listing ->
                        directory
                            .export(id)
                            .map(inner)
                            .orElseGet(
                                () ->
                                    complete(
                                        ApiErrors.response(
                                            StatusCodes.NOT_FOUND,
                                            "export_not_found",
                                            "No export with id '" + id + "'.")))));
  }

  private CompletionStage<HttpResponse> create(ObjectNode body) {
    Export export;
    try {
      export = validate(body);
    } catch (BadRequest e) {
      return CompletableFuture.failedFuture(e);
    }
    return directory
        .<Export>write(r -> new Registry.CreateExport(export, r))
        .thenCompose(
            created ->
                feed(created)
                    .<Done>askWithStatus(r -> new ExportFeed.Add(created, r), askTimeout)
                    .thenCompose(done -> view(created)))
        .thenApply(view -> ApiErrors.json(StatusCodes.CREATED, view));
  }

  private Export validate(ObjectNode body) throws BadRequest {
    for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!CREATE_FIELDS.contains(f))
        throw new BadRequest("unknown_field", "Field '" + f + "' is not part of an export.");
    }
    String connectionId = text(body, "connection_id");
    if (connectionId == null)
      throw new BadRequest("invalid_field", "Field 'connection_id' is required.");
    Connection c =
        directory
            .cached(connectionId)
            .filter(Connection::active)
            .orElseThrow(
                () ->
                    new BadRequest(
                        "connection_not_found",
                        "Field 'connection_id': no connection with id '" + connectionId + "'."));
    if (c.eventFormat() == null) {
      throw new BadRequest(
          "invalid_field",
          "Field 'connection_id': a "
              + c.kind()
              + " connection has no events of its own to export (webhook, segment, snowplow and"
              + " stream connections do).");
    }
    String destinationId = text(body, "destination_id");
    if (destinationId == null)
      throw new BadRequest("invalid_field", "Field 'destination_id' is required.");
    Destination d =
        directory
            .destination(destinationId)
            .filter(Destination::active)
            .orElseThrow(
                () ->
                    new BadRequest(
                        "destination_not_found",
                        "Field 'destination_id': no destination with id '" + destinationId + "'."));
    if (types.type(d.type()).map(t -> t.lakeStore() == null).orElse(true)) {
      throw new BadRequest(
          "invalid_field",
          "Field 'destination_id': exports go to a data-lake destination (s3, gcs or filesystem);"
              + " "
              + d.id()
              + " is a "
              + d.type()
              + " warehouse.");
    }
    String typeText = text(body, "type");
    Export.Type type;
    try {
      type = Export.Type.valueOf(typeText == null ? "" : typeText);
    } catch (IllegalArgumentException e) {
      throw new BadRequest(
          "invalid_field",
          "Field 'type' must be one_time, recurring or test"
              + (typeText == null ? "." : "; got '" + typeText + "'."));
    }
    LocalDate today = LocalDate.now(ZoneOffset.UTC);
    LocalDate from = date(body, "from");
    LocalDate to = date(body, "to");
    switch (type) {
      case one_time -> {
        if (from == null || to == null)
          throw new BadRequest(
              "invalid_field", "A one_time export needs 'from' and 'to' (ISO dates, UTC days).");
        if (to.isBefore(from))
          throw new BadRequest("invalid_field", "Field 'to' must not be before 'from'.");
        if (to.isAfter(today))
          throw new BadRequest(
              "invalid_field", "Field 'to' must not be after today (" + today + ", UTC).");
        if (from.plusDays(MAX_DAYS).isBefore(to))
          throw new BadRequest(
              "invalid_field", "A one_time export covers at most three years; split the range.");
      }
      case test -> {
        if (to != null && from != null && !to.equals(from))
          throw new BadRequest(
              "invalid_field", "A test export covers one day: give 'from' only (or neither).");
        if (from == null) from = to;
        if (from != null && from.isAfter(today))
          throw new BadRequest(
              "invalid_field", "Field 'from' must not be after today (" + today + ", UTC).");
        to = from;
      }
      case recurring -> {
        if (from != null || to != null)
          throw new BadRequest(
              "invalid_field",
              "A recurring export has no 'from' or 'to': it runs daily for yesterday and the"
                  + " finalized day.");
      }
    }
    Integer finalize = integer(body, "finalize_after_days", 1, 30);
    requireArchive(c, type, from, finalize == null ? 9 : finalize, today);
    String name = text(body, "name");
    if (name != null && name.isBlank())
      throw new BadRequest("invalid_field", "Field 'name' must not be empty.");
    String id = Ids.newId("x");
    return new Export(
        id,
        name == null ? c.name() + " " + type.name().replace('_', '-') + " export" : name,
        c.id(),
        d.id(),
        type,
        from == null ? null : from.toString(),
        to == null ? null : to.toString(),
        finalize == null ? 9 : finalize,
        System.currentTimeMillis(),
        0);
  }

  /**
   * An export reads the connection's staging archive: refused when the archive's retention could
   * have deleted files of the days it covers, because an export cannot tell a day whose files are
   * gone from a day without events, and a loader would then delete that day's rows.
   */
  private void requireArchive(
      Connection c, Export.Type type, LocalDate from, int finalizeAfterDays, LocalDate today)
      throws BadRequest {
    Destination archive = directory.destination(c.destinationId()).orElse(null);
    if (archive == null) return;
    int days = types.retentionDays(archive.type(), archive.config(), archive.staging());
    if (days < 0) return;
    String where =
        "connection "
            + c.id()
            + "'s destination "
            + archive.id()
            + " keeps staged files "
            + (days == 0 ? "only until they are loaded" : days + " days after they are loaded");
    if (days <= 1)
      throw new BadRequest(
          "archive_not_kept",
          "An export reads the staging archive, and " + where + ": there is nothing to export.");
    LocalDate oldest = ArchiveWindow.oldestDay(days, today).orElseThrow();
    if (type == Export.Type.recurring && today.minusDays(finalizeAfterDays).isBefore(oldest))
      throw new BadRequest(
          "archive_not_kept",
          "A recurring export re-exports the day "
              + finalizeAfterDays
              + " days ago, and "
              + where
              + ": give 'finalize_after_days' below "
              + (days - 1)
              + " (or keep the archive longer).");
    if (from != null && from.isBefore(oldest))
      throw new BadRequest(
          "archive_not_kept",
          where
              + ", so days before "
              + oldest
              + " may no longer be archived; export from "
              + oldest
              + " on (or keep the archive longer).");
  }

  private static LocalDate date(ObjectNode body, String field) throws BadRequest {
    String text = text(body, field);
    if (text == null) return null;
    try {
      return LocalDate.parse(text);
    } catch (DateTimeParseException e) {
      throw new BadRequest(
          "invalid_field",
          "Field '" + field + "' must be an ISO date (YYYY-MM-DD); got '" + text + "'.");
    }
  }

  private CompletionStage<HttpResponse> list() {
    List<Export> all =
        directory.exports().values().stream()
            .sorted(Comparator.comparingLong(Export::createdAtMillis))
            .toList();
    List<CompletableFuture<ObjectNode>> views = new ArrayList<>();
    for (Export x : all)
      views.add(
          view(x)
              .toCompletableFuture()
              .exceptionally(
                  e -> {
                    ObjectNode o = Json.MAPPER.createObjectNode();
                    o.put("id", x.id());
                    o.put("name", x.name());
                    o.put("connection_id", x.connectionId());
                    o.put("destination_id", x.destinationId());
                    o.put("type", x.type().name());
                    o.put("status", "unknown");
                    o.put("created_at", instant(x.createdAtMillis()));
                    o.put("message", "its export feed did not answer in time; retry");
                    return o;
                  }));
    return CompletableFuture.allOf(views.toArray(CompletableFuture[]::new))
        .thenApply(
            done -> {
              ObjectNode out = Json.MAPPER.createObjectNode();
              ArrayNode items = out.putArray("exports");
              views.forEach(v -> items.add(v.join()));
              return ApiErrors.json(StatusCodes.OK, out);
            });
  }

  private CompletionStage<HttpResponse> show(Export x) {
    return view(x).thenApply(v -> ApiErrors.json(StatusCodes.OK, v));
  }

  private CompletionStage<HttpResponse> stop(Export x) {
    return directory
        .<Export>write(r -> new Registry.StopExport(x.id(), r))
        .thenCompose(
            stopped ->
                feed(stopped)
                    .<Done>askWithStatus(r -> new ExportFeed.Stop(stopped.id(), r), askTimeout)
                    .thenCompose(done -> view(stopped)))
        .thenApply(view -> ApiErrors.json(StatusCodes.OK, view));
  }

  private akka.cluster.sharding.typed.javadsl.EntityRef<ExportFeed.Command> feed(Export x) {
    return sharding.entityRefFor(ExportFeed.ENTITY_KEY, x.feedId());
  }

  /** The API's view of an export: its registry entry and what its feed says. */
  private CompletionStage<ObjectNode> view(Export x) {
    return feed(x)
        .<ExportFeed.ExportView>ask(r -> new ExportFeed.Get(x.id(), r), askTimeout)
        .thenApply(
            v -> {
              ObjectNode o = Json.MAPPER.createObjectNode();
              o.put("id", x.id());
              o.put("name", x.name());
              o.put("connection_id", x.connectionId());
              o.put("destination_id", x.destinationId());
              o.put("type", x.type().name());
              // A stopped export keeps the status of what it did (API.md's three states).
              String status = v.status();
              if (!x.active() && !status.equals("failed"))
                status = v.runsCompleted() > 0 ? "complete" : "failed";
              o.put("status", status);
              o.put("created_at", instant(x.createdAtMillis()));
              o.put("last_successful_at", instant(v.lastSuccessfulAtMillis()));
              if (v.counter() > 0) o.put("counter", v.counter());
              else o.putNull("counter");
              o.put("storage_size", v.storageSize());
              o.put("root_url", v.rootUrl());
              o.put(
                  "message",
                  !x.active() && v.runsCompleted() == 0 && v.message() == null
                      ? "stopped before its first run"
                      : v.message());
              o.put("progress", v.progress());
              o.put("runs_completed", v.runsCompleted());
              o.put("from", x.from());
              o.put("to", x.to());
              o.put("finalize_after_days", x.finalizeAfterDays());
              if (!x.active()) o.put("stopped_at", instant(x.stoppedAtMillis()));
              return o;
            });
  }
}
