package weir.protocol.datasync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDate;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ExportManifestTest {
  private static BillOfMaterials bill(String day) {
    return new BillOfMaterials(
        "2026-11-21T02:00:00Z",
        2,
        new BillOfMaterials.Named("c_1", "Shop"),
        new BillOfMaterials.Named("ws", "ws"),
        List.of("allpages.avro"),
        List.of("allfeatures.avro"),
        List.of("alltracktypes.avro"),
        List.of("allguides.avro"),
        List.of(
            new BillOfMaterials.Period(
                day + "T00:00:00Z",
                new BillOfMaterials.EventFiles(3, List.of("allevents.avro")),
                List.of(
                    new BillOfMaterials.Matched(
                        "Page/pricing", "Page", 1, List.of("matchedEvents/Page/pricing.avro"))))),
        Map.of("allevents.avro", new BillOfMaterials.FileDetails(3, 100, "ab")));
  }

  @Test
  void roundTripsThroughJsonWithTheExtraFieldsOfAListedExport() throws IOException {
    ExportManifest m =
        ExportManifest.empty()
            .with(
                new ExportManifest.Entry(
                    bill("2026-11-20"),
                    null,
                    1,
                    "2026-11-21T02:01:00Z",
                    100,
                    "file:///x/datasync/ws/c_1/u-1"),
                Instant.parse("2026-11-21T02:01:00Z"));
    ExportManifest back = ExportManifest.parse(m.toJson());
    assertThat(back).isEqualTo(m);
    assertThat(back.exports().get(0).folder()).isEqualTo("u-1");
    assertThat(back.exports().get(0).bill().timeDependent().get(0).day())
        .isEqualTo(LocalDate.of(2026, 11, 20));
    assertThat(
            back.exports()
                .get(0)
                .bill()
                .timeDependent()
                .get(0)
                .matchedEvents()
                .get(0)
                .matchableId())
        .isEqualTo("pricing");
    assertThat(new String(m.toJson(), StandardCharsets.UTF_8)).contains("\"exportType\" : null");
  }

  @Test
  void listsExportsOfTheLastThirtyDaysOnlyInCounterOrder() {
    Instant now = Instant.parse("2026-12-01T02:00:00Z");
    ExportManifest m =
        new ExportManifest(
            List.of(
                new ExportManifest.Entry(
                    bill("2026-11-30"), null, 2, "2026-11-30T02:00:00Z", 1, "r/b"),
                new ExportManifest.Entry(
                    bill("2026-10-01"), null, 1, "2026-10-02T02:00:00Z", 1, "r/a")),
            now.toString());
    ExportManifest next =
        m.with(
            new ExportManifest.Entry(
                bill("2026-11-30"), ExportManifest.RETROACTIVE, 3, now.toString(), 1, "r/c/"),
            now);
    assertThat(next.exports()).extracting(ExportManifest.Entry::counter).containsExactly(2L, 3L);
    assertThat(next.exports().get(1).retroactive()).isTrue();
    assertThat(next.exports().get(1).folder()).isEqualTo("c");
    assertThat(next.lastCounter()).isEqualTo(3);
  }

  @Test
  void readsAPendoManifestWithFieldsItDoesNotKnow() throws IOException {
    String pendo =
        "{\"exports\":[{\"timestamp\":\"2023-08-15T08:00:00Z\",\"numberOfFiles\":1,\"somethingNew\":1,"
            + "\"timeDependent\":[{\"periodId\":\"2023-08-14T00:00:00Z\",\"allEvents\":{\"eventCount\":5,"
            + "\"files\":[\"allevents.avro\"]}}],\"exportType\":[\"Test\"],\"counter\":7,"
            + "\"rootUrl\":\"gs://pendo/datasync/abc/app/7f0e\"}],\"generatedTime\":\"2023-08-15T08:01:00Z\"}";
    ExportManifest m = ExportManifest.parse(pendo.getBytes(StandardCharsets.UTF_8));
    assertThat(m.exports()).hasSize(1);
    assertThat(m.exports().get(0).exportType()).containsExactly("Test");
    assertThat(m.exports().get(0).folder()).isEqualTo("7f0e");
    assertThat(m.exports().get(0).bill().timeDependent().get(0).allEvents().eventCount())
        .isEqualTo(5);
    assertThat(m.exports().get(0).bill().pageDefinitionsFile()).isEmpty();
  }

  @Test
  void refusesWhatIsNotAManifest() {
    assertThatThrownBy(() -> ExportManifest.parse("{\"a\":1}".getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("exports");
    assertThatThrownBy(
            () ->
                ExportManifest.parse(
                    "{\"exports\":[{\"rootUrl\":\"x\"}]}".getBytes(StandardCharsets.UTF_8)))
        .hasMessageContaining("counter");
  }

  @Test
  void pageRulesMatchAPathOrTheWholeUrl() {
    PageRule pricing = new PageRule("pricing", "Pricing", "/pricing*");
    assertThat(pricing.matches("https://shop.example/pricing?plan=pro")).isTrue();
    assertThat(pricing.matches("https://shop.example/pricing/team")).isTrue();
    assertThat(pricing.matches("/pricing")).isTrue();
    assertThat(pricing.matches("https://shop.example/about")).isFalse();
    assertThat(pricing.matches(null)).isFalse();
    PageRule docs = new PageRule("docs", "Docs", "https://docs.example/*");
    assertThat(docs.matches("https://docs.example/a/b")).isTrue();
    assertThat(docs.matches("https://shop.example/docs")).isFalse();
    assertThatThrownBy(() -> new PageRule("bad id", "x", "/x"))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
