package weir.loaders.staging.fs;

import weir.loaders.lake.LakeType;

/** Destination type {@code filesystem}: a data lake in a directory of the node. */
public final class FilesystemLake extends LakeType {
  public FilesystemLake() {
    super(new FilesystemStaging());
  }
}
