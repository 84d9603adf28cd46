package weir.loaders.staging.gcs;

import weir.loaders.lake.LakeType;

/** Destination type {@code gcs}: a data lake in a GCS bucket. */
public final class GcsLake extends LakeType {
  public GcsLake() {
    super(new GcsStaging());
  }
}
