package weir.node.admin;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import weir.loaders.destination.ConfigSpec;
import weir.loaders.destination.DestinationType;
import weir.loaders.destination.DestinationTypes;
import weir.loaders.destination.StagingType;
import weir.protocol.Json;

/**
 * {@code GET /v1/admin/openapi.json}: the document in {@code weir/openapi.json}, with what depends
 * on the registered destination types filled in from them (never written twice): the {@code type}
 * enumeration of destinations and one schema per type's config ({@code DestinationConfig_<type>})
 * and per staging type ({@code Staging_<type>}); and the fields of {@code connector} connections
 * ({@link #CONNECTOR_SCHEMAS}: their connector, column policies and sync status, referenced from
 * the connection and status schemas), with what their sync and resync do.
 */
final class OpenApiDocument {
  private OpenApiDocument() {}

  static byte[] render(DestinationTypes types) {
    ObjectNode doc;
    try (InputStream in = OpenApiDocument.class.getResourceAsStream("/weir/openapi.json")) {
      if (in == null) throw new IllegalStateException("openapi.json missing from the node jar");
      doc = (ObjectNode) Json.MAPPER.readTree(in);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read openapi.json", e);
    }
    ObjectNode schemas = (ObjectNode) doc.with("components").with("schemas");
    ArrayNode names =
        ((ObjectNode) schemas.at("/DestinationCreate/properties/type")).putArray("enum");
    types.names().forEach(names::add);
    for (String name : types.names()) {
      DestinationType t = types.get(name);
      ObjectNode schema =
          schema(
              t.spec(),
              "Settings of a "
                  + name
                  + " destination"
                  + (t.stagingTypes().isEmpty()
                      ? " (a data lake: it is its own storage)."
                      : "; 'staging': one of "
                          + String.join(
                              ", ", t.stagingTypes().stream().map(s -> "Staging_" + s).toList())
                          + (t.stagingRequired()
                              ? " (required)."
                              : " (default: " + t.stagingTypes().get(0) + ").")));
      if (!t.stagingTypes().isEmpty()) {
        ArrayNode oneOf =
            ((ObjectNode) schema.with("properties")).putObject("staging").putArray("oneOf");
        t.stagingTypes()
            .forEach(s -> oneOf.addObject().put("$ref", "#/components/schemas/Staging_" + s));
      }
      schemas.set("DestinationConfig_" + name, schema);
    }
    for (String name : types.stagingNames()) {
      StagingType st = types.stagingType(name).orElseThrow();
      ObjectNode schema =
          schema(DestinationTypes.stagingSpec(st), "A " + name + " staging object.");
      ((ObjectNode) schema.with("properties"))
          .putObject("type")
          .put("type", "string")
          .putArray("enum")
          .add(name);
      ((ArrayNode) schema.withArray("required")).insert(0, "type");
      schemas.set("Staging_" + name, schema);
    }
    connectorKind(doc, schemas);
    return Json.write(doc).getBytes(StandardCharsets.UTF_8);
  }

  /**
   * The schemas of a {@code connector} connection's fields (what {@code ConnectionRoutes} accepts
   * and answers, and its {@code ConnectorSync} status), as the document describes the other kinds'
   * fields.
   */
  private static final String CONNECTOR_SCHEMAS =
      """
      {
        "ConnectorSource": {
          "type": "object",
          "description": "connector connections only (required for them): the Connector SDK class that reads the source, from an uploaded jar, and its configuration. Connector connections load into duckdb and postgres destinations, with one slot (their operations load in order); the first sync runs when the connection is created, then one every sync_interval_minutes, and POST .../sync runs one now. In a PATCH an absent jar, class or configuration keeps its value.",
          "additionalProperties": false,
          "properties": {
            "jar": {
              "type": "string",
              "pattern": "^[0-9a-f]{64}$",
              "description": "the id (SHA-256) of an uploaded jar (POST /v1/admin/connectors)"
            },
            "class": {
              "type": "string",
              "description": "one of the jar's classes (its 'classes'): a public weir.sdk.SourceConnector with a public no-argument constructor"
            },
            "configuration": {
              "type": "object",
              "additionalProperties": {"type": "string"},
              "description": "what the connector's update() receives as its configuration, string values. Every value is a secret: encrypted at rest, answered as ********. When given, it replaces the whole configuration; a value of ******** keeps the stored one."
            }
          }
        },
        "ConnectorColumns": {
          "type": "object",
          "description": "connector connections only: column policies, keyed <table>.<column> in warehouse names (lower-case, e.g. orders.email). {enabled: false} blocks the column: never journaled, staged or loaded. {hashed: true} loads each value as its salted SHA-256, 64 hex characters (the salt is the connection's). When given, it replaces every policy.",
          "additionalProperties": {
            "type": "object",
            "additionalProperties": false,
            "properties": {
              "enabled": {"type": "boolean"},
              "hashed": {"type": "boolean"}
            }
          }
        },
        "ConnectorSyncStatus": {
          "type": "object",
          "description": "connector connections only: its syncs",
          "properties": {
            "running": {"type": "boolean", "description": "a sync is running"},
            "last_sync_at": {"type": "string", "nullable": true, "format": "date-time", "description": "when the last successful sync ended"},
            "next_sync_at": {"type": "string", "nullable": true, "format": "date-time", "description": "when the next sync (or the retry of a failed one) starts; null while one runs"},
            "last_checkpoint_at": {"type": "string", "nullable": true, "format": "date-time", "description": "when the connector last saved its state: a failed or interrupted sync resumes from there"},
            "state_bytes": {"type": "integer", "description": "size of the connector's saved state (characters of its JSON)"},
            "last_error": {"type": "string", "nullable": true, "description": "why the last sync failed (the connector's message); retried with backoff, at most a sync interval apart"},
            "resync_pending": {"type": "boolean", "description": "a resync is asked for and not done yet"},
            "syncs_total": {"type": "integer", "description": "syncs that succeeded, ever"},
            "tables": {
              "type": "object",
              "description": "operations per table (warehouse names) of the last sync, or of the running one",
              "additionalProperties": {
                "type": "object",
                "properties": {
                  "upserted": {"type": "integer"},
                  "updated": {"type": "integer"},
                  "deleted": {"type": "integer"},
                  "truncated": {"type": "integer"}
                }
              }
            }
          }
        }
      }
      """;

