package weir.loaders.datasync;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import weir.loaders.staging.StagingStore;
import weir.protocol.Json;
import weir.protocol.datasync.BillOfMaterials;
import weir.protocol.datasync.DataSyncSchemas;
import weir.protocol.datasync.ExportManifest;
import weir.protocol.datasync.PageRule;
import weir.protocol.event.Timestamps;

/**
 * Writes one Data Sync export of a connection (DESIGN.md, "Data Sync"; Pendo's layout) from its
 * staging archive into a data-lake store: under {@code <folder>} ({@code
 * datasync/<workspace>/<connection>/}) the export's own folder {@code <export-uuid>/} with {@code
 * allevents.avro}, {@code matchedEvents/Page/<id>.avro}, {@code matchedEvents/TrackType/<id>.avro},
 * the four definition files and {@code billofmaterials.json}; then {@link #publish} lists it in
 * {@code exportmanifest.json}. The manifest is rewritten only after every file of the export is
 * complete, so a reader never sees a partial export.
 *
 * <p>The archive is read per UTC day (the day partitions of the staged files are the events' day:
 * event time for tracking connections, arrival time for webhooks); an event staged twice (a flush
 * retried after a crash) is exported once. Files of an export that covers several days carry the
 * day in their name ({@code allevents_2026-11-20.avro}); one over the size cap is split ({@code
 * _1}, {@code _2}). Pages are the connection's {@code page_rules} matched on the URL of page
 * events; track types are the distinct names of track events, with stable ids (a hash of the name).
 * Features and guides have no source in Weir: their definition files are written empty, with their
 * schema.
 *
 * <p>Idempotent: writing the same export id again replaces its files; {@link #publish} of an export
 * already listed keeps its counter. Blocking; one export per instance at a time.
 */
public final class ExportWriter {
  public static final String ALL_EVENTS = "allevents";
  public static final String PAGES = "allpages.avro";
  public static final String FEATURES = "allfeatures.avro";
  public static final String TRACK_TYPES = "alltracktypes.avro";
  public static final String GUIDES = "allguides.avro";

  /** Tables of a tracking connection's archive that hold its events (one row per event). */
  public static final List<String> EVENT_TABLES =
      List.of("tracks", "pages", "screens", "identifies", "groups", "aliases");

  /**
   * What is exported.
   *
   * @param connectionId the connection (the archive's first path segment)
   * @param connectionName its name (the application's display name)
   * @param tables the archive tables that hold its events ({@link #EVENT_TABLES}, or a webhook
   *     connection's one table)
   * @param webhook whether rows are webhook rows ({@code event_id, received_at, data}) rather than
   *     canonical events
   */
  public record Source(
      String connectionId, String connectionName, List<String> tables, boolean webhook) {}

  /**
   * One export to write.
   *
   * @param exportId the export's folder name (a UUID)
   * @param periods the UTC days, in order
   * @param exportType null, {@link ExportManifest#RETROACTIVE} or {@link ExportManifest#TEST}
   * @param pageRules the connection's pages
   * @param retroactivePages for a retroactive export, the ids of the pages whose events it replaces
   *     (pages no longer in {@code pageRules} are listed with no files: their events are deleted);
   *     null for any other export
   */
  public record Plan(
      String exportId,
      List<LocalDate> periods,
      List<String> exportType,
      List<PageRule> pageRules,
      Set<String> retroactivePages) {
    public Plan {
      periods = List.copyOf(periods);
      pageRules = List.copyOf(pageRules);
      retroactivePages = retroactivePages == null ? null : Set.copyOf(retroactivePages);
    }

    boolean retroactive() {
      return retroactivePages != null;
    }
  }

  /** A written export, not listed yet: its bill, size and location. */
  public record Written(String exportId, BillOfMaterials bill, long storageSize, String rootUrl) {}

  private final StagingStore archive;
  private final StagingStore target;
  private final String folder;
  private final String workspace;
  private final Path scratch;
  private final long maxFileBytes;

