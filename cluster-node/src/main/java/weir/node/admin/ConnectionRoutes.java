package weir.node.admin;

import akka.actor.typed.ActorSystem;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.http.javadsl.model.ContentType;
import akka.http.javadsl.model.HttpEntities;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.MediaTypes;
import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.server.PathMatchers;
import akka.http.javadsl.server.Route;
import akka.stream.javadsl.Source;
import akka.util.ByteString;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.time.LocalDate;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import java.util.function.Supplier;
import weir.loaders.destination.DestinationTypes;
import weir.node.RootCause;
import weir.node.connector.ConnectorSync;
import weir.node.datasync.DataSyncImport;
import weir.node.http.ApiErrors;
import weir.node.ingest.ClusterTail;
import weir.node.ingest.ConnectionBuffer;
import weir.node.ingest.EventTail;
import weir.node.load.LoadCoordinator;
import weir.node.metrics.ConnectionActivity;
import weir.node.registry.ConnectionDirectory;
import weir.persistence.registry.Connection;
import weir.persistence.registry.ConnectionKind;
import weir.persistence.registry.Destination;
import weir.persistence.registry.Ids;
import weir.persistence.registry.Registry;
import weir.persistence.secrets.SecretBox;
import weir.protocol.Json;
import weir.protocol.datasync.PageRule;

/**
 * {@code /v1/admin/connections} (API.md): create, list, read, patch (batching and sync settings
 * apply to running buffers and coordinators at once), delete (ingestion stops; what was accepted is
 * still loaded), {@code rotate-write-key}, {@code status}, {@code sync}, {@code resync}, {@code
 * dead-letters}.
 */
final class ConnectionRoutes extends AdminSupport {
  private static final Set<String> CREATE_FIELDS =
      Set.of(
          "name",
          "kind",
          "destination_id",
          "schema",
          "table",
          "batch_size",
          "batch_interval_seconds",
          "sync_interval_minutes",
          "signing_secret",
          "id_field",
          "app_id",
          "connector",
          "slots",
          "partitions",
          "page_rules",
          "source",
          "columns");
  private static final Set<String> PATCH_FIELDS =
      Set.of(
          "name",
          "batch_size",
          "batch_interval_seconds",
          "sync_interval_minutes",
          "signing_secret",
          "id_field",
          "app_id",
          "page_rules",
          "source",
          "connector",
          "columns");

  private static final ContentType NDJSON =
      MediaTypes.applicationWithFixedCharset("x-ndjson", akka.http.javadsl.model.HttpCharsets.UTF_8)
          .toContentType();
  private static final Duration TAIL_KEEPALIVE = Duration.ofSeconds(5);

  /** Kinds whose ingestion exists in this build. */
  static final Set<ConnectionKind> AVAILABLE_KINDS =
      Set.of(
          ConnectionKind.webhook,
          ConnectionKind.segment,
          ConnectionKind.snowplow,
          ConnectionKind.datasync,
          ConnectionKind.connector,
          ConnectionKind.kafka,
          ConnectionKind.kinesis);

  private final ConnectionDirectory directory;
  private final SecretBox secrets;
  private final DestinationTypes types;
  private final boolean localFilesystemStaging;
  private final ConnectionStatusQuery statusQuery;
  private final ClusterSharding sharding;
  private final Duration askTimeout;
  private final int defaultSlots;
  private final Supplier<String> ingestBaseUrl;
  private final weir.persistence.connectors.ConnectorJars jars;
  private final weir.node.stream.StreamSources streams;
  private final ClusterTail tail;
  private final ConnectionActivity activity;
  private final String nodeAddress;

  ConnectionRoutes(
      ActorSystem<?> system,
      ConnectionDirectory directory,
      SecretBox secrets,
      DestinationTypes types,
      boolean localFilesystemStaging,
      ConnectionStatusQuery statusQuery,
      Duration askTimeout,
      int defaultSlots,
      Supplier<String> ingestBaseUrl,
      weir.persistence.connectors.ConnectorJars jars,
      weir.node.stream.StreamSources streams,
      ClusterTail tail,
      ConnectionActivity activity) {
    this.tail = tail;
    this.activity = activity;
    this.jars = jars;
    this.streams = streams;
    this.directory = directory;
    this.secrets = secrets;
    this.types = types;
    this.localFilesystemStaging = localFilesystemStaging;
    this.statusQuery = statusQuery;
    this.sharding = ClusterSharding.get(system);
    this.askTimeout = askTimeout;
    this.defaultSlots = defaultSlots;
    this.ingestBaseUrl = ingestBaseUrl;
    this.nodeAddress = akka.cluster.typed.Cluster.get(system).selfMember().address().toString();
  }

  Route route() {
    Route collection =
        pathEndOrSingleSlash(
            () ->
                concat(
                    get(() -> complete(ApiErrors.json(StatusCodes.OK, list()))),
                    post(() -> jsonObject(body -> respond(create(body))))));
    return pathPrefix(
        "connections", () -> concat(collection, pathPrefix(PathMatchers.segment(), this::item)));
  }

  private Route item(String id) {
    return concat(
        pathEndOrSingleSlash(
            () ->
                concat(
                    get(
                        () ->
                            withConnection(
                                id, c -> complete(ApiErrors.json(StatusCodes.OK, view(c))))),
                    patch(
                        () ->
                            withConnection(id, c -> jsonObject(body -> respond(update(c, body))))),
                    delete(() -> withConnection(id, c -> respond(delete(c)))))),
        path("rotate-write-key", () -> post(() -> withConnection(id, c -> respond(rotate(c))))),
        path("status", () -> get(() -> withConnection(id, c -> respond(status(c))))),
        path("sync", () -> post(() -> withConnection(id, c -> respond(sync(c))))),
        path("activity", () -> get(() -> withConnection(id, this::activity))),
        path("tail", () -> get(() -> withConnection(id, this::tail))),
        path(
            "resync",
            () ->
                post(() -> withConnection(id, c -> jsonObject(body -> respond(resync(c, body)))))),
        pathPrefix(
            "resyncs",
            () ->
                path(
                    PathMatchers.segment(),
                    resyncId ->
                        delete(() -> withConnection(id, c -> respond(cancelResync(c, resyncId)))))),
        path(
            "dead-letters",
            () ->
                get(
                    () ->
                        withConnection(
                            id,
                            c ->
                                parameterOptional(
                                    "limit", limit -> respond(deadLetters(c, limit)))))));
  }

  private Route withConnection(String id, Function<Connection, Route> inner) {
    return onSuccess(
        directory.connection(id),
        found ->
            found
                .filter(Connection::active)
                .map(inner)
                .orElseGet(
                    () ->
                        complete(
                            ApiErrors.response(
                                StatusCodes.NOT_FOUND,
                                "connection_not_found",
                                "No connection with id '" + id + "'."))));
  }

  private ObjectNode list() {
    ObjectNode out = Json.MAPPER.createObjectNode();
    ArrayNode items = out.putArray("connections");
    directory.connections().values().stream()
        .filter(Connection::active)
        .sorted(Comparator.comparingLong(Connection::createdAtMillis))
        .forEach(c -> items.add(view(c)));
    return out;
  }

