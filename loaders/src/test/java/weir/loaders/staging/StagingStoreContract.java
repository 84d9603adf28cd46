package weir.loaders.staging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** What every staging store must do; each store's test class supplies a fresh, empty store. */
public abstract class StagingStoreContract {

  protected abstract StagingStore store() throws Exception;

  protected static byte[] randomBytes(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  protected static String sha256(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }

  protected static byte[] read(StagingStore store, String key) throws IOException {
    try (InputStream in = store.open(key)) {
      return in.readAllBytes();
    }
  }

  protected static long write(StagingStore store, String key, byte[] bytes) throws IOException {
    try (StagingStore.StagedOutput out = store.create(key)) {
      // Write in uneven slices, as the file writers do.
      for (int off = 0; off < bytes.length; off += 7919) {
        out.stream().write(bytes, off, Math.min(7919, bytes.length - off));
      }
      return out.complete();
    }
  }

  @Test
  void aCompletedFileIsListedAndReadBackWhole() throws Exception {
    StagingStore store = store();
    byte[] bytes = randomBytes(300_000, 1);
    assertThat(write(store, "c1/events/year=2026/month=11/day=21/hour=10/b-1.ndjson.gz", bytes))
        .isEqualTo(bytes.length);
    write(
        store,
        "c1/events/year=2026/month=11/day=21/hour=11/b-2.ndjson.gz",
        "x".getBytes(StandardCharsets.UTF_8));
    write(
        store,
        "c1/other/year=2026/month=11/day=21/hour=11/b-2.ndjson.gz",
        "y".getBytes(StandardCharsets.UTF_8));
    write(
        store,
        "c1/events2/year=2026/month=11/day=21/hour=11/b-2.ndjson.gz",
        "z".getBytes(StandardCharsets.UTF_8));

    assertThat(store.list("c1/events"))
        .containsExactly(
            "c1/events/year=2026/month=11/day=21/hour=10/b-1.ndjson.gz",
            "c1/events/year=2026/month=11/day=21/hour=11/b-2.ndjson.gz");
    assertThat(store.list("c1")).hasSize(4);
    assertThat(store.list("nothing-here")).isEmpty();
    assertThat(sha256(read(store, "c1/events/year=2026/month=11/day=21/hour=10/b-1.ndjson.gz")))
        .isEqualTo(sha256(bytes));
  }

  @Test
  void anAbortedOrUnfinishedFileIsNeverVisible() throws Exception {
    StagingStore store = store();
    StagingStore.StagedOutput out = store.create("c1/t/f.ndjson");
    out.stream().write(randomBytes(100_000, 2));
    assertThat(store.list("c1")).isEmpty();
    assertThat(store.exists("c1/t/f.ndjson")).isFalse();
    out.abort();
    out.abort();
    assertThat(store.list("c1")).isEmpty();
    assertThat(store.exists("c1/t/f.ndjson")).isFalse();
    assertThatThrownBy(() -> read(store, "c1/t/f.ndjson")).isInstanceOf(IOException.class);
  }

  @Test
  void completingAnExistingKeyReplacesItWholeAndDeleteRemovesIt() throws Exception {
    StagingStore store = store();
    write(store, "c1/t/f.ndjson", randomBytes(50_000, 3));
    byte[] second = randomBytes(20_000, 4);
    write(store, "c1/t/f.ndjson", second);
    assertThat(read(store, "c1/t/f.ndjson")).isEqualTo(second);
    assertThat(store.list("c1/t")).containsExactly("c1/t/f.ndjson");
    assertThat(store.exists("c1/t/f.ndjson")).isTrue();
    store.delete("c1/t/f.ndjson");
    store.delete("c1/t/f.ndjson");
    assertThat(store.list("c1/t")).isEmpty();
    assertThat(store.exists("c1/t/f.ndjson")).isFalse();
  }

  @Test
  void describeNamesTheLocationWithoutCredentials() throws Exception {
    String d = store().describe("c1/t/f.ndjson");
    assertThat(d).endsWith("c1/t/f.ndjson").doesNotContain("secret");
  }
}
