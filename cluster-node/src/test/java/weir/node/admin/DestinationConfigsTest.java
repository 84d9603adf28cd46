package weir.node.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;
import weir.protocol.Json;

/** Destination configs in a cluster whose nodes share no staging directory: S3 or GCS only. */
class DestinationConfigsTest {
  private static final Map<String, String> LOCAL_DEFAULT = Map.of("type", "filesystem", "path", "/var/weir/staging");

  private static DestinationConfigs.Validated validate(String type, String config) throws Exception {
    return DestinationConfigs.validate(type, Json.MAPPER.readTree(config), LOCAL_DEFAULT);
  }

  @Test
  void aWarehouseMustStageInS3OrGcsWhenTheNodesShareNoDirectory() throws Exception {
    DestinationConfigs.Validated defaulted = validate("postgres",
        "{\"url\":\"jdbc:postgresql://db/a\",\"user\":\"u\",\"password\":\"p\"}");
    assertThatThrownBy(() -> DestinationConfigs.requireSharedStorage("postgres", defaulted.staging()))
        .isInstanceOf(BadRequest.class).hasMessageContaining("config.staging").hasMessageContaining("s3 or gcs");

    DestinationConfigs.Validated s3 = validate("postgres", "{\"url\":\"jdbc:postgresql://db/a\",\"user\":\"u\","
        + "\"password\":\"p\",\"staging\":{\"type\":\"s3\",\"bucket\":\"b\",\"region\":\"eu-west-1\"}}");
    DestinationConfigs.requireSharedStorage("postgres", s3.staging());
    assertThat(s3.staging()).containsEntry("type", "s3");
  }

  @Test
  void thereIsNoFilesystemDataLakeWhenTheNodesShareNoDirectory() throws Exception {
    DestinationConfigs.Validated lake = validate("filesystem", "{\"path\":\"/lake\"}");
    assertThatThrownBy(() -> DestinationConfigs.requireSharedStorage("filesystem", lake.staging()))
        .isInstanceOf(BadRequest.class).hasMessageContaining("Field 'type'");
    DestinationConfigs.requireSharedStorage("s3", validate("s3", "{\"bucket\":\"b\",\"region\":\"eu-west-1\"}")
        .staging());
  }

  @Test
  void redshiftAndSnowflakeTakeASchemaPrefixLikePostgres() throws Exception {
    DestinationConfigs.Validated redshift = validate("redshift", "{\"url\":\"jdbc:redshift://r/db\",\"user\":\"u\","
        + "\"password\":\"p\",\"iam_role_arn\":\"arn:aws:iam::1:role/x\",\"schema_prefix\":\"weir_\","
        + "\"staging\":{\"type\":\"s3\",\"bucket\":\"b\",\"region\":\"eu-west-1\"}}");
    assertThat(redshift.config()).containsEntry("schema_prefix", "weir_");
    assertThatThrownBy(() -> validate("snowflake", "{\"account\":\"a\",\"user\":\"u\",\"private_key\":\"k\","
        + "\"warehouse\":\"w\",\"database\":\"d\",\"schema_prefx\":\"x\"}")).isInstanceOf(BadRequest.class)
        .hasMessageContaining("schema_prefix");
  }
}