  private CompletionStage<HttpResponse> create(ObjectNode body) {
    try {
      for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
        String f = it.next();
        if (!CREATE_FIELDS.contains(f)) {
          throw new BadRequest("unknown_field", "Field '" + f + "' is not part of a connection.");
        }
      }
      String name = text(body, "name");
      if (name == null || name.isBlank())
        throw new BadRequest("invalid_field", "Field 'name' is required.");
      String kindText = text(body, "kind");
      if (kindText == null)
        throw new BadRequest(
            "invalid_field",
            "Field 'kind' is required (webhook, segment, snowplow, datasync, connector, kafka or"
                + " kinesis).");
      ConnectionKind kind;
      try {
        kind = ConnectionKind.valueOf(kindText);
      } catch (IllegalArgumentException e) {
        throw new BadRequest(
            "invalid_field",
            "Field 'kind' must be webhook, segment, snowplow, datasync, connector, kafka or kinesis;"
                + " got '"
                + kindText
                + "'.");
      }
      if (!AVAILABLE_KINDS.contains(kind)) {
        throw new BadRequest(
            "connection_kind_not_available",
            "This build has webhook, segment, snowplow and datasync "
                + "connections; "
                + kind
                + " connections come with a later release.");
      }
      String destinationId = text(body, "destination_id");
      if (destinationId == null)
        throw new BadRequest("invalid_field", "Field 'destination_id' is required.");
      Destination destination =
          directory
              .destination(destinationId)
              .filter(Destination::active)
              .orElseThrow(
                  () ->
                      new BadRequest(
                          "destination_not_found",
                          "Field 'destination_id': no destination with id '"
                              + destinationId
                              + "'."));
      boolean warehouse =
          types.type(destination.type()).map(t -> t.lakeStore() == null).orElse(false);
      if (kind == ConnectionKind.datasync && !warehouse) {
        throw new BadRequest(
            "invalid_field",
            "Field 'destination_id': a datasync connection loads exports into a warehouse; "
                + destination.id()
                + " is a "
                + destination.type()
                + " data lake.");
      }
      Map<String, String> source = Map.of();
      if (kind == ConnectionKind.datasync) source = source(body, Map.of());
      else if (kind == ConnectionKind.kafka) {
        source = kafkaSource(body, Map.of());
        groupNotInUse(source, null);
      } else if (kind == ConnectionKind.kinesis) {
        source = KinesisSourceFields.parse(body, Map.of(), secrets);
      } else if (body.has("source")) throw new BadRequest("invalid_field", SOURCE_KINDS);
      weir.persistence.registry.ConnectorSource connector = null;
      if (kind == ConnectionKind.connector) {
        if (!types
            .type(destination.type())
            .map(weir.loaders.destination.DestinationType::loadsConnectorTables)
            .orElse(false))
          throw new BadRequest(
              "invalid_field",
              "Field 'destination_id': connector connections load into "
                  + String.join(
                      ", ",
                      types.names().stream()
                          .filter(
                              n ->
                                  types
                                      .type(n)
                                      .map(
                                          weir.loaders.destination.DestinationType
                                              ::loadsConnectorTables)
                                      .orElse(false))
                          .toList())
                  + "; "
                  + destination.id()
                  + " is "
                  + destination.type()
                  + ".");
        connector = connectorSource(body, null);
        Integer oneSlot = integer(body, "slots", 1, 64);
        if (oneSlot != null && oneSlot != 1)
          throw new BadRequest(
              "invalid_field",
              "Field 'slots': a connector connection has one slot (its operations load in order).");
      } else if (body.has("connector") || body.has("columns")) {
        throw new BadRequest(
            "invalid_field",
            "Fields 'connector' and 'columns' apply to connector connections only.");
      }
      String schema = identifier(body, "schema", snakeCase(name));
      if (kind == ConnectionKind.datasync) {
        // Its tables (allevents, ...) and its watermark (datasync-<counter>) are the schema's: two
        // datasync connections in one schema would replace each other's days.
        Optional<Connection> other =
            directory.connections().values().stream()
                .filter(
                    o ->
                        o.active()
                            && o.kind() == ConnectionKind.datasync
                            && o.destinationId().equals(destination.id())
                            && o.schema().equals(schema))
                .findFirst();
        if (other.isPresent())
          throw new BadRequest(
              409,
              "schema_in_use",
              "Schema '"
                  + schema
                  + "' of destination "
                  + destination.id()
                  + " is loaded by datasync connection "
                  + other.get().id()
                  + "; give this one another 'schema'.");
      }
      // Events of the json format go to one table (webhooks, json Kafka records).
      boolean oneTable =
          kind == ConnectionKind.webhook
              || ((kind == ConnectionKind.kafka || kind == ConnectionKind.kinesis)
                  && "json".equals(source.get("format")));
      String table = oneTable ? identifier(body, "table", "events") : null;
      if (!oneTable && body.hasNonNull("table")) {
        throw new BadRequest(
            "invalid_field",
            "Field 'table' applies to webhook connections and stream (kafka, kinesis) connections"
                + " of format json only.");
      }
      // "partitions": the field's name before the vocabulary settled on slots, still accepted.
      Integer slots =
          body.has("slots") ? integer(body, "slots", 1, 64) : integer(body, "partitions", 1, 64);
      // app_id is unique among snowplow connections: the registry checks it (every node's writes
      // meet there).
      String appId = text(body, "app_id");
      Connection c =
          new Connection(
              Ids.newId("c"),
              name,
              kind,
              destination.id(),
              schema,
              table,
              orDefault(integer(body, "batch_size", 1, 1_000_000), 500),
              orDefault(integer(body, "batch_interval_seconds", 1, 86_400), 60),
              syncIntervalSeconds(body, 15 * 60),
              kind == ConnectionKind.connector ? 1 : slots == null ? defaultSlots : slots,
              sealed(text(body, "signing_secret")),
              text(body, "id_field"),
              Ids.newSecret(),
              appId,
              System.currentTimeMillis(),
              0,
              pageRules(body, List.of()),
              source,
              connector);
      return directory
          .<Connection>write(r -> new Registry.CreateConnection(c, r))
          .thenApply(
              created -> {
                // Its first sync runs at once (then every sync interval).
                if (created.kind() == ConnectionKind.connector)
                  sharding
                      .entityRefFor(ConnectorSync.ENTITY_KEY, created.id())
                      .tell(new ConnectorSync.Wake());
                return ApiErrors.json(StatusCodes.CREATED, view(created));
              });
    } catch (BadRequest e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  private CompletionStage<HttpResponse> update(Connection c, ObjectNode body) {
    try {
      for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
        String f = it.next();
        if (!PATCH_FIELDS.contains(f)) {
          throw new BadRequest(
              CREATE_FIELDS.contains(f) ? "immutable_field" : "unknown_field",
              "Field '"
                  + f
                  + "' cannot be changed; changeable: "
                  + String.join(", ", PATCH_FIELDS.stream().sorted().toList())
                  + ".");
        }
      }
      String name = text(body, "name");
      if (name != null && name.isBlank())
        throw new BadRequest("invalid_field", "Field 'name' must not be empty.");
      String secret = body.has("signing_secret") ? text(body, "signing_secret") : c.signingSecret();
      if (DestinationTypes.MASK.equals(secret)) secret = c.signingSecret();
      else if (body.has("signing_secret")) secret = sealed(secret);
      Integer batchSize = integer(body, "batch_size", 1, 1_000_000);
      Integer interval = integer(body, "batch_interval_seconds", 1, 86_400);
      Connection next =
          new Connection(
              c.id(),
              name == null ? c.name() : name,
              c.kind(),
              c.destinationId(),
              c.schema(),
              c.table(),
              batchSize == null ? c.batchSize() : batchSize,
              interval == null ? c.batchIntervalSeconds() : interval,
              syncIntervalSeconds(body, c.syncIntervalSeconds()),
              c.slots(),
              secret,
              body.has("id_field") ? text(body, "id_field") : c.idField(),
              c.writeKey(),
              body.has("app_id") ? text(body, "app_id") : c.appId(),
              c.createdAtMillis(),
              0,
              pageRules(body, c.pageRules()),
              c.kind() == ConnectionKind.datasync && body.has("source")
                  ? sameFolder(c.source(), source(body, c.source()))
                  : c.kind() == ConnectionKind.kafka && body.has("source")
                      ? groupNotInUse(sameFormat(c.source(), kafkaSource(body, c.source())), c.id())
                      : c.kind() == ConnectionKind.kinesis && body.has("source")
                          ? sameFormat(
                              c.source(), KinesisSourceFields.parse(body, c.source(), secrets))
                          : c.source(),
              c.kind() == ConnectionKind.connector && (body.has("connector") || body.has("columns"))
                  ? connectorSource(body, c.connector())
                  : c.connector());
      if (c.kind() != ConnectionKind.connector && (body.has("connector") || body.has("columns")))
        throw new BadRequest(
            "invalid_field",
            "Fields 'connector' and 'columns' apply to connector connections only.");
      if (c.kind() != ConnectionKind.datasync
          && c.kind() != ConnectionKind.kafka
          && c.kind() != ConnectionKind.kinesis
          && body.has("source")) throw new BadRequest("invalid_field", SOURCE_KINDS);
      return directory
          .<Connection>write(r -> new Registry.UpdateConnection(next, r))
          .thenApply(updated -> ApiErrors.json(StatusCodes.OK, view(updated)));
    } catch (BadRequest e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  private CompletionStage<HttpResponse> delete(Connection c) {
    return directory
        .<Connection>write(r -> new Registry.DeleteConnection(c.id(), r))
        .thenApply(deleted -> HttpResponse.create().withStatus(StatusCodes.NO_CONTENT));
  }

  private CompletionStage<HttpResponse> rotate(Connection c) {
    Connection next =
        new Connection(
            c.id(),
            c.name(),
            c.kind(),
            c.destinationId(),
            c.schema(),
            c.table(),
            c.batchSize(),
            c.batchIntervalSeconds(),
            c.syncIntervalSeconds(),
            c.slots(),
            c.signingSecret(),
            c.idField(),
            Ids.newSecret(),
            c.appId(),
            c.createdAtMillis(),
            0,
            c.pageRules(),
            c.source(),
            c.connector());
    return directory
        .<Connection>write(r -> new Registry.UpdateConnection(next, r))
        .thenApply(updated -> ApiErrors.json(StatusCodes.OK, view(updated)));
  }

  private CompletionStage<HttpResponse> status(Connection c) {
    CompletionStage<ConnectorSync.SyncStatus> connector =
        c.kind() != ConnectionKind.connector
            ? CompletableFuture.completedFuture(null)
            : sharding
                .entityRefFor(ConnectorSync.ENTITY_KEY, c.id())
                .ask(ConnectorSync.GetStatus::new, askTimeout);
    CompletionStage<ObjectNode> stream =
        streams == null ? CompletableFuture.completedFuture(null) : streams.status(c);
    return statusQuery
        .status(c)
        .thenCombine(connector, (s, sync) -> new Object[] {s, sync})
        .thenCombine(stream, (pair, source) -> new Object[] {pair[0], pair[1], source})
        .thenApply(
            pair -> {
              ConnectionStatusQuery.ConnectionStatus s =
                  (ConnectionStatusQuery.ConnectionStatus) pair[0];
              ConnectorSync.SyncStatus sync = (ConnectorSync.SyncStatus) pair[1];
              ObjectNode source = (ObjectNode) pair[2];
              ObjectNode body = Json.MAPPER.createObjectNode();
              body.put("state", s.state());
              body.put("buffered_events", s.bufferedEvents());
              body.put("staged_batches_pending", s.stagedBatchesPending());
              body.put("loaded_rows_total", s.loadedRowsTotal());
              body.put("last_flush_at", instant(s.lastFlushAtMillis()));
              body.put("last_sync_at", instant(s.lastSyncAtMillis()));
              body.put("next_sync_at", instant(s.nextSyncAtMillis()));
              body.put("last_error", s.lastError());
              body.put("dead_letters_total", s.deadLettersTotal());
              body.put("accepted_total", s.acceptedTotal());
              body.put("loaded_events_total", s.loadedEventsTotal());
              body.put("resyncs_pending", s.resyncsPending());
              ArrayNode resyncs = body.putArray("resyncs");
              for (LoadCoordinator.ResyncView r : s.resyncs()) {
                ObjectNode o = resyncs.addObject().put("id", r.id());
                r.tables().forEach(o.putArray("tables")::add);
                o.put("from", r.from())
                    .put("to", r.to())
                    .put("requested_at", instant(r.requestedAtMillis()))
                    .put("state", r.failed() ? "failed" : "pending")
                    .put("attempts", r.attempts())
                    .put("last_error", r.lastError());
              }
              if (s.datasync() != null) {
                ObjectNode d = body.putObject("datasync");
                d.put("watermark", s.datasync().watermark());
                d.put("exports_loaded_total", s.datasync().exportsLoadedTotal());
                d.put("running", s.datasync().running());
                s.datasync().warnings().forEach(d.putArray("warnings")::add);
                if (s.datasync().warnings().isEmpty()) d.putArray("warnings");
              }
              if (sync != null) {
                ObjectNode d = body.putObject("connector");
                d.put("running", sync.running());
                d.put("last_sync_at", instant(sync.lastSyncAtMillis()));
                d.put("next_sync_at", instant(sync.nextSyncAtMillis()));
                d.put("last_checkpoint_at", instant(sync.lastCheckpointAtMillis()));
                d.put("state_bytes", sync.stateBytes());
                d.put("last_error", sync.lastError());
                d.put("resync_pending", sync.resyncPending());
                d.put("syncs_total", sync.syncsTotal());
                ObjectNode tables = d.putObject("tables");
                sync.tables()
                    .forEach(
                        (t, n) ->
                            tables
                                .putObject(t)
                                .put("upserted", n.upserts())
                                .put("updated", n.updates())
                                .put("deleted", n.deletes())
                                .put("truncated", n.truncates()));
                if (sync.lastError() != null && s.lastError() == null)
                  body.put("last_error", sync.lastError());
              }
              if (source != null) {
                body.set("source", source);
                if (s.lastError() == null && source.hasNonNull("last_error"))
                  body.put("last_error", source.get("last_error").asText());
              }
              ArrayNode loads = body.putArray("recent_loads");
              for (LoadCoordinator.LoadView v : s.recentLoads()) {
                loads
                    .addObject()
                    .put("at", instant(v.atMillis()))
                    .put("duration_ms", v.durationMillis())
                    .put("batches", v.batches())
                    .put("events", v.events())
                    .put("rows_inserted", v.rowsInserted())
                    .put("rows_rejected", v.rowsRejected())
                    .put("error", v.error());
              }
              ArrayNode failed = body.putArray("failed_batches");
              for (LoadCoordinator.FailedBatchView f : s.failedBatches()) {
                failed
                    .addObject()
                    .put("batch_id", f.batchId())
                    .put("error", f.reason())
                    .put("failed_at", instant(f.atMillis()));
              }
              return ApiErrors.json(StatusCodes.OK, body);
            });
  }

  /** The last hour of the connection's figures on this node, per minute (console charts). */
  private Route activity(Connection c) {
    long now = System.currentTimeMillis();
    ObjectNode out = Json.MAPPER.createObjectNode();
    out.put("connection_id", c.id());
    out.put("node", nodeAddress);
    ArrayNode minutes = out.putArray("minutes");
    for (ConnectionActivity.Minute m : activity.lastHour(c.id(), now)) {
      minutes
          .addObject()
          .put("start", instant(m.startMillis()))
          .put("accepted", m.accepted())
          .put("rejected", m.rejected())
          .put("loaded", m.loaded())
          .put("load_lag_seconds", m.loadLagSeconds())
          .put("retries", m.retries());
    }
    return complete(ApiErrors.json(StatusCodes.OK, out));
  }

  /**
   * The events every member accepts for the connection from now on, as NDJSON lines while the
   * client reads ({@link ClusterTail}: bounded, a slow reader or link loses events, ingestion never
   * waits). A first line says the tail is open; a keepalive line every few seconds carries the
   * count of events dropped so far.
   */
  private Route tail(Connection c) {
    Optional<EventTail.Tail> watching = tail.watch(c.id());
    if (watching.isEmpty()) {
      return complete(
          ApiErrors.unavailable(
              "tail_busy",
              "This node already streams "
                  + EventTail.MAX_WATCHERS
                  + " tails; close one and retry.",
              5));
    }
    EventTail.Watcher watcher = watching.get().watcher();
    ObjectNode hello = Json.MAPPER.createObjectNode();
    hello.put("type", "open");
    hello.put("connection_id", c.id());
    hello.put("node", nodeAddress);
    hello.put("queue", EventTail.QUEUE);
    Source<ByteString, ?> lines =
        Source.single(ByteString.fromString(Json.write(hello) + "\n"))
            .concat(
                watching
                    .get()
                    .source()
                    .map(r -> ByteString.fromString(tailLine(r) + "\n"))
                    .keepAlive(
                        TAIL_KEEPALIVE,
                        () ->
                            ByteString.fromString(
                                "{\"type\":\"keepalive\",\"dropped\":"
                                    + watcher.dropped()
                                    + "}\n")));
    return complete(
        HttpResponse.create()
            .withEntity(HttpEntities.createChunked(NDJSON, lines))
            .addHeader(
                akka.http.javadsl.model.headers.RawHeader.create("Cache-Control", "no-store")));
  }

  private static String tailLine(EventTail.TailedRow r) {
    ObjectNode o = Json.MAPPER.createObjectNode();
    o.put("type", "event");
    o.put("received_at", r.receivedAt().toString());
    o.put("table", r.row().table());
    o.put("event_id", r.row().eventId());
    try {
      o.set("row", Json.MAPPER.readTree(r.row().json()));
    } catch (Exception e) {
      o.put("row", r.row().json());
    }
    return Json.write(o);
  }

  private CompletionStage<HttpResponse> sync(Connection c) {
    CompletionStage<akka.Done> started =
        switch (c.kind()) {
          case connector ->
              sharding
                  .entityRefFor(ConnectorSync.ENTITY_KEY, c.id())
                  .askWithStatus(ConnectorSync.Sync::new, askTimeout);
          case datasync ->
              sharding
                  .entityRefFor(DataSyncImport.ENTITY_KEY, c.id())
                  .askWithStatus(DataSyncImport.Sync::new, askTimeout);
          default ->
              sharding
                  .entityRefFor(LoadCoordinator.ENTITY_KEY, c.destinationId())
                  .askWithStatus(r -> new LoadCoordinator.Sync(c.id(), false, r), askTimeout);
        };
    return started.thenApply(
        done -> {
          ObjectNode body = Json.MAPPER.createObjectNode();
          body.put("connection_id", c.id());
          body.put("sync", "started");
          return ApiErrors.json(StatusCodes.ACCEPTED, body);
        });
  }

  private CompletionStage<HttpResponse> resync(Connection c, ObjectNode body) {
    if (c.kind() == ConnectionKind.connector) {
      List<String> tables = new ArrayList<>();
      for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
        String f = it.next();
        if (!f.equals("tables"))
          return CompletableFuture.failedFuture(
              new BadRequest(
                  "unknown_field",
                  "Field '" + f + "' is not part of a connector resync (tables)."));
      }
      JsonNode t = body.get("tables");
      if (t != null && !t.isNull()) {
        if (!t.isArray())
          return CompletableFuture.failedFuture(
              new BadRequest("invalid_field", "Field 'tables' must be an array of table names."));
        for (JsonNode n : t) {
          if (!n.isTextual() || n.asText().isBlank())
            return CompletableFuture.failedFuture(
                new BadRequest("invalid_field", "Field 'tables' must hold table names."));
          tables.add(n.asText());
        }
      }
      return sharding
          .entityRefFor(ConnectorSync.ENTITY_KEY, c.id())
          .<akka.Done>askWithStatus(
              r -> new ConnectorSync.Resync(List.copyOf(tables), r), askTimeout)
          .thenApply(
              done -> {
                ObjectNode out = Json.MAPPER.createObjectNode();
                out.put("connection_id", c.id());
                out.put("resync", "queued");
                tables.forEach(out.putArray("tables")::add);
                return ApiErrors.json(StatusCodes.ACCEPTED, out);
              });
    }
    if (c.kind() == ConnectionKind.datasync) {
      if (body.size() > 0)
        return CompletableFuture.failedFuture(
            new BadRequest(
                "invalid_field",
                "A datasync connection's resync reloads every export still listed; it takes no"
                    + " tables, from or to."));
      return sharding
          .entityRefFor(DataSyncImport.ENTITY_KEY, c.id())
          .<akka.Done>askWithStatus(DataSyncImport.Resync::new, askTimeout)
          .thenApply(
              done -> {
                ObjectNode out = Json.MAPPER.createObjectNode();
                out.put("connection_id", c.id());
                out.put("resync", "queued");
                return ApiErrors.json(StatusCodes.ACCEPTED, out);
              });
    }
    try {
      for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
        String f = it.next();
        if (!Set.of("tables", "from", "to").contains(f)) {
          throw new BadRequest(
              "unknown_field", "Field '" + f + "' is not part of a resync (tables, from, to).");
        }
      }
      List<String> tables = new ArrayList<>();
      JsonNode t = body.get("tables");
      if (t != null && !t.isNull()) {
        if (!t.isArray())
          throw new BadRequest("invalid_field", "Field 'tables' must be an array of table names.");
        for (JsonNode n : t) {
          boolean known =
              n.isTextual()
                  && (c.kind() == ConnectionKind.webhook
                      ? n.asText().equals(c.table())
                      : n.asText().matches("[a-z_][a-z0-9_]{0,62}"));
          if (!known) {
            throw new BadRequest(
                "invalid_field",
                "Field 'tables': '"
                    + n.asText()
                    + "' is not a table of this "
                    + "connection"
                    + (c.kind() == ConnectionKind.webhook ? " (" + c.table() + ")." : "."));
          }
          tables.add(n.asText());
        }
      }
      if (tables.isEmpty() && c.kind() == ConnectionKind.webhook) tables.add(c.table());
      LocalDate from = date(body, "from");
      LocalDate to = date(body, "to");
      if (from != null && to != null && from.isAfter(to)) {
        throw new BadRequest("invalid_field", "Field 'from' must not be after 'to'.");
      }
      // An empty list: every table the connection has files for in the archive.
      LoadCoordinator.ResyncRequest request =
          new LoadCoordinator.ResyncRequest(
              c.id(),
              List.copyOf(tables),
              from == null ? null : from.toString(),
              to == null ? null : to.toString());
      return sharding
          .entityRefFor(LoadCoordinator.ENTITY_KEY, c.destinationId())
          .<String>askWithStatus(r -> new LoadCoordinator.Resync(request, r), askTimeout)
          .thenApply(
              resyncId -> {
                ObjectNode out = Json.MAPPER.createObjectNode();
                out.put("connection_id", c.id());
                out.put("resync", "queued");
                out.put("id", resyncId);
                tables.forEach(out.putArray("tables")::add);
                out.put("from", request.from());
                out.put("to", request.to());
                return ApiErrors.json(StatusCodes.ACCEPTED, out);
              });
    } catch (BadRequest e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /** Removes a queued or failed resync (a running one cannot be removed). */
  private CompletionStage<HttpResponse> cancelResync(Connection c, String resyncId) {
    return sharding
        .entityRefFor(LoadCoordinator.ENTITY_KEY, c.destinationId())
        .<akka.Done>askWithStatus(
            r -> new LoadCoordinator.CancelResync(c.id(), resyncId, r), askTimeout)
        .handle(
            (done, error) -> {
              if (error == null) return HttpResponse.create().withStatus(StatusCodes.NO_CONTENT);
              String message = RootCause.describe(error);
              String code = Registry.errorCode(message);
              if (code.equals("resync_not_found")) {
                return ApiErrors.response(
                    StatusCodes.NOT_FOUND, code, Registry.errorSentence(message));
              }
              if (code.equals("resync_running")) {
                return ApiErrors.response(
                    StatusCodes.CONFLICT, code, Registry.errorSentence(message));
              }
              throw new CompletionException(error);
            });
  }

  private CompletionStage<HttpResponse> deadLetters(Connection c, Optional<String> limitParam) {
    int limit;
    try {
      limit = limitParam.map(Integer::parseInt).orElse(100);
      if (limit < 1 || limit > 1000) throw new NumberFormatException();
    } catch (NumberFormatException e) {
      return CompletableFuture.failedFuture(
          new BadRequest(
              "invalid_parameter", "Parameter 'limit' must be a whole number from 1 to 1000."));
    }
    List<CompletableFuture<ConnectionBuffer.BufferStatus>> slots = new ArrayList<>();
    for (int slot = 0; slot < c.slots(); slot++) {
      slots.add(
          sharding
              .entityRefFor(ConnectionBuffer.ENTITY_KEY, c.slotEntityId(slot))
              .<ConnectionBuffer.BufferStatus>ask(ConnectionBuffer.GetStatus::new, askTimeout)
              .toCompletableFuture());
    }
    return CompletableFuture.allOf(slots.toArray(CompletableFuture[]::new))
        .thenApply(
            ignored -> {
              List<ConnectionBuffer.DeadLetter> all = new ArrayList<>();
              long total = 0;
              for (CompletableFuture<ConnectionBuffer.BufferStatus> f : slots) {
                all.addAll(f.join().recentDeadLetters());
                total += f.join().deadLettersTotal();
              }
              all.sort(
                  Comparator.comparingLong(ConnectionBuffer.DeadLetter::receivedAtMillis)
                      .reversed());
              ObjectNode out = Json.MAPPER.createObjectNode();
              out.put("dead_letters_total", total);
              ArrayNode items = out.putArray("dead_letters");
              for (ConnectionBuffer.DeadLetter d : all.subList(0, Math.min(limit, all.size()))) {
                items
                    .addObject()
                    .put("received_at", instant(d.receivedAtMillis()))
                    .put("code", d.code())
                    .put("message", d.message())
                    .put("payload", d.payload());
              }
              return ApiErrors.json(StatusCodes.OK, out);
            });
  }

  /** The API view: the signing secret masked, the write key and ingestion URLs shown. */
  ObjectNode view(Connection c) {
    ObjectNode out = Json.MAPPER.createObjectNode();
    out.put("id", c.id());
    out.put("name", c.name());
    out.put("kind", c.kind().name());
    out.put("destination_id", c.destinationId());
    out.put("schema", c.schema());
    out.put("table", c.table());
    out.put("batch_size", c.batchSize());
    out.put("batch_interval_seconds", c.batchIntervalSeconds());
    if (c.syncIntervalSeconds() % 60 == 0)
      out.put("sync_interval_minutes", c.syncIntervalSeconds() / 60);
    else out.put("sync_interval_minutes", c.syncIntervalSeconds() / 60.0);
    out.put("slots", c.slots());
    out.put("signing_secret", c.signingSecretIfAny().isPresent() ? DestinationTypes.MASK : null);
    out.put("id_field", c.idField());
    out.put("app_id", c.appId());
    out.put("write_key", c.writeKey());
    urls(c, out.putObject("urls"));
    if (c.kind() == ConnectionKind.datasync) {
      ObjectNode src = out.putObject("source");
      Set<String> secret = types.stagingSecretFields(c.source().getOrDefault("type", ""));
      c.source().forEach((k, v) -> src.put(k, secret.contains(k) ? DestinationTypes.MASK : v));
    }
    if (c.kind() == ConnectionKind.kafka) {
      ObjectNode src = out.putObject("source");
      src.put("bootstrap_servers", c.source().get("bootstrap_servers"));
      weir.node.stream.KafkaSources.topics(c).forEach(src.putArray("topics")::add);
      src.put("group_id", weir.node.stream.KafkaSources.groupId(c));
      src.put("start", c.source().get("start"));
      src.put("format", c.source().get("format"));
      if (c.source().containsKey("security.protocol")) {
        ObjectNode sec = src.putObject("security");
        sec.put("protocol", c.source().get("security.protocol"));
        sec.put("sasl_mechanism", c.source().get("security.sasl_mechanism"));
        sec.put("username", c.source().get("security.username"));
        sec.put(
            "password", c.source().containsKey("security.password") ? DestinationTypes.MASK : null);
        // Certificates are public: shown as stored, so a view sent back as a PATCH keeps them.
        sec.put("truststore", c.source().get("security.truststore"));
      }
    }
    if (c.kind() == ConnectionKind.kinesis)
      KinesisSourceFields.view(c.source(), out.putObject("source"));
    if (c.connector() != null) {
      ObjectNode conn = out.putObject("connector");
      conn.put("jar", c.connector().jar());
      conn.put("class", c.connector().className());
      ObjectNode conf = conn.putObject("configuration");
      // Every configuration value is a secret: none is ever shown.
      new java.util.TreeSet<>(c.connector().configuration().keySet())
          .forEach(k -> conf.put(k, DestinationTypes.MASK));
      ObjectNode cols = out.putObject("columns");
      new TreeMap<>(c.connector().columns())
          .forEach(
              (k, p) -> {
                ObjectNode o = cols.putObject(k);
                if (p.blocked()) o.put("enabled", false);
                if (p.hashed()) o.put("hashed", true);
              });
    }
    ArrayNode pages = out.putArray("page_rules");
    for (PageRule r : c.pageRules())
      pages.addObject().put("id", r.id()).put("name", r.name()).put("pattern", r.pattern());
    out.put("created_at", instant(c.createdAtMillis()));
    return out;
  }

  /**
   * The {@code source} of a datasync connection: a store object ({@code type}: s3, gcs or
   * filesystem, and that store's settings; its root is the folder holding {@code
   * exportmanifest.json}), validated, secret fields sealed (a masked or unchanged value keeps the
   * stored one).
   */
  private Map<String, String> source(ObjectNode body, Map<String, String> stored)
      throws BadRequest {
    JsonNode node = body.get("source");
    if (node == null || node.isNull())
      throw new BadRequest(
          "invalid_field",
          "Field 'source' is required for a datasync connection: {type: s3, gcs or filesystem, the"
              + " store's settings, and the path or prefix of the folder that holds"
              + " exportmanifest.json}.");
    Map<String, String> validated;
    try {
      if (node.isObject()) {
        ObjectNode copy = ((ObjectNode) node).deepCopy();
        String type = copy.path("type").asText("");
        for (String secret : types.stagingSecretFields(type)) {
          if (DestinationTypes.MASK.equals(copy.path(secret).asText(null))
              && stored.containsKey(secret)) copy.put(secret, secrets.open(stored.get(secret)));
        }
        node = copy;
      }
      validated = types.validateStore("source", node);
      if (!localFilesystemStaging
          && types.stagingType(validated.get("type")).map(t -> t.local()).orElse(false))
        throw new BadRequest(
            "invalid_field",
            "Field 'source.type' cannot be "
                + validated.get("type")
                + " in this cluster: its nodes share no staging directory (WEIR_STAGING_SHARED is"
                + " not set), and any node may run the sync; read from s3 or gcs instead.");
    } catch (weir.loaders.destination.InvalidConfig e) {
      throw new BadRequest(e.code(), e.getMessage());
    }
    Set<String> secret = types.stagingSecretFields(validated.get("type"));
    Map<String, String> out = new java.util.LinkedHashMap<>();
    validated.forEach((k, v) -> out.put(k, secret.contains(k) ? secrets.seal(v) : v));
    return Map.copyOf(out);
  }

  /** Settings of a source that name its folder: the watermark belongs to that folder's counters. */
  private static final List<String> FOLDER = List.of("type", "path", "bucket", "prefix");

  /**
   * {@code next} when it names the same folder as {@code current} (credentials, region and endpoint
   * may change), else a 400: another folder's counters would be judged by this one's watermark and
   * load nothing.
   */
  private static Map<String, String> sameFolder(
      Map<String, String> current, Map<String, String> next) throws BadRequest {
    for (String key : FOLDER) {
      if (!java.util.Objects.equals(current.get(key), next.get(key)))
        throw new BadRequest(
            "immutable_field",
            "Field 'source."
                + key
                + "' cannot change: the connection's watermark counts the exports of its folder."
                + " Create another datasync connection (with its own schema) for another folder;"
                + " credentials, region and endpoint can change.");
    }
    return next;
  }

  /**
   * The {@code page_rules} of a body ({@code [{id, name, pattern}]}, the pages of Data Sync
   * exports), or {@code current} when absent; null clears them.
   */
  private static List<PageRule> pageRules(ObjectNode body, List<PageRule> current)
      throws BadRequest {
    if (!body.has("page_rules")) return current;
    JsonNode rules = body.get("page_rules");
    if (rules.isNull()) return List.of();
    if (!rules.isArray())
      throw new BadRequest(
          "invalid_field", "Field 'page_rules' must be an array of {id, name, pattern}.");
    if (rules.size() > 1000)
      throw new BadRequest("invalid_field", "Field 'page_rules' holds at most 1000 pages.");
    List<PageRule> out = new ArrayList<>();
    Set<String> ids = new java.util.HashSet<>();
    int i = 0;
    for (JsonNode r : rules) {
      if (!r.isObject())
        throw new BadRequest("invalid_field", "Field 'page_rules[" + i + "]' must be an object.");
      for (Iterator<String> it = r.fieldNames(); it.hasNext(); ) {
        String f = it.next();
        if (!Set.of("id", "name", "pattern").contains(f))
          throw new BadRequest(
              "unknown_field",
              "Field 'page_rules["
                  + i
                  + "]."
                  + f
                  + "' is not part of a page rule (id, name, pattern).");
      }
      try {
        PageRule rule =
            new PageRule(
                r.path("id").isTextual() ? r.get("id").asText() : null,
                r.path("name").isTextual() ? r.get("name").asText() : null,
                r.path("pattern").isTextual() ? r.get("pattern").asText() : null);
        if (!ids.add(rule.id()))
          throw new BadRequest(
              "invalid_field", "Field 'page_rules': id '" + rule.id() + "' is given twice.");
        out.add(rule);
      } catch (IllegalArgumentException e) {
        throw new BadRequest(
            "invalid_field", "Field 'page_rules[" + i + "]': " + e.getMessage() + ".");
      }
      i++;
    }
    return List.copyOf(out);
  }

  /** The exact ingestion URLs of a connection. */
  private void urls(Connection c, ObjectNode urls) {
    String base = ingestBaseUrl.get();
    switch (c.kind()) {
      case webhook -> urls.put("webhook", base + "/v1/webhooks/" + c.id());
      case segment -> {
        urls.put("endpoint", base);
        for (String call :
            List.of("track", "identify", "page", "screen", "group", "alias", "batch", "import")) {
          urls.put(call, base + "/v1/" + call);
        }
      }
      case snowplow -> {
        urls.put("collector", base + "/s/" + c.id());
        urls.put("tp2", base + "/s/" + c.id() + "/com.snowplowanalytics.snowplow/tp2");
        urls.put("pixel", base + "/s/" + c.id() + "/i");
        if (c.appId() != null) {
          urls.put("collector_by_app_id", base);
          urls.put("tp2_by_app_id", base + "/com.snowplowanalytics.snowplow/tp2");
          urls.put("pixel_by_app_id", base + "/i");
        }
      }
      case connector, datasync, kafka, kinesis -> {}
    }
  }

  /**
   * A connector connection's {@code connector} ({@code {jar, class, configuration}}) and {@code
   * columns}, validated (the jar uploaded, the class one of its connectors), every configuration
   * value sealed; on a PATCH a masked value keeps the stored one and an absent part keeps its
   * value.
   */
  private weir.persistence.registry.ConnectorSource connectorSource(
      ObjectNode body, weir.persistence.registry.ConnectorSource stored) throws BadRequest {
    JsonNode spec = body.get("connector");
    if (stored == null && (spec == null || !spec.isObject()))
      throw new BadRequest(
          "invalid_field",
          "Field 'connector' is required for a connector connection: {jar: \"<sha256 of an"
              + " uploaded jar>\", class: \"<its SourceConnector class>\", configuration: {...}}.");
    String jar = stored == null ? null : stored.jar();
    String className = stored == null ? null : stored.className();
    Map<String, String> configuration = stored == null ? Map.of() : stored.configuration();
    if (spec != null && !spec.isNull()) {
      if (!spec.isObject())
        throw new BadRequest("invalid_field", "Field 'connector' must be an object.");
      for (Iterator<String> it = spec.fieldNames(); it.hasNext(); ) {
        String f = it.next();
        if (!Set.of("jar", "class", "configuration").contains(f))
          throw new BadRequest(
              "unknown_field",
              "Field 'connector."
                  + f
                  + "' is not part of a connector (jar, class, configuration).");
      }
      if (spec.has("jar")) jar = spec.get("jar").asText();
      if (spec.has("class")) className = spec.get("class").asText();
      if (jar == null || !jar.matches("[0-9a-f]{64}"))
        throw new BadRequest(
            "invalid_field",
            "Field 'connector.jar' must be the id (sha256) of an uploaded jar"
                + " (POST /v1/admin/connectors).");
      if (className == null || className.isBlank())
        throw new BadRequest("invalid_field", "Field 'connector.class' is required.");
      JsonNode conf = spec.get("configuration");
      if (conf != null && !conf.isNull()) {
        if (!conf.isObject())
          throw new BadRequest(
              "invalid_field", "Field 'connector.configuration' must be an object of strings.");
        Map<String, String> next = new java.util.LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = conf.fields(); it.hasNext(); ) {
          Map.Entry<String, JsonNode> e = it.next();
          if (!e.getValue().isTextual())
            throw new BadRequest(
                "invalid_field",
                "Field 'connector.configuration." + e.getKey() + "' must be a string.");
          String v = e.getValue().asText();
          if (DestinationTypes.MASK.equals(v) && configuration.containsKey(e.getKey()))
            next.put(e.getKey(), configuration.get(e.getKey()));
          else next.put(e.getKey(), secrets.seal(v));
        }
        configuration = next;
      }
      String jarId = jar;
      String cls = className;
      List<weir.persistence.connectors.ConnectorJars.Jar> uploaded;
      try {
        uploaded = jars.list();
      } catch (java.sql.SQLException e) {
        throw new BadRequest(503, "unavailable", "The connector jars cannot be read now; retry.");
      }
      var found = uploaded.stream().filter(j -> j.id().equals(jarId)).findFirst();
      if (found.isEmpty())
        throw new BadRequest(
            "invalid_field", "Field 'connector.jar': no uploaded jar has id " + jarId + ".");
      if (!found.get().classes().contains(cls))
        throw new BadRequest(
            "invalid_field",
            "Field 'connector.class': "
                + cls
                + " is not a connector of jar "
                + jarId
                + "; it has "
                + found.get().classes()
                + ".");
    }
    Map<String, weir.protocol.connector.ColumnPolicy> columns =
        stored == null ? Map.of() : stored.columns();
    JsonNode cols = body.get("columns");
    if (cols != null && !cols.isNull()) {
      if (!cols.isObject())
        throw new BadRequest(
            "invalid_field",
            "Field 'columns' must be an object: {\"<table>.<column>\": {\"enabled\": false} or"
                + " {\"hashed\": true}}.");
      Map<String, weir.protocol.connector.ColumnPolicy> next = new TreeMap<>();
      for (Iterator<Map.Entry<String, JsonNode>> it = cols.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        JsonNode p = e.getValue();
        boolean onlyKnown = true;
        for (Iterator<String> f = p.fieldNames(); f.hasNext(); )
          onlyKnown &= Set.of("enabled", "hashed").contains(f.next());
        if (!e.getKey().matches("[a-z_][a-z0-9_]*\\.[a-z_][a-z0-9_]*")
            || !p.isObject()
            || p.isEmpty()
            || !onlyKnown
            || (p.has("enabled") && !p.get("enabled").isBoolean())
            || (p.has("hashed") && !p.get("hashed").isBoolean()))
          throw new BadRequest(
              "invalid_field",
              "Field 'columns."
                  + e.getKey()
                  + "': keys are <table>.<column> (warehouse names),"
                  + " values {\"enabled\": false} or {\"hashed\": true}.");
        next.put(
            e.getKey(),
            weir.protocol.connector.ColumnPolicy.of(
                p.has("enabled") ? p.get("enabled").asBoolean() : null,
                p.has("hashed") ? p.get("hashed").asBoolean() : null));
      }
      columns = next;
    }
    String salt =
        stored != null
            ? stored.salt()
            : secrets.seal(
                java.util.Base64.getEncoder()
                    .encodeToString(new java.security.SecureRandom().generateSeed(32)));
    return new weir.persistence.registry.ConnectorSource(
        jar, className, configuration, columns, salt, stored == null ? Map.of() : stored.tables());
  }

  private static final String SOURCE_KINDS =
      "Field 'source' applies to datasync, kafka and kinesis connections only.";

  private static final Set<String> KAFKA_FIELDS =
      Set.of("bootstrap_servers", "topics", "group_id", "start", "format", "security");
  private static final Set<String> KAFKA_SECURITY =
      Set.of("protocol", "sasl_mechanism", "username", "password", "truststore");

  /** A few CA certificates fit many times over; a whole public bundle does not belong here. */
  private static final int MAX_TRUSTSTORE_CHARS = 64 * 1024;

  /**
   * The {@code source} of a kafka connection, validated and flattened for the registry ({@code
   * topics} comma-joined, {@code security.*}, the password sealed); on a PATCH an absent field
   * keeps its value, a masked password the stored one, and {@code "truststore": null} removes the
   * stored certificates.
   */
  private Map<String, String> kafkaSource(ObjectNode body, Map<String, String> stored)
      throws BadRequest {
    JsonNode src = body.get("source");
    if (src == null || !src.isObject())
      throw new BadRequest(
          "invalid_field",
          "Field 'source' is required for a kafka connection: {bootstrap_servers, topics, group_id?,"
              + " start?: earliest|latest, format: json|segment|snowplow, security?}.");
    Map<String, String> out = new java.util.LinkedHashMap<>(stored);
    for (Iterator<String> it = src.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!KAFKA_FIELDS.contains(f))
        throw new BadRequest(
            "unknown_field",
            "Field 'source."
                + f
                + "' is not part of a kafka source ("
                + String.join(", ", new java.util.TreeSet<>(KAFKA_FIELDS))
                + ").");
    }
    if (src.has("bootstrap_servers")) {
      String servers = src.get("bootstrap_servers").asText("").strip();
      if (!servers.matches("[A-Za-z0-9.\\-_\\[\\]:]+(,[A-Za-z0-9.\\-_\\[\\]:]+)*"))
        throw new BadRequest(
            "invalid_field", "Field 'source.bootstrap_servers' must be host:port[,host:port...].");
      out.put("bootstrap_servers", servers);
    }
    if (src.has("topics")) {
      JsonNode t = src.get("topics");
      List<String> topics = new ArrayList<>();
      if (t.isArray()) t.forEach(n -> topics.add(n.asText("")));
      else topics.add(t.asText(""));
      if (topics.isEmpty() || topics.stream().anyMatch(x -> !x.matches("[A-Za-z0-9._\\-]{1,249}")))
        throw new BadRequest(
            "invalid_field", "Field 'source.topics' must be a non-empty array of topic names.");
      out.put("topics", String.join(",", topics));
    }
    if (src.has("group_id")) out.put("group_id", src.get("group_id").asText(""));
    if (src.has("start")) {
      String start = src.get("start").asText("");
      if (!Set.of("earliest", "latest").contains(start))
        throw new BadRequest("invalid_field", "Field 'source.start' must be earliest or latest.");
      out.put("start", start);
    }
    if (src.has("format")) {
      String format = src.get("format").asText("");
      if (!Set.of("json", "segment", "snowplow").contains(format))
        throw new BadRequest(
            "invalid_field", "Field 'source.format' must be json, segment or snowplow.");
      out.put("format", format);
    }
    JsonNode sec = src.get("security");
    if (sec != null && !sec.isNull()) {
      if (!sec.isObject())
        throw new BadRequest("invalid_field", "Field 'source.security' must be an object.");
      for (Iterator<String> it = sec.fieldNames(); it.hasNext(); ) {
        String f = it.next();
        if (!KAFKA_SECURITY.contains(f))
          throw new BadRequest(
              "unknown_field",
              "Field 'source.security."
                  + f
                  + "' is not part of a kafka security object"
                  + " (protocol, sasl_mechanism, username, password, truststore).");
      }
      // A PATCH that leaves out the protocol or mechanism keeps the stored ones.
      String protocol =
          sec.path("protocol").asText(stored.getOrDefault("security.protocol", "PLAINTEXT"));
      if (!Set.of("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL").contains(protocol))
        throw new BadRequest(
            "invalid_field",
            "Field 'source.security.protocol' must be PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL.");
      out.put("security.protocol", protocol);
      if (sec.has("truststore")) {
        JsonNode ts = sec.get("truststore");
        if (ts.isNull()) out.remove("security.truststore");
        else out.put("security.truststore", truststore(ts));
      }
      // A stored truststore too: switching to a plaintext protocol must remove it explicitly.
      if (out.containsKey("security.truststore") && !Set.of("SSL", "SASL_SSL").contains(protocol))
        throw new BadRequest(
            "invalid_field",
            "Field 'source.security.truststore' applies with protocol SSL or SASL_SSL only"
                + " (\"truststore\": null removes a stored one).");
      if (protocol.startsWith("SASL")) {
        String mechanism =
            sec.path("sasl_mechanism")
                .asText(stored.getOrDefault("security.sasl_mechanism", "PLAIN"));
        if (!Set.of("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512").contains(mechanism))
          throw new BadRequest(
              "invalid_field",
              "Field 'source.security.sasl_mechanism' must be PLAIN, SCRAM-SHA-256 or"
                  + " SCRAM-SHA-512.");
        out.put("security.sasl_mechanism", mechanism);
        if (sec.has("username")) out.put("security.username", sec.get("username").asText(""));
        if (sec.has("password")) {
          String password = sec.get("password").asText("");
          if (!DestinationTypes.MASK.equals(password))
            out.put("security.password", secrets.seal(password));
        }
        if (!out.containsKey("security.username") || !out.containsKey("security.password"))
          throw new BadRequest(
              "invalid_field",
              "Fields 'source.security.username' and 'password' are required with SASL.");
      }
    }
    for (String required : List.of("bootstrap_servers", "topics"))
      if (!out.containsKey(required))
        throw new BadRequest("invalid_field", "Field 'source." + required + "' is required.");
    out.putIfAbsent("start", "earliest");
    out.putIfAbsent("format", "json");
    return Map.copyOf(out);
  }

