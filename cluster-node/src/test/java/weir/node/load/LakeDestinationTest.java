package weir.node.load;

import static org.assertj.core.api.Assertions.assertThat;
import static weir.node.Eventually.eventually;

import akka.actor.ActorSystem;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import org.apache.avro.file.DataFileStream;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.parquet.avro.AvroParquetReader;
import org.apache.parquet.conf.PlainParquetConfiguration;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.io.LocalInputFile;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import weir.loaders.staging.StagingStore;
import weir.loaders.staging.s3.S3Location;
import weir.loaders.staging.s3.S3StagingStore;
import weir.loaders.testing.S3TestServer;
import weir.node.DuckDbRows;
import weir.node.NodeApi;
import weir.node.TestNodes;
import weir.node.WeirNode;
import weir.protocol.Json;
import weir.protocol.event.CanonicalEvent;
import weir.protocol.event.CanonicalEventAvro;

/**
 * Data-lake and S3-staged destinations through a running node and a real S3-compatible server
 * (S3Mock) in this JVM: an {@code s3} destination gets Hive-partitioned NDJSON.gz, Avro and Parquet
 * files whose contents equal the events sent, each batch listed by a manifest written last; a
 * DuckDB destination staged on S3 loads from there, and a resync from that archive gives the same
 * tables.
 */
class LakeDestinationTest {
  private static final String TOKEN = "lake-test-token";

  @TempDir static Path dir;
  static S3TestServer s3;
  static WeirNode node;
  static ActorSystem reader;

  @BeforeAll
  static void start() throws Exception {
    s3 = S3TestServer.start(dir.resolve("s3"), "lake", "staging");
    node = TestNodes.inProcess(dir.resolve("node"), Map.of("weir.admin.token", TOKEN));
    reader = ActorSystem.create("lake-test-reader");
  }

  @AfterAll
  static void stop() throws Exception {
    node.stop(Duration.ofSeconds(30));
    reader.terminate();
    reader.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    s3.close();
  }

  private static JsonNode admin(String method, String path, String body) throws Exception {
    return new NodeApi(node, TOKEN).admin(method, path, body);
  }

  private static int post(String url, String body, String basicUser) throws Exception {
    return NodeApi.post(url, body, basicUser);
  }

  private static String s3Config(String bucket, String prefix) {
    return "\"bucket\":\""
        + bucket
        + "\",\"prefix\":\""
        + prefix
        + "\",\"region\":\"us-east-1\",\"endpoint\":\""
        + s3.endpoint()
        + "\",\"access_key_id\":\"weir-test\",\"secret_access_key\":\"s3-s3cret-value\"";
  }

  private static StagingStore bucket(String bucket, String prefix) {
    return new S3StagingStore(
        new S3Location(bucket, prefix, "us-east-1", s3.endpoint(), "weir-test", "x"), reader);
  }

  /**
   * Sends {@code n} Order Completed tracks and one identify through the Segment API; returns the
   * message ids.
   */
  private static Set<String> sendTracks(String writeKey, String tag, int n) throws Exception {
    Set<String> ids = new HashSet<>();
    StringBuilder batch = new StringBuilder("{\"batch\":[");
    for (int i = 0; i < n; i++) {
      String id = tag + "-" + i;
      ids.add(id);
      batch
          .append(i == 0 ? "" : ",")
          .append("{\"type\":\"track\",\"userId\":\"u")
          .append(i % 7)
          .append("\",\"messageId\":\"")
          .append(id)
          .append("\",\"event\":\"Order Completed\",\"timestamp\":\"")
          .append("2026-11-2")
          .append(i % 2)
          .append("T10:00:00Z\",\"properties\":{\"revenue\":")
          .append(i)
          .append(".5,\"tag\":\"")
          .append(tag)
          .append("\"}}");
    }
    batch
        .append(",{\"type\":\"identify\",\"userId\":\"u1\",\"messageId\":\"")
        .append(tag)
        .append("-identify\",\"traits\":{\"plan\":\"pro\"}}]}");
    assertThat(
            post("http://127.0.0.1:" + node.ingestPort() + "/v1/batch", batch.toString(), writeKey))
        .isEqualTo(200);
    return ids;
  }

