package weir.loaders.staging.s3;

/**
 * Where an S3 staging store or data-lake destination keeps its files, and how to reach it.
 *
 * @param bucket the bucket
 * @param prefix key prefix ("" or a folder-like path without leading or trailing slash)
 * @param region AWS region, e.g. {@code us-east-1}
 * @param endpoint custom endpoint of an S3-compatible store (path-style access), or null for AWS
 * @param accessKeyId static credentials, or null for the default AWS credential chain
 * @param secretAccessKey goes with {@code accessKeyId}; never logged ({@link #toString()} leaves it
 *     out)
 */
public record S3Location(
    String bucket,
    String prefix,
    String region,
    String endpoint,
    String accessKeyId,
    String secretAccessKey) {

  public S3Location {
    if (bucket == null || bucket.isBlank())
      throw new IllegalArgumentException("bucket is required");
    prefix = prefix == null ? "" : prefix.replaceAll("^/+|/+$", "");
    if (region == null || region.isBlank()) region = "us-east-1";
    if ((accessKeyId == null) != (secretAccessKey == null)) {
      throw new IllegalArgumentException("access key id and secret access key go together");
    }
  }

  @Override
  public String toString() {
    return "s3://" + bucket + "/" + prefix + (endpoint == null ? "" : " at " + endpoint);
  }
}