  /**
   * The PEM text of one or more X.509 certificates, as given, once the JDK parsed every {@code
   * BEGIN CERTIFICATE} block of it (the Kafka client reads exactly those blocks).
   */
  private static String truststore(JsonNode ts) throws BadRequest {
    String invalid =
        "Field 'source.security.truststore' must be the PEM text of one or more X.509"
            + " certificates (-----BEGIN CERTIFICATE-----...)";
    String pem = ts.isTextual() ? ts.asText() : "";
    if (pem.length() > MAX_TRUSTSTORE_CHARS)
      throw new BadRequest(
          "invalid_field", invalid + ", at most " + MAX_TRUSTSTORE_CHARS + " characters.");
    int blocks = pem.split("-----BEGIN CERTIFICATE-----", -1).length - 1;
    int parsed;
    try {
      parsed =
          java.security.cert.CertificateFactory.getInstance("X.509")
              .generateCertificates(
                  new java.io.ByteArrayInputStream(
                      pem.getBytes(java.nio.charset.StandardCharsets.UTF_8)))
              .size();
    } catch (java.security.cert.CertificateException e) {
      throw new BadRequest("invalid_field", invalid + ": " + e.getMessage() + ".");
    }
    if (blocks == 0 || parsed != blocks) throw new BadRequest("invalid_field", invalid + ".");
    return pem;
  }