  /** The manifests of a connection, once they list {@code trackRows} rows of the tracks table. */
  private static List<JsonNode> awaitManifests(
      StagingStore lake, String connectionId, long trackRows) {
    AtomicReference<List<JsonNode>> listed = new AtomicReference<>();
    AtomicLong tracks = new AtomicLong();
    eventually(
        Duration.ofSeconds(60),
        () -> {
          admin("POST", "/v1/admin/connections/" + connectionId + "/sync", null);
          List<JsonNode> manifests = new ArrayList<>();
          long t = 0;
          for (String k : lake.list(connectionId + "/_manifests")) {
            try (InputStream in = lake.open(k)) {
              JsonNode m = Json.MAPPER.readTree(in);
              manifests.add(m);
              for (JsonNode f : m.get("files"))
                if (f.get("table").asText().equals("tracks")) t += f.get("rows").asLong();
            }
          }
          listed.set(manifests);
          tracks.set(t);
          // More tracks than sent ends the wait at once and fails below: never retried away.
          assertThat(t).as("manifests list every track").isGreaterThanOrEqualTo(trackRows);
        });
    assertThat(tracks.get()).isEqualTo(trackRows);
    return listed.get();
  }

  @Test
  void anS3DestinationGetsHivePartitionedFilesInEachFormatWithManifests(@TempDir Path downloads)
      throws Exception {
    for (String[] f :
        new String[][] {
          {"ndjson", "gzip", ".ndjson.gz"},
          {"avro", "snappy", ".avro"},
          {"parquet", "snappy", ".parquet"}
        }) {
      String format = f[0];
      JsonNode dest =
          admin(
              "POST",
              "/v1/admin/destinations",
              "{\"name\":\"lake-"
                  + format
                  + "\",\"type\":\"s3\","
                  + "\"config\":{"
                  + s3Config("lake", "events/" + format)
                  + ",\"format\":\""
                  + format
                  + "\",\"compression\":\""
                  + f[1]
                  + "\"}}");
      assertThat(dest.toString()).doesNotContain("s3-s3cret-value");
      JsonNode conn =
          admin(
              "POST",
              "/v1/admin/connections",
              "{\"name\":\"Shop "
                  + format
                  + "\",\"kind\":\"segment\","
                  + "\"destination_id\":\""
                  + dest.get("id").asText()
                  + "\",\"batch_interval_seconds\":1}");
      String connectionId = conn.get("id").asText();
      Set<String> sent = sendTracks(conn.get("write_key").asText(), format, 200);

      StagingStore lake = bucket("lake", "events/" + format);
      List<JsonNode> manifests = awaitManifests(lake, connectionId, sent.size());
      Set<String> trackIds = new HashSet<>();
      long manifestTrackRows = 0;
      for (JsonNode m : manifests) {
        assertThat(m.get("format").asText()).isEqualTo(format);
        for (JsonNode file : m.get("files")) {
          String key = file.get("key").asText();
          assertThat(key)
              .matches(
                  connectionId
                      + "/[a-z_]+/year=\\d{4}/month=\\d{2}/day=\\d{2}/hour=\\d{2}/"
                      + connectionId
                      + "-\\d+-\\d{8}"
                      + f[2].replace(".", "\\."));
          assertThat(lake.list(connectionId + "/" + file.get("table").asText())).contains(key);
          if (!file.get("table").asText().equals("tracks")) continue;
          // Partitioned by the event time (the tracks were sent with timestamps on the 20th and
          // 21st, 10:00).
          assertThat(key).containsPattern("/year=2026/month=11/day=2[01]/hour=10/");
          manifestTrackRows += file.get("rows").asLong();
          Path local = downloads.resolve(format + "-" + trackIds.size() + f[2]);
          try (InputStream in = lake.open(key)) {
            Files.copy(in, local);
          }
          for (CanonicalEvent e : readEvents(format, local)) {
            assertThat(e.event()).isEqualTo("Order Completed");
            assertThat(e.properties().get("tag").asText()).isEqualTo(format);
            assertThat(e.connectionId()).isEqualTo(connectionId);
            assertThat(e.properties().get("revenue").asDouble())
                .isEqualTo(Integer.parseInt(e.eventId().substring(format.length() + 1)) + 0.5);
            trackIds.add(e.eventId());
          }
        }
      }
      assertThat(trackIds)
          .as(format + ": the tracks files hold exactly the events sent")
          .isEqualTo(sent);
      assertThat(manifestTrackRows).isEqualTo(sent.size());
      // Nothing is delivered anywhere else: no warehouse tables appear for a data-lake connection.
      assertThat(lake.list(connectionId + "/users")).isNotEmpty();
    }
  }

