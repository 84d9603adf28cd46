package weir.loaders.staging.s3;

import weir.loaders.lake.LakeType;

/** Destination type {@code s3}: a data lake in an S3 bucket. */
public final class S3Lake extends LakeType {
  public S3Lake() {
    super(new S3Staging());
  }
}