  /**
   * Two connections in one consumer group would split its partitions, each loading part of the
   * data: a {@code group_id} belongs to one active kafka connection.
   */
  private Map<String, String> groupNotInUse(Map<String, String> source, String self)
      throws BadRequest {
    String group = source.get("group_id");
    if (group == null || group.isBlank()) return source;
    for (Connection o : directory.connections().values()) {
      if (o.active()
          && o.kind() == ConnectionKind.kafka
          && !o.id().equals(self)
          && group.equals(weir.node.stream.KafkaSources.groupId(o)))
        throw new BadRequest(
            409,
            "group_in_use",
            "Consumer group '"
                + group
                + "' is kafka connection "
                + o.id()
                + "'s; two connections in one group would each load part of the topic.");
    }
    return source;
  }

  /** A stream connection's format decides its tables: it cannot change. */
  private static Map<String, String> sameFormat(
      Map<String, String> before, Map<String, String> after) throws BadRequest {
    if (!before.get("format").equals(after.get("format")))
      throw new BadRequest(
          "immutable_field",
          "Field 'source.format' cannot change (it decides the tables); create another connection.");
    return after;
  }

  private String sealed(String secret) {
    return secret == null || secret.isEmpty() ? null : secrets.seal(secret);
  }

  private static int orDefault(Integer value, int fallback) {
    return value == null ? fallback : value;
  }

