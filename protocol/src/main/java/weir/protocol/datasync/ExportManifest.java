package weir.protocol.datasync;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import weir.protocol.Json;

/**
 * {@code exportmanifest.json} of one application folder: every export of the last 30 days, each its
 * bill of materials plus {@code counter}, {@code finishTime}, {@code storageSize}, {@code rootUrl}
 * and {@code exportType}. A reader loads the exports whose counter is above what it has loaded, in
 * counter order.
 *
 * @param exports oldest counter first
 * @param generatedTime when the manifest was written (ISO-8601 UTC)
 */
public record ExportManifest(List<Entry> exports, String generatedTime) {
  /** How long an export stays listed. */
  public static final java.time.Duration LISTED_FOR = java.time.Duration.ofDays(30);

  public static final String FILE = "exportmanifest.json";
  public static final String BILL = "billofmaterials.json";

  /** {@code exportType} of a retroactive export. */
  public static final List<String> RETROACTIVE = List.of("Retroactive");

  /** {@code exportType} of a test export. */
  public static final List<String> TEST = List.of("Test");

  public ExportManifest {
    exports = exports.stream().sorted(Comparator.comparingLong(Entry::counter)).toList();
  }

  /**
   * One listed export.
   *
   * @param exportType null (a regular export), {@link #RETROACTIVE} or {@link #TEST}
   * @param counter increases by one per export of the folder
   * @param finishTime when its last file was complete (ISO-8601 UTC)
   * @param storageSize bytes of its files
   * @param rootUrl the export's folder, e.g. {@code gs://bucket/datasync/ws/app/<uuid>}; readers
   *     use its last segment only
   */
  public record Entry(
      BillOfMaterials bill,
      List<String> exportType,
      long counter,
      String finishTime,
      long storageSize,
      String rootUrl) {

    /** The export's folder name: the last segment of {@link #rootUrl}. */
    public String folder() {
      String url = rootUrl.endsWith("/") ? rootUrl.substring(0, rootUrl.length() - 1) : rootUrl;
      return url.substring(url.lastIndexOf('/') + 1);
    }

    public boolean retroactive() {
      return exportType != null && exportType.contains("Retroactive");
    }
  }

  /**
   * This manifest with {@code entry} added and exports finished before {@code now - 30 days}
   * removed.
   */
  public ExportManifest with(Entry entry, Instant now) {
    Instant cutoff = now.minus(LISTED_FOR);
    List<Entry> kept = new ArrayList<>();
    for (Entry e : exports) {
      if (e.counter() == entry.counter()) continue;
      if (e.finishTime() != null && Instant.parse(e.finishTime()).isBefore(cutoff)) continue;
      kept.add(e);
    }
    kept.add(entry);
    return new ExportManifest(kept, now.toString());
  }

  /** The highest counter listed, 0 when none. */
  public long lastCounter() {
    return exports.stream().mapToLong(Entry::counter).max().orElse(0);
  }

  public static ExportManifest empty() {
    return new ExportManifest(List.of(), Instant.EPOCH.toString());
  }

  /** Reads a manifest (Weir's or Pendo's: fields beyond these are ignored). */
  public static ExportManifest parse(byte[] json) throws IOException {
    JsonNode root = Json.MAPPER.readTree(json);
    if (root == null || !root.isObject() || !root.path("exports").isArray())
      throw new IOException("not an export manifest: no \"exports\" list");
    List<Entry> entries = new ArrayList<>();
    for (JsonNode e : root.get("exports")) {
      if (!e.isObject()) throw new IOException("an entry of \"exports\" is not an object");
      BillOfMaterials bill = Json.MAPPER.treeToValue(e, BillOfMaterials.class);
      List<String> type = null;
      JsonNode t = e.get("exportType");
      if (t != null && t.isArray()) {
        type = new ArrayList<>();
        for (JsonNode x : t) type.add(x.asText());
      }
      if (!e.path("counter").canConvertToLong())
        throw new IOException("an export of the manifest has no numeric \"counter\"");
      if (!e.path("rootUrl").isTextual())
        throw new IOException("export " + e.get("counter") + " of the manifest has no \"rootUrl\"");
      entries.add(
          new Entry(
              bill,
              type,
              e.get("counter").asLong(),
              e.path("finishTime").isTextual() ? e.get("finishTime").asText() : null,
              e.path("storageSize").asLong(0),
              e.get("rootUrl").asText()));
    }
    return new ExportManifest(entries, root.path("generatedTime").asText(null));
  }

  /** The manifest as JSON. */
  public byte[] toJson() {
    ObjectNode root = JsonNodeFactory.instance.objectNode();
    ArrayNode list = root.putArray("exports");
    for (Entry e : exports) {
      ObjectNode node = Json.MAPPER.valueToTree(e.bill());
      if (e.exportType() == null) node.putNull("exportType");
      else node.set("exportType", Json.MAPPER.valueToTree(e.exportType()));
      node.put("counter", e.counter());
      node.put("finishTime", e.finishTime());
      node.put("storageSize", e.storageSize());
      node.put("rootUrl", e.rootUrl());
      list.add(node);
    }
    root.put("generatedTime", generatedTime);
    try {
      return Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsBytes(root);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A bill of materials as JSON. */
  public static byte[] billJson(BillOfMaterials bill) {
    try {
      return Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsBytes(bill);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Reads a bill of materials. */
  public static BillOfMaterials parseBill(byte[] json) throws IOException {
    return Json.MAPPER.readValue(json, BillOfMaterials.class);
  }
}
