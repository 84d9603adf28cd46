package weir.loaders.datasync;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonGenerator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import weir.loaders.staging.StagedFile;
import weir.loaders.staging.fs.FilesystemStagingStore;

class ScratchFilesTest {
  @TempDir Path dir;

  @Test
  void aFullFileIsCompletedAndTheRowsGoOnInTheNextAndCloseDeletesThemAll() throws Exception {
    FilesystemStagingStore staging = new FilesystemStagingStore(dir);
    List<StagedFile> files;
    try (ScratchFiles scratch = new ScratchFiles(staging, 1)) {
      for (int i = 0; i < 2500; i++) {
        JsonGenerator g = scratch.row("allevents");
        g.writeStartObject();
        g.writeNumberField("i", i);
        g.writeEndObject();
        scratch.endRow("allevents");
      }
      files = scratch.finish();
      assertThat(files).extracting(StagedFile::rows).containsExactly(1024L, 1024L, 452L);
      for (StagedFile f : files) assertThat(staging.exists(f.key())).isTrue();
    }
    for (StagedFile f : files) assertThat(staging.exists(f.key())).isFalse();
    try (var left = Files.walk(dir)) {
      assertThat(left.filter(Files::isRegularFile)).isEmpty();
    }
  }
}