  private static List<CanonicalEvent> readEvents(String format, Path file) throws Exception {
    List<CanonicalEvent> out = new ArrayList<>();
    switch (format) {
      case "avro" -> {
        try (DataFileStream<GenericRecord> in =
            new DataFileStream<>(Files.newInputStream(file), new GenericDatumReader<>())) {
          for (GenericRecord r : in) out.add(CanonicalEventAvro.fromRecord(r));
        }
      }
      case "parquet" -> {
        try (ParquetReader<GenericRecord> in =
            AvroParquetReader.<GenericRecord>builder(
                    new LocalInputFile(file), new PlainParquetConfiguration())
                .build()) {
          for (GenericRecord r = in.read(); r != null; r = in.read())
            out.add(CanonicalEventAvro.fromRecord(r));
        }
      }
      default -> {
        try (BufferedReader lines =
            new BufferedReader(
                new InputStreamReader(
                    new GZIPInputStream(Files.newInputStream(file)), StandardCharsets.UTF_8))) {
          for (String line = lines.readLine(); line != null; line = lines.readLine()) {
            JsonNode row = Json.MAPPER.readTree(line);
            out.add(
                new CanonicalEvent(
                    row.get("event_id").asText(),
                    CanonicalEvent.Type.parse(row.get("type").asText()),
                    row.get("event").asText(),
                    null,
                    row.get("user_id").asText(),
                    Instant.parse(row.get("timestamp").asText()),
                    null,
                    Instant.parse(row.get("received_at").asText()),
                    null,
                    (ObjectNode) row.get("context"),
                    (ObjectNode) row.get("properties"),
                    (ObjectNode) row.get("traits"),
                    row.get("connection_id").asText()));
          }
        }
      }
    }
    return out;
  }

  @Test
  void aDuckDbDestinationStagedOnS3LoadsFromThereAndResyncsToTheSameTables() throws Exception {
    Path warehouse = dir.resolve("s3-staged.duckdb");
    JsonNode dest =
        admin(
            "POST",
            "/v1/admin/destinations",
            "{\"name\":\"duck-on-s3\",\"type\":\"duckdb\","
                + "\"config\":{\"path\":\""
                + warehouse
                + "\",\"staging\":{\"type\":\"s3\","
                + s3Config("staging", "weir")
                + "}}}");
    assertThat(dest.toString()).doesNotContain("s3-s3cret-value");
    JsonNode conn =
        admin(
            "POST",
            "/v1/admin/connections",
            "{\"name\":\"Staged App\",\"kind\":\"segment\","
                + "\"destination_id\":\""
                + dest.get("id").asText()
                + "\",\"batch_interval_seconds\":1}");
    String id = conn.get("id").asText();
    Set<String> sent = sendTracks(conn.get("write_key").asText(), "duck", 300);
    sent.addAll(sendTracks(conn.get("write_key").asText(), "more", 50));

    syncUntil(
        id,
        "tracks loaded from S3 staging",
        () -> count(warehouse, "SELECT count(*) FROM staged_app.tracks") >= sent.size());
    List<String> original =
        rows(
            warehouse,
            "SELECT event_id, event, revenue FROM staged_app.order_completed ORDER BY 1");
    assertThat(original).hasSize(sent.size());
    assertThat(count(warehouse, "SELECT count(DISTINCT event_id) FROM staged_app.tracks"))
        .isEqualTo(sent.size());
    assertThat(count(warehouse, "SELECT count(*) FROM staged_app.users")).isEqualTo(1);
    StagingStore staging = bucket("staging", "weir");
    assertThat(staging.list(id + "/tracks")).isNotEmpty().allMatch(k -> k.endsWith(".ndjson.gz"));

    // The resync drops and reloads every table in one transaction: done when every row has a new
    // loaded_at.
    Instant resyncAt = Instant.now();
    // A fixed wait, not polling: the clock moves on past resyncAt, so every row the resync writes
    // has a loaded_at strictly after it.
    Thread.sleep(10);
    admin("POST", "/v1/admin/connections/" + id + "/resync", "{}");
    eventually(
        Duration.ofSeconds(60),
        () ->
            assertThat(
                    count(
                        warehouse,
                        "SELECT count(*) FROM staged_app.tracks WHERE loaded_at > TIMESTAMPTZ '"
                            + resyncAt
                            + "'"))
                .as("resync done")
                .isEqualTo(sent.size()));
    assertThat(
            rows(
                warehouse,
                "SELECT event_id, event, revenue FROM staged_app.order_completed ORDER BY 1"))
        .isEqualTo(original);
  }