  private static long syncIntervalSeconds(ObjectNode body, long fallback) throws BadRequest {
    JsonNode v = body.get("sync_interval_minutes");
    if (v == null || v.isNull()) return fallback;
    if (!v.isNumber() || v.asDouble() <= 0 || v.asDouble() > 10_080) {
      throw new BadRequest(
          "invalid_field",
          "Field 'sync_interval_minutes' must be a number of minutes above 0 "
              + "and at most 10080 (a week).");
    }
    return Math.max(1, Math.round(v.asDouble() * 60));
  }

  private static LocalDate date(ObjectNode body, String field) throws BadRequest {
    String text = text(body, field);
    if (text == null) return null;
    try {
      return LocalDate.parse(text);
    } catch (DateTimeParseException e) {
      throw new BadRequest(
          "invalid_field", "Field '" + field + "' must be a date like 2026-11-21.");
    }
  }

  private static String identifier(ObjectNode body, String field, String fallback)
      throws BadRequest {
    String value = text(body, field);
    if (value == null) return fallback;
    if (!value.matches("[a-z_][a-z0-9_]{0,62}")) {
      throw new BadRequest(
          "invalid_field",
          "Field '"
              + field
              + "' must be a lower-case SQL identifier "
              + "(letters, digits, underscores; at most 63 characters; not starting with a digit).");
    }
    return value;
  }

  /** {@code "My Shop (EU)"} → {@code my_shop_eu}: a schema name safe in every warehouse. */
  static String snakeCase(String name) {
    String s =
        name.trim()
            .replaceAll("([a-z0-9])([A-Z])", "$1_$2")
            .toLowerCase(Locale.ROOT)
            .replaceAll("[^a-z0-9]+", "_")
            .replaceAll("^_+|_+$", "");
    if (s.isEmpty()) s = "weir";
    if (Character.isDigit(s.charAt(0))) s = "_" + s;
    return s.length() > 63 ? s.substring(0, 63) : s;
  }
}
