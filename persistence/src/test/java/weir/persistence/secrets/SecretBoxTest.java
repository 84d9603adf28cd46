package weir.persistence.secrets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SecretBoxTest {

  @Test
  void sealedValuesOpenToTheClearValueAndNeverContainIt(@TempDir Path dir) throws Exception {
    SecretBox box = SecretBox.resolve("", dir, true);
    String sealed = box.seal("hunter2-password");
    assertThat(sealed).startsWith(SecretBox.PREFIX).doesNotContain("hunter2");
    assertThat(box.seal("hunter2-password")).as("fresh IV each time").isNotEqualTo(sealed);
    assertThat(box.open(sealed)).isEqualTo("hunter2-password");
    assertThat(box.seal(sealed)).isEqualTo(sealed);
  }

  @Test
  void theGeneratedKeyFileIsPrivateAndReusedOnTheNextStart(@TempDir Path dir) throws Exception {
    String sealed = SecretBox.resolve("", dir, true).seal("s");
    Path file = dir.resolve(SecretBox.FILE_NAME);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
        .isEqualTo("rw-------");
    assertThat(SecretBox.resolve("", dir, true).open(sealed)).isEqualTo("s");
  }

  @Test
  void aWrongKeyFailsWithoutRevealingAnything(@TempDir Path dir) throws Exception {
    String sealed = SecretBox.resolve("", dir, true).seal("top-secret");
    SecretBox other =
        SecretBox.fromBase64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "WEIR_MASTER_KEY");
    assertThatThrownBy(() -> other.open(sealed))
        .hasMessageContaining("wrong key")
        .hasMessageNotContaining("top-secret")
        .hasMessageNotContaining(sealed);
    assertThatThrownBy(() -> SecretBox.fromBase64("c2hvcnQ=", "WEIR_MASTER_KEY"))
        .hasMessageContaining("32 bytes");
    assertThatThrownBy(() -> SecretBox.resolve("", dir.resolve("none"), false))
        .hasMessageContaining("WEIR_MASTER_KEY");
  }
}