  @Test
  void whileS3IsDownEventsWaitInTheBuffersWithTheErrorInStatusAndArriveWhenItIsBack(
      @TempDir Path own) throws Exception {
    try (S3TestServer flaky = S3TestServer.start(own.resolve("s3"), "flaky")) {
      JsonNode dest =
          admin(
              "POST",
              "/v1/admin/destinations",
              "{\"name\":\"flaky-lake\",\"type\":\"s3\",\"config\":{"
                  + "\"bucket\":\"flaky\",\"region\":\"us-east-1\",\"endpoint\":\""
                  + flaky.endpoint()
                  + "\","
                  + "\"access_key_id\":\"k\",\"secret_access_key\":\"s3-s3cret-value\"}}");
      JsonNode conn =
          admin(
              "POST",
              "/v1/admin/connections",
              "{\"name\":\"Outage\",\"kind\":\"segment\","
                  + "\"destination_id\":\""
                  + dest.get("id").asText()
                  + "\",\"batch_interval_seconds\":1}");
      String id = conn.get("id").asText();
      flaky.stop();
      Set<String> sent = sendTracks(conn.get("write_key").asText(), "outage", 100);

      AtomicReference<JsonNode> last = new AtomicReference<>();
      eventually(
          Duration.ofSeconds(60),
          () -> {
            last.set(admin("GET", "/v1/admin/connections/" + id + "/status", null));
            assertThat(last.get().path("last_error").asText())
                .as("status shows the storage error")
                .contains("flush failed");
          });
      JsonNode status = last.get();
      assertThat(status.get("buffered_events").asLong())
          .as("the events wait in the buffers")
          .isGreaterThan(0);
      assertThat(status.toString()).doesNotContain("s3-s3cret-value");

      flaky.restart();
      StagingStore lake =
          new S3StagingStore(
              new S3Location("flaky", "", "us-east-1", flaky.endpoint(), "k", "x"), reader);
      awaitManifests(lake, id, sent.size());
      assertThat(
              admin("GET", "/v1/admin/connections/" + id + "/status", null)
                  .get("buffered_events")
                  .asLong())
          .isZero();
    }
  }

  @Test
  void stagedFilesAreDeletedOnceLoadedWhenRetentionIsZero() throws Exception {
    Path warehouse = dir.resolve("retention.duckdb");
    Path stagingDir = dir.resolve("retention-staging");
    JsonNode conn = webhookOnDuckDb("Short Lived", warehouse, stagingDir, 0);
    for (int i = 0; i < 10; i++) {
      assertThat(post(conn.at("/urls/webhook").asText(), "{\"n\":" + i + "}", null)).isEqualTo(200);
    }
    syncUntil(
        conn.get("id").asText(),
        "all 10 events loaded",
        () -> count(warehouse, "SELECT count(*) FROM short_lived.events") >= 10);
    try (var files = Files.walk(stagingDir)) {
      assertThat(files.filter(Files::isRegularFile).toList())
          .as("staged files after the load")
          .isEmpty();
    }
  }

  @Test
  void stagedFilesOfBatchesLoadedLongerAgoThanTheRetentionAreDeletedAfterALoadAndNewerOnesKept()
      throws Exception {
    Path warehouse = dir.resolve("retention-days.duckdb");
    Path stagingDir = dir.resolve("retention-days-staging");
    JsonNode conn = webhookOnDuckDb("Kept A Month", warehouse, stagingDir, 30);
    String id = conn.get("id").asText();
    // An archived file from 2020, of a batch the warehouse recorded as loaded in 2020 (slot 9: an
    // id no batch of
    // this run takes).
    Path old = archived(stagingDir, id, "events", "2020", id + "-9-00000001");
    recordLoaded(warehouse, "kept_a_month", id + "-9-00000001", "2020-01-02T00:00:00Z");
    assertThat(post(conn.at("/urls/webhook").asText(), "{\"n\":1}", null)).isEqualTo(200);
    syncUntil(
        id,
        "loaded and the old file swept",
        () ->
            count(warehouse, "SELECT count(*) FROM kept_a_month.events") >= 1
                && !Files.exists(old));
    try (var files = Files.walk(stagingDir.resolve(id))) {
      assertThat(files.filter(Files::isRegularFile).toList())
          .as("this month's staged file is kept")
          .hasSize(1);
    }
  }

