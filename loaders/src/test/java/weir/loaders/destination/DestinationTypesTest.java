package weir.loaders.destination;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;
import weir.protocol.Json;

/**
 * Destination configs validated through the registered types (found by ServiceLoader); in a cluster
 * whose nodes share no staging directory: S3 or GCS only.
 */
class DestinationTypesTest {
  private static final Map<String, String> LOCAL_DEFAULT =
      Map.of("type", "filesystem", "path", "/var/weir/staging");
  private static final DestinationTypes TYPES = DestinationTypes.load();

  private static DestinationTypes.Validated validate(String type, String config) throws Exception {
    return TYPES.validate(type, Json.MAPPER.readTree(config), LOCAL_DEFAULT);
  }

  @Test
  void aWarehouseMustStageInS3OrGcsWhenTheNodesShareNoDirectory() throws Exception {
    DestinationTypes.Validated defaulted =
        validate(
            "postgres", "{\"url\":\"jdbc:postgresql://db/a\",\"user\":\"u\",\"password\":\"p\"}");
    assertThatThrownBy(() -> TYPES.requireSharedStorage("postgres", defaulted.staging()))
        .isInstanceOf(InvalidConfig.class)
        .hasMessageContaining("config.staging")
        .hasMessageContaining("gcs or s3");

    DestinationTypes.Validated s3 =
        validate(
            "postgres",
            "{\"url\":\"jdbc:postgresql://db/a\",\"user\":\"u\","
                + "\"password\":\"p\",\"staging\":{\"type\":\"s3\",\"bucket\":\"b\",\"region\":\"eu-west-1\"}}");
    TYPES.requireSharedStorage("postgres", s3.staging());
    assertThat(s3.staging()).containsEntry("type", "s3");
  }

  @Test
  void thereIsNoFilesystemDataLakeWhenTheNodesShareNoDirectory() throws Exception {
    DestinationTypes.Validated lake = validate("filesystem", "{\"path\":\"/lake\"}");
    assertThatThrownBy(() -> TYPES.requireSharedStorage("filesystem", lake.staging()))
        .isInstanceOf(InvalidConfig.class)
        .hasMessageContaining("Field 'type'");
    TYPES.requireSharedStorage(
        "s3", validate("s3", "{\"bucket\":\"b\",\"region\":\"eu-west-1\"}").staging());
  }

  @Test
  void redshiftAndSnowflakeTakeASchemaPrefixLikePostgres() throws Exception {
    DestinationTypes.Validated redshift =
        validate(
            "redshift",
            "{\"url\":\"jdbc:redshift://r/db\",\"user\":\"u\","
                + "\"password\":\"p\",\"iam_role_arn\":\"arn:aws:iam::1:role/x\",\"schema_prefix\":\"weir_\","
                + "\"staging\":{\"type\":\"s3\",\"bucket\":\"b\",\"region\":\"eu-west-1\"}}");
    assertThat(redshift.config()).containsEntry("schema_prefix", "weir_");
    assertThatThrownBy(
            () ->
                validate(
                    "snowflake",
                    "{\"account\":\"a\",\"user\":\"u\",\"private_key\":\"k\","
                        + "\"warehouse\":\"w\",\"database\":\"d\",\"schema_prefx\":\"x\"}"))
        .isInstanceOf(InvalidConfig.class)
        .hasMessageContaining("schema_prefix");
  }

  @Test
  void everyTypeOfTheApiIsRegisteredWithItsStagingTypes() {
    assertThat(TYPES.names())
        .containsExactly(
            "bigquery", "duckdb", "filesystem", "gcs", "postgres", "redshift", "s3", "snowflake");
    assertThat(TYPES.stagingNames()).containsExactly("filesystem", "gcs", "s3");
    assertThat(TYPES.secretFields("postgres")).containsExactly("password");
    assertThat(TYPES.secretFields("s3")).containsExactly("secret_access_key");
    assertThat(TYPES.stagingSecretFields("gcs")).containsExactly("service_account_json");
  }
}
