package weir.loaders.staging.fs;

import java.util.Map;
import weir.loaders.destination.ConfigSpec;
import weir.loaders.destination.DestinationContext;
import weir.loaders.destination.StagingType;
import weir.loaders.staging.StagingStore;

/** Staging type {@code filesystem}: a directory of the node (shared by every node in a cluster). */
public final class FilesystemStaging implements StagingType {
  static final ConfigSpec SPEC =
      ConfigSpec.of(
          ConfigSpec.required(
              "path",
              "Directory of the staged files: absolute, or relative to the data directory."));

  @Override
  public String name() {
    return "filesystem";
  }

  @Override
  public ConfigSpec spec() {
    return SPEC;
  }

  @Override
  public boolean local() {
    return true;
  }

  @Override
  public StagingStore open(Map<String, String> config, DestinationContext context) {
    return new FilesystemStagingStore(context.resolve(config.get("path")));
  }
}