  /**
   * @param archive the staging store of the connection's destination (its archive)
   * @param target the data lake the export goes to
   * @param folder the application folder in {@code target}, ending in {@code /}
   * @param workspace the workspace id (the bill's subscription)
   * @param scratch a local directory for files being written
   * @param maxFileBytes size at which an Avro file is split
   */
  public ExportWriter(
      StagingStore archive,
      StagingStore target,
      String folder,
      String workspace,
      Path scratch,
      long maxFileBytes) {
    if (!folder.endsWith("/")) throw new IllegalArgumentException("folder must end in /");
    this.archive = archive;
    this.target = target;
    this.folder = folder;
    this.workspace = workspace;
    this.scratch = scratch;
    this.maxFileBytes = maxFileBytes;
  }

  /** The application folder of a connection: {@code datasync/<workspace>/<connection>/}. */
  public static String folderOf(String workspace, String connectionId) {
    return "datasync/" + workspace + "/" + connectionId + "/";
  }

  /** The stable id of a track type: 16 hex digits of the SHA-256 of its name. */
  public static String trackTypeId(String name) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(name.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(d, 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** How many events of a matchable the export saw, and when. */
  private static final class Seen {
    final String name;
    long count;
    long first = Long.MAX_VALUE;
    long last = Long.MIN_VALUE;

    Seen(String name) {
      this.name = name;
    }

    void add(long t) {
      count++;
      seen(t, t);
    }

    void seen(long from, long to) {
      first = Math.min(first, from);
      last = Math.max(last, to);
    }
  }

  /**
   * Adds what the folder's latest listed export defined: its track types (with no events in this
   * export unless seen again) and the first and last time each page and track type was seen. An
   * unreadable earlier file is skipped (its definitions come back when their events do).
   */
  private void mergePrevious(Map<String, Seen> pages, Map<String, Seen> trackTypes)
      throws IOException {
    ExportManifest manifest = readManifest();
    if (manifest.exports().isEmpty()) return;
    ExportManifest.Entry last = manifest.exports().get(manifest.exports().size() - 1);
    String root = folder + last.folder() + "/";
    for (String f : last.bill().trackTypeDefinitionsFile()) {
      for (GenericRecord r : readDefinitions(root + f)) {
        String id = String.valueOf(r.get("id"));
        Seen seen = trackTypes.computeIfAbsent(id, k -> new Seen(String.valueOf(r.get("name"))));
        seenFrom(seen, r);
      }
    }
    for (String f : last.bill().pageDefinitionsFile()) {
      for (GenericRecord r : readDefinitions(root + f)) {
        Seen seen = pages.get(String.valueOf(r.get("id")));
        if (seen != null) seenFrom(seen, r);
      }
    }
  }

  private static void seenFrom(Seen seen, GenericRecord r) {
    if (r.get("firstSeen") instanceof Long first && r.get("lastSeen") instanceof Long last)
      seen.seen(first, last);
  }

  private List<GenericRecord> readDefinitions(String key) {
    List<GenericRecord> out = new ArrayList<>();
    try (InputStream in = target.open(key);
        org.apache.avro.file.DataFileStream<GenericRecord> r =
            new org.apache.avro.file.DataFileStream<>(
                in, new org.apache.avro.generic.GenericDatumReader<>())) {
      r.forEach(out::add);
    } catch (IOException | RuntimeException e) {
      return List.of();
    }
    return out;
  }

  /**
   * Writes every file of the export and its bill of materials; {@code progress} hears each day done
   * ({@code "2026-11-20: 1234 events"}).
   */
  public Written write(Source source, Plan plan, Consumer<String> progress) throws IOException {
    Files.createDirectories(scratch);
    String root = folder + plan.exportId() + "/";
    boolean dayInNames = plan.periods().size() > 1;
    Map<String, BillOfMaterials.FileDetails> details = new TreeMap<>();
    List<BillOfMaterials.Period> periods = new ArrayList<>();
    Map<String, Seen> pages = new LinkedHashMap<>();
    for (PageRule r : plan.pageRules()) pages.put(r.id(), new Seen(r.name()));
    Map<String, Seen> trackTypes = new TreeMap<>();
    long[] size = {0};
    int[] files = {0};
    for (LocalDate day : plan.periods()) {
      String suffix = dayInNames ? "_" + day : "";
      Map<String, AvroSpool> matched = new LinkedHashMap<>();
      try (AvroSpool all =
          new AvroSpool(scratch, ALL_EVENTS + suffix, DataSyncSchemas.EVENT, maxFileBytes)) {
        long events =
            readDay(
                source,
                day,
                event -> {
                  if (!plan.retroactive()) all.write(event);
                  long t = (Long) event.get("browserTimestamp");
                  String type = (String) event.get("eventType");
                  if ("page".equals(type)) {
                    for (PageRule r : plan.pageRules()) {
                      if (!r.matches((String) event.get("url"))) continue;
                      pages.get(r.id()).add(t);
                      if (plan.retroactive() && !plan.retroactivePages().contains(r.id())) continue;
                      spool(matched, "Page/" + r.id(), suffix).write(matchedRecord(event, r.id()));
                    }
                  } else if ("track".equals(type)) {
                    String name = (String) event.get("eventName");
                    if (name != null) {
                      String id = trackTypeId(name);
                      trackTypes.computeIfAbsent(id, k -> new Seen(name)).add(t);
                      // A retroactive export replaces pages only; its definition files are
                      // complete.
                      if (!plan.retroactive())
                        spool(matched, "TrackType/" + id, suffix).write(matchedRecord(event, id));
                    }
                  }
                });
        BillOfMaterials.EventFiles allEvents = null;
        if (!plan.retroactive()) {
          allEvents =
              new BillOfMaterials.EventFiles(
                  all.rows(), names(all.publish(target, root, false), details, size, files));
        }
        List<BillOfMaterials.Matched> matches = new ArrayList<>();
        // Every page is listed for the day, with no files when none of its events fell on it, so
        // that a loader deletes what an earlier export of the day had (a finalized day, a changed
        // rule).
        Set<String> listedPages = new java.util.LinkedHashSet<>();
        for (PageRule r : plan.pageRules()) {
          if (!plan.retroactive() || plan.retroactivePages().contains(r.id()))
            listedPages.add(r.id());
        }
        if (plan.retroactive()) listedPages.addAll(plan.retroactivePages());
        for (String id : listedPages) {
          matches.add(
              matchedEntry(matched.remove("Page/" + id), "Page", id, root, details, size, files));
        }
        for (Map.Entry<String, AvroSpool> e : new ArrayList<>(matched.entrySet())) {
          String id = e.getKey().substring("TrackType/".length());
          matches.add(matchedEntry(e.getValue(), "TrackType", id, root, details, size, files));
        }
        periods.add(new BillOfMaterials.Period(day + "T00:00:00Z", allEvents, matches));
        progress.accept(day + ": " + events + " events");
      } finally {
        matched.values().forEach(AvroSpool::close);
        openSpools.clear();
      }
    }
    // A loader replaces its definition tables with these files: they list every track type the
    // folder's exports have seen, not only this export's.
    mergePrevious(pages, trackTypes);
    List<String> pageFile = definitions(PAGES, root, details, size, files, pagesRows(plan, pages));
    List<String> trackFile =
        definitions(TRACK_TYPES, root, details, size, files, trackRows(trackTypes));
    List<String> featureFile = definitions(FEATURES, root, details, size, files, List.of());
    List<String> guideFile = definitions(GUIDES, root, details, size, files, List.of());
    BillOfMaterials bill =
        new BillOfMaterials(
            Instant.now().toString(),
            files[0],
            new BillOfMaterials.Named(source.connectionId(), source.connectionName()),
            new BillOfMaterials.Named(workspace, workspace),
            pageFile,
            featureFile,
            trackFile,
            guideFile,
            periods,
            details);
    byte[] json = ExportManifest.billJson(bill);
    try (StagingStore.StagedOutput out = target.create(root + ExportManifest.BILL)) {
      out.stream().write(json);
      size[0] += out.complete();
    }
    String rootUrl = target.describe(folder + plan.exportId());
    return new Written(plan.exportId(), bill, size[0], rootUrl);
  }

  /**
   * Lists a written export in the folder's manifest (exports of the last 30 days), under the next
   * counter after both the manifest's last and {@code lastCounter} (the counter its caller last
   * assigned: a manifest that was lost or edited never makes a counter repeat); an export already
   * listed (a publish repeated after a crash) keeps its counter. Returns the entry.
   */
  public ExportManifest.Entry publish(Written written, List<String> exportType, long lastCounter)
      throws IOException {
    ExportManifest manifest = readManifest();
    String rootUrl = written.rootUrl();
    long counter =
        manifest.exports().stream()
            .filter(e -> e.folder().equals(written.exportId()))
            .mapToLong(ExportManifest.Entry::counter)
            .findFirst()
            .orElse(Math.max(manifest.lastCounter(), lastCounter) + 1);
    Instant now = Instant.now();
    ExportManifest.Entry entry =
        new ExportManifest.Entry(
            written.bill(), exportType, counter, now.toString(), written.storageSize(), rootUrl);
    ExportManifest next = manifest.with(entry, now);
    try (StagingStore.StagedOutput out = target.create(folder + ExportManifest.FILE)) {
      out.stream().write(next.toJson());
      out.complete();
    }
    return entry;
  }

  /** The folder's manifest as it is now (empty when there is none yet). */
  public ExportManifest readManifest() throws IOException {
    String key = folder + ExportManifest.FILE;
    if (!target.exists(key)) return ExportManifest.empty();
    try (InputStream in = target.open(key)) {
      return ExportManifest.parse(in.readAllBytes());
    }
  }

  /** Matched files of a day written at once at most; the others are suspended (closed). */
  static final int MAX_OPEN_SPOOLS = 64;

  private final java.util.LinkedHashMap<String, AvroSpool> openSpools =
      new java.util.LinkedHashMap<>(16, 0.75f, true);

  private AvroSpool spool(Map<String, AvroSpool> matched, String id, String suffix)
      throws IOException {
    AvroSpool spool =
        matched.computeIfAbsent(
            id,
            k ->
                new AvroSpool(
                    scratch,
                    "matchedEvents/" + k + suffix,
                    DataSyncSchemas.MATCHED_EVENT,
                    maxFileBytes));
    openSpools.put(id + suffix, spool);
    if (openSpools.size() > MAX_OPEN_SPOOLS) {
      var eldest = openSpools.entrySet().iterator();
      Map.Entry<String, AvroSpool> e = eldest.next();
      eldest.remove();
      e.getValue().suspend();
    }
    return spool;
  }

  private BillOfMaterials.Matched matchedEntry(
      AvroSpool spool,
      String type,
      String id,
      String root,
      Map<String, BillOfMaterials.FileDetails> details,
      long[] size,
      int[] files)
      throws IOException {
    if (spool == null) return new BillOfMaterials.Matched(type + "/" + id, type, 0, List.of());
    try (spool) {
      return new BillOfMaterials.Matched(
          type + "/" + id,
          type,
          spool.rows(),
          names(spool.publish(target, root, false), details, size, files));
    }
  }

  private List<String> definitions(
      String file,
      String root,
      Map<String, BillOfMaterials.FileDetails> details,
      long[] size,
      int[] files,
      List<GenericRecord> rows)
      throws IOException {
    try (AvroSpool spool =
        new AvroSpool(
            scratch,
            file.substring(0, file.length() - 5),
            DataSyncSchemas.DEFINITION,
            maxFileBytes)) {
      for (GenericRecord r : rows) spool.write(r);
      return names(spool.publish(target, root, true), details, size, files);
    }
  }

  private static List<String> names(
      List<AvroSpool.Published> published,
      Map<String, BillOfMaterials.FileDetails> details,
      long[] size,
      int[] files) {
    List<String> out = new ArrayList<>();
    for (AvroSpool.Published p : published) {
      out.add(p.name());
      details.put(p.name(), new BillOfMaterials.FileDetails(p.rows(), p.bytes(), p.sha256()));
      size[0] += p.bytes();
      files[0]++;
    }
    return out;
  }

  private static List<GenericRecord> pagesRows(Plan plan, Map<String, Seen> pages) {
    List<GenericRecord> rows = new ArrayList<>();
    for (PageRule r : plan.pageRules())
      rows.add(definition(r.id(), r.name(), "Page", r.pattern(), pages.get(r.id())));
    return rows;
  }

  private static List<GenericRecord> trackRows(Map<String, Seen> trackTypes) {
    List<GenericRecord> rows = new ArrayList<>();
    trackTypes.forEach((id, seen) -> rows.add(definition(id, seen.name, "TrackType", null, seen)));
    return rows;
  }

  private static GenericRecord definition(
      String id, String name, String kind, String rule, Seen seen) {
    GenericRecord r = new GenericData.Record(DataSyncSchemas.DEFINITION);
    r.put("id", id);
    r.put("name", name);
    r.put("kind", kind);
    r.put("rule", rule);
    r.put("eventCount", seen.count);
    r.put("firstSeen", seen.first == Long.MAX_VALUE ? null : seen.first);
    r.put("lastSeen", seen.last == Long.MIN_VALUE ? null : seen.last);
    return r;
  }

  private static GenericRecord matchedRecord(GenericRecord event, String matchableId) {
    GenericRecord r = new GenericData.Record(DataSyncSchemas.MATCHED_EVENT);
    for (Schema.Field f : DataSyncSchemas.EVENT.getFields()) r.put(f.name(), event.get(f.name()));
    r.put("matchableId", matchableId);
    return r;
  }

  /** A callback that may fail with an IOException. */
  private interface EventSink {
    void accept(GenericRecord event) throws IOException;
  }

  /**
   * Reads the archived events of {@code day} (each event once, by event id), as {@link
   * DataSyncSchemas#EVENT} records; returns how many.
   */
  private long readDay(Source source, LocalDate day, EventSink sink) throws IOException {
    EventIdSet seen = new EventIdSet();
    long n = 0;
    String partition =
        String.format(
            "/year=%04d/month=%02d/day=%02d/",
            day.getYear(), day.getMonthValue(), day.getDayOfMonth());
    for (String table : source.tables()) {
      for (String key : archive.list(source.connectionId() + "/" + table + partition)) {
        if (!ArchiveRows.readable(key)) continue;
        long[] count = {0};
        ArchiveRows.read(
            archive,
            key,
            scratch,
            row -> {
              String id = row.path("event_id").asText(null);
              if (id == null || !seen.add(id)) return;
              GenericRecord event = source.webhook() ? webhookEvent(row) : canonicalEvent(row);
              if (event == null) return;
              LocalDate rowDay =
                  Instant.ofEpochMilli((Long) event.get("browserTimestamp"))
                      .atZone(ZoneOffset.UTC)
                      .toLocalDate();
              if (!rowDay.equals(day)) return;
              sink.accept(event);
              count[0]++;
            });
        n += count[0];
      }
    }
    return n;
  }

  private static GenericRecord canonicalEvent(JsonNode row) {
    Instant t = instant(row.path("timestamp"));
    if (t == null) return null;
    GenericRecord r = new GenericData.Record(DataSyncSchemas.EVENT);
    JsonNode context = row.path("context");
    JsonNode properties = row.path("properties");
    String type = row.path("type").asText("track");
    r.put("eventId", row.path("event_id").asText());
    r.put("browserTimestamp", t.toEpochMilli());
    r.put("periodId", (int) t.atZone(ZoneOffset.UTC).toLocalDate().toEpochDay());
    Instant received = instant(row.path("received_at"));
    r.put("receivedTimestamp", received == null ? null : received.toEpochMilli());
    String user = text(row.path("user_id"));
    r.put("visitorId", user != null ? user : text(row.path("anonymous_id")));
    r.put(
        "accountId",
        "group".equals(type) ? text(properties.path("group_id")) : text(context.path("groupId")));
    r.put("eventType", type);
    r.put("eventName", text(row.path("event")));
    String url = text(properties.path("url"));
    r.put("url", url != null ? url : text(context.path("page").path("url")));
    r.put("remoteIp", text(context.path("ip")));
    r.put("userAgent", text(context.path("userAgent")));
    r.put("properties", properties.isObject() ? Json.write(properties) : null);
    r.put("context", context.isObject() ? Json.write(context) : null);
    return r;
  }

  private static GenericRecord webhookEvent(JsonNode row) {
    Instant t = instant(row.path("received_at"));
    if (t == null) return null;
    GenericRecord r = new GenericData.Record(DataSyncSchemas.EVENT);
    r.put("eventId", row.path("event_id").asText());
    r.put("browserTimestamp", t.toEpochMilli());
    r.put("periodId", (int) t.atZone(ZoneOffset.UTC).toLocalDate().toEpochDay());
    r.put("receivedTimestamp", t.toEpochMilli());
    r.put("eventType", "webhook");
    JsonNode data = row.path("data");
    r.put("properties", data.isMissingNode() || data.isNull() ? null : Json.write(data));
    return r;
  }

  private static String text(JsonNode n) {
    return n.isTextual() ? n.asText() : n.isNumber() ? n.asText() : null;
  }

  private static Instant instant(JsonNode n) {
    if (!n.isTextual()) return null;
    try {
      return Timestamps.parse(n.asText());
    } catch (RuntimeException e) {
      return null;
    }
  }
}
