package weir.protocol.datasync;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;
import java.util.Map;

/**
 * {@code billofmaterials.json} of one Data Sync export (Pendo's layout, DESIGN.md "Data Sync"):
 * what the export holds. File names are relative to the export's folder ({@code <export-uuid>/}).
 * Unknown fields are ignored, so a real Pendo bill reads whatever else it carries.
 *
 * @param timestamp when the export was written (ISO-8601 UTC)
 * @param numberOfFiles the Avro files of the export
 * @param pageDefinitionsFile {@code allpages.avro} (a list, as Pendo writes it)
 * @param timeDependent one entry per exported UTC day
 * @param weirFiles beyond Pendo: per listed file its rows, bytes and SHA-256 (absent in Pendo's)
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record BillOfMaterials(
    String timestamp,
    int numberOfFiles,
    Named application,
    Named subscription,
    List<String> pageDefinitionsFile,
    List<String> featureDefinitionsFile,
    List<String> trackTypeDefinitionsFile,
    List<String> guideDefinitionsFile,
    List<Period> timeDependent,
    Map<String, FileDetails> weirFiles) {

  public BillOfMaterials {
    pageDefinitionsFile = listOrEmpty(pageDefinitionsFile);
    featureDefinitionsFile = listOrEmpty(featureDefinitionsFile);
    trackTypeDefinitionsFile = listOrEmpty(trackTypeDefinitionsFile);
    guideDefinitionsFile = listOrEmpty(guideDefinitionsFile);
    timeDependent = listOrEmpty(timeDependent);
    weirFiles = weirFiles == null ? Map.of() : Map.copyOf(weirFiles);
  }

  /** An application or subscription: id and display name. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Named(String id, String displayName) {}

  /**
   * One exported UTC day.
   *
   * @param periodId the day, {@code YYYY-MM-DDT00:00:00Z} (read: the first ten characters)
   * @param allEvents every event of the day; null when the export does not replace them (a
   *     retroactive export)
   * @param matchedEvents the events of each page or track type of the day
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Period(String periodId, EventFiles allEvents, List<Matched> matchedEvents) {
    public Period {
      matchedEvents = listOrEmpty(matchedEvents);
    }

    /** The day of {@link #periodId}. */
    public java.time.LocalDate day() {
      return java.time.LocalDate.parse(periodId.substring(0, Math.min(10, periodId.length())));
    }
  }

  /** Files and their event count; an empty list means the period has none (delete only). */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record EventFiles(long eventCount, List<String> files) {
    public EventFiles {
      files = listOrEmpty(files);
    }
  }

  /**
   * The events of one matchable in a period.
   *
   * @param id {@code <Type>/<matchable id>}, e.g. {@code Page/pricing}
   * @param type {@code Page}, {@code Feature} or {@code TrackType}
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Matched(String id, String type, long eventCount, List<String> files) {
    public Matched {
      files = listOrEmpty(files);
    }

    /** The matchable's own id: {@link #id} without its {@code <Type>/} prefix. */
    public String matchableId() {
      int slash = id.indexOf('/');
      return slash < 0 ? id : id.substring(slash + 1);
    }
  }

  /** Weir's extra facts of one file. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record FileDetails(long rows, long bytes, String sha256) {}

  private static <T> List<T> listOrEmpty(List<T> list) {
    return list == null ? List.of() : List.copyOf(list);
  }
}