  @Test
  void retentionNeverDeletesFilesOfBatchesNotLoadedWhateverTheirEventTime() throws Exception {
    Path warehouse = dir.resolve("backfill.duckdb");
    Path stagingDir = dir.resolve("backfill-staging");
    JsonNode dest =
        admin(
            "POST",
            "/v1/admin/destinations",
            "{\"name\":\"backfill warehouse\",\"type\":\"duckdb\","
                + "\"config\":{\"path\":\""
                + warehouse
                + "\",\"staging\":{\"type\":\"filesystem\",\"path\":\""
                + stagingDir
                + "\",\"retention_days\":7}}}");
    JsonNode conn =
        admin(
            "POST",
            "/v1/admin/connections",
            "{\"name\":\"Backfill\",\"kind\":\"segment\","
                + "\"destination_id\":\""
                + dest.get("id").asText()
                + "\",\"batch_size\":40,\"batch_interval_seconds\":1}");
    String id = conn.get("id").asText();
    // From an earlier run: a 2020 file whose batch was loaded in 2020 (swept), one whose batch
    // never was (kept).
    Path sweptFile = archived(stagingDir, id, "tracks", "2020", id + "-9-00000001");
    Path unloadedFile = archived(stagingDir, id, "tracks", "2020", id + "-9-00000002");
    recordLoaded(warehouse, "backfill", id + "-9-00000001", "2020-01-02T00:00:00Z");

    // A backfill through /v1/import: events 20 days old, while batches keep being staged and
    // loaded.
    LocalDate day = LocalDate.now(ZoneOffset.UTC).minusDays(20);
    Set<String> sent = new HashSet<>();
    for (int request = 0; request < 6; request++) {
      StringBuilder batch = new StringBuilder("{\"batch\":[");
      for (int i = 0; i < 50; i++) {
        String mid = "bf-" + request + "-" + i;
        sent.add(mid);
        batch
            .append(i == 0 ? "" : ",")
            .append("{\"type\":\"track\",\"userId\":\"u\",\"messageId\":\"")
            .append(mid)
            .append("\",\"event\":\"Imported\",\"timestamp\":\"")
            .append(day)
            .append("T1")
            .append(i % 10)
            .append(":00:00Z\"}");
      }
      assertThat(
              post(
                  "http://127.0.0.1:" + node.ingestPort() + "/v1/import",
                  batch.append("]}").toString(),
                  conn.get("write_key").asText()))
          .isEqualTo(200);
      admin("POST", "/v1/admin/connections/" + id + "/sync", null);
    }
    syncUntil(
        id,
        "every imported event loaded",
        () ->
            count(warehouse, "SELECT count(DISTINCT event_id) FROM backfill.tracks")
                >= sent.size());
    // The sweep runs after a load. This test's own reads of the warehouse file can collide with it
    // (one process attaches a DuckDB file once at a time), and a failed sweep is retried with the
    // next load: one more event makes one while the file is there (and the file alone is watched).
    AtomicInteger more = new AtomicInteger();
    eventually(
        Duration.ofSeconds(60),
        () -> {
          if (Files.exists(sweptFile)) {
            String mid = "bf-more-" + more.incrementAndGet();
            sent.add(mid);
            post(
                "http://127.0.0.1:" + node.ingestPort() + "/v1/import",
                "{\"batch\":[{\"type\":\"track\",\"userId\":\"u\",\"messageId\":\""
                    + mid
                    + "\",\"event\":\"Imported\",\"timestamp\":\""
                    + day
                    + "T10:00:00Z\"}]}",
                conn.get("write_key").asText());
            admin("POST", "/v1/admin/connections/" + id + "/sync", null);
            Thread.sleep(2_000); // pacing: a load, then its sweep
          }
          assertThat(sweptFile).as("the loaded 2020 batch swept").doesNotExist();
        });
    syncUntil(
        id,
        "every event loaded",
        () ->
            count(warehouse, "SELECT count(DISTINCT event_id) FROM backfill.tracks")
                >= sent.size());
    assertThat(count(warehouse, "SELECT count(*) FROM backfill.tracks")).isEqualTo(sent.size());
    assertThat(unloadedFile)
        .as("a batch the ledger does not record as loaded is never deleted")
        .exists();
    try (var files =
        Files.walk(stagingDir.resolve(id).resolve("tracks").resolve("year=" + day.getYear()))) {
      assertThat(files.filter(Files::isRegularFile).toList())
          .as("20-day-old events, loaded just now: kept")
          .isNotEmpty();
    }
    assertThat(
            admin("GET", "/v1/admin/connections/" + id + "/status", null)
                .get("last_error")
                .isNull())
        .isTrue();
  }