  /**
   * Adds {@link #CONNECTOR_SCHEMAS} and refers to them from the connection's create, patch and view
   * ({@code connector}, {@code columns}) and its status ({@code connector}); says what a connector
   * connection's sync and resync do.
   */
  private static void connectorKind(ObjectNode doc, ObjectNode schemas) {
    ObjectNode added;
    try {
      added = (ObjectNode) Json.MAPPER.readTree(CONNECTOR_SCHEMAS);
    } catch (IOException e) {
      throw new IllegalStateException("the connector schemas are not JSON", e);
    }
    schemas.setAll(added);
    for (String connection : new String[] {"ConnectionCreate", "ConnectionPatch", "Connection"}) {
      ObjectNode properties = (ObjectNode) schemas.with(connection).with("properties");
      properties.putObject("connector").put("$ref", "#/components/schemas/ConnectorSource");
      properties.putObject("columns").put("$ref", "#/components/schemas/ConnectorColumns");
    }
    ((ObjectNode) schemas.with("ConnectionStatus").with("properties"))
        .putObject("connector")
        .put("$ref", "#/components/schemas/ConnectorSyncStatus");
    ObjectNode resync = schemas.with("ResyncRequest");
    resync.put(
        "description",
        "webhook, segment and snowplow connections: the tables (none: every table the archive"
            + " has files for) and UTC days (from, to) to rebuild from the staging archive. A"
            + " datasync connection's resync takes no"
            + " field (it reloads every export still listed). A connector connection's takes only"
            + " 'tables' (warehouse or connector names; none: every table): their saved state is"
            + " dropped and the tables are emptied at the start of the next sync, which starts"
            + " now (after the running one, if any); the answer has no resync id.");
    ((ObjectNode) resync.with("properties").with("tables"))
        .put(
            "description",
            "tables of the connection (empty or absent: all); the only field of a connector"
                + " connection's resync");
    ((ObjectNode) doc.at("/paths/~1v1~1admin~1connections~1{id}~1sync/post"))
        .put(
            "description",
            "webhook, segment and snowplow connections: load their staged batches now. A datasync"
                + " connection: import the exports listed now. A connector connection: run a sync"
                + " of its connector now (asked for while one runs, it starts after it); its rows"
                + " are loaded as soon as it ends.");
  }

  private static ObjectNode schema(ConfigSpec spec, String description) {
    ObjectNode schema =
        Json.MAPPER
            .createObjectNode()
            .put("type", "object")
            .put("description", description)
            .put("additionalProperties", false);
    ObjectNode properties = schema.putObject("properties");
    ArrayNode required = schema.putArray("required");
    for (ConfigSpec.Field f : spec.fields()) {
      ObjectNode p = properties.putObject(f.name());
      switch (f.kind()) {
        case BOOLEAN -> p.put("type", "string").putArray("enum").add("true").add("false");
        case COUNT -> p.put("type", "string").put("pattern", "^[0-9]+$");
        case STRING -> p.put("type", "string");
      }
      p.put(
          "description",
          f.doc() + (f.secret() ? " Secret: encrypted at rest, answered as ********." : ""));
      if (f.secret()) p.put("writeOnly", true);
      if (f.required()) required.add(f.name());
    }
    return schema;
  }
}