  /** An archived staged file of {@code batchId} in an hour partition of {@code year}. */
  private static Path archived(
      Path stagingDir, String connectionId, String table, String year, String batchId)
      throws Exception {
    Path file =
        stagingDir.resolve(
            connectionId
                + "/"
                + table
                + "/year="
                + year
                + "/month=01/day=01/hour=00/"
                + batchId
                + ".ndjson.gz");
    Files.createDirectories(file.getParent());
    try (var out = new GZIPOutputStream(Files.newOutputStream(file))) {
      out.write(new byte[0]);
    }
    return file;
  }

  /** Records {@code batchId} in the warehouse's {@code _weir_loads} as loaded at {@code at}. */
  private static void recordLoaded(Path warehouse, String schema, String batchId, String at)
      throws Exception {
    try (Connection c = DriverManager.getConnection("jdbc:duckdb:");
        Statement s = c.createStatement()) {
      s.execute("ATTACH '" + warehouse + "' AS wh");
      s.execute("USE wh");
      s.execute("CREATE SCHEMA IF NOT EXISTS " + schema);
      s.execute(
          "CREATE TABLE IF NOT EXISTS "
              + schema
              + "._weir_loads (batch_id VARCHAR PRIMARY KEY, "
              + "loaded_at TIMESTAMPTZ NOT NULL, row_count BIGINT NOT NULL)");
      s.execute(
          "INSERT INTO "
              + schema
              + "._weir_loads VALUES ('"
              + batchId
              + "', TIMESTAMPTZ '"
              + at
              + "', 0)");
    }
  }

  /**
   * A webhook connection on a new DuckDB destination with filesystem staging kept {@code
   * retentionDays}.
   */
  private static JsonNode webhookOnDuckDb(
      String name, Path warehouse, Path stagingDir, int retentionDays) throws Exception {
    JsonNode dest =
        admin(
            "POST",
            "/v1/admin/destinations",
            "{\"name\":\""
                + name
                + " warehouse\",\"type\":\"duckdb\","
                + "\"config\":{\"path\":\""
                + warehouse
                + "\",\"staging\":{\"type\":\"filesystem\",\"path\":\""
                + stagingDir
                + "\",\"retention_days\":"
                + retentionDays
                + "}}}");
    return admin(
        "POST",
        "/v1/admin/connections",
        "{\"name\":\""
            + name
            + "\",\"kind\":\"webhook\","
            + "\"destination_id\":\""
            + dest.get("id").asText()
            + "\",\"batch_interval_seconds\":1}");
  }

  /** A condition polled by {@link #syncUntil}. */
  private interface Condition {
    boolean holds() throws Exception;
  }

  /**
   * Requests a sync of the connection until {@code done} holds; fails after 60 s saying {@code
   * what}.
   */
  private static void syncUntil(String connectionId, String what, Condition done) {
    eventually(
        Duration.ofSeconds(60),
        () -> {
          boolean holds = done.holds();
          if (!holds) admin("POST", "/v1/admin/connections/" + connectionId + "/sync", null);
          assertThat(holds).as(what).isTrue();
        });
  }

  private static long count(Path warehouse, String sql) throws Exception {
    List<String> r = rows(warehouse, sql);
    return r.isEmpty() ? 0 : Long.parseLong(r.get(0));
  }

  /** Rows as "a|b|c" strings; a warehouse or table not created yet reads as no rows. */
  private static List<String> rows(Path warehouse, String sql) throws Exception {
    if (!Files.exists(warehouse)) return List.of();
    try {
      return DuckDbRows.query(warehouse, sql);
    } catch (SQLException notYet) {
      return List.of();
    }
  }
}
