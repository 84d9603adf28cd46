package weir.loaders.warehouse.redshift;

import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import weir.loaders.staging.StagedFile;
import weir.loaders.staging.StagingStore;
import weir.loaders.warehouse.StageAndMergeLoader;
import weir.protocol.ColumnType;
import weir.protocol.TableSpec;

/**
 * Amazon Redshift: each staged file (in S3) is {@code COPY}ed with {@code FORMAT AS JSON 'auto'}
 * and the destination's IAM role into a temporary table of the target's columns (JSON columns are
 * {@code SUPER}), then appended without duplicate {@code event_id}s or merged with {@code MERGE};
 * event tables are created with {@code DISTKEY(anonymous_id)} and {@code SORTKEY(timestamp)}.
 *
 * <p>Redshift has no function that merges two {@code SUPER} objects: a {@code JSON_PATCH} column
 * (the {@code traits} of {@code users}) takes the newer object whole instead of merging keys.
 *
 * <p>Verified only by contract (recorded SQL, {@code RedshiftLoaderContractTest}): no Redshift is
 * reachable here.
 */
public final class RedshiftLoader extends StageAndMergeLoader {
  private final String iamRoleArn;
  private final String region;

  /**
   * @param staging the S3 staging store Redshift copies from ({@link StagingStore#describe} gives
   *     s3:// URIs)
   * @param iamRoleArn the role Redshift assumes to read the bucket
   * @param region the bucket's region (null: the cluster's)
   */
  public RedshiftLoader(
      Connector connector,
      StagingStore staging,
      String iamRoleArn,
      String region,
      String schemaPrefix) {
    super(connector, staging, schemaPrefix);
    this.iamRoleArn = iamRoleArn;
    this.region = region;
  }

  /** Connections through the Redshift JDBC driver ({@code jdbc:redshift://host:5439/db}). */
  public static Connector driver(String url, String user, String password) {
    Properties p = new Properties();
    p.setProperty("user", user);
    p.setProperty("password", password);
    return () -> DriverManager.getConnection(url, p);
  }

  @Override
  protected boolean isTransient(SQLException e) {
    // XX000: Redshift's internal errors, often a node restarting.
    return transientSqlState(e.getSQLState()) || "XX000".equals(e.getSQLState());
  }

  @Override
  protected String describe() {
    return "Redshift";
  }

  @Override
  protected void prepare(Statement s) throws SQLException {
    s.execute("SET timezone TO 'UTC'");
  }

  @Override
  protected String sqlType(ColumnType type) {
    return switch (type) {
      case STRING -> "VARCHAR(65535)";
      case LONG -> "BIGINT";
      case DOUBLE -> "DOUBLE PRECISION";
      case BOOLEAN -> "BOOLEAN";
      case TIMESTAMP -> "TIMESTAMPTZ";
      case JSON -> "SUPER";
    };
  }

  @Override
  protected ColumnType columnType(String dataType) {
    return switch (dataType) {
      case "bigint", "integer", "smallint" -> ColumnType.LONG;
      case "double precision", "real", "numeric" -> ColumnType.DOUBLE;
      case "boolean" -> ColumnType.BOOLEAN;
      case "super" -> ColumnType.JSON;
      case "timestamp with time zone" -> ColumnType.TIMESTAMP;
      default -> ColumnType.STRING;
    };
  }

  @Override
  protected String tableOptions(TableSpec spec) {
    boolean anonymous = spec.columns().stream().anyMatch(c -> c.name().equals("anonymous_id"));
    boolean timestamp = spec.columns().stream().anyMatch(c -> c.name().equals("timestamp"));
    boolean received = spec.columns().stream().anyMatch(c -> c.name().equals("received_at"));
    String options = anonymous ? " DISTKEY(\"anonymous_id\")" : "";
    if (timestamp) options += " SORTKEY(\"timestamp\")";
    else if (received) options += " SORTKEY(\"received_at\")";
    return options;
  }

  @Override
  protected String createTempTable(String name, String columns) {
    return "CREATE TEMP TABLE " + name + " (" + columns + ")";
  }

  @Override
  protected String createTempTableAs(String name, String select) {
    return "CREATE TEMP TABLE " + name + " AS " + select;
  }

  @Override
  protected void copyIntoStage(Statement s, Map<String, ColumnType> columns, List<StagedFile> files)
      throws SQLException {
    for (StagedFile f : files) {
      String uri = staging.describe(f.key());
      if (!uri.startsWith("s3://")) {
        throw new SQLException(
            "Redshift copies from S3: staged file " + uri + " is not in S3", "42000");
      }
      s.execute(
          "COPY "
              + STAGE
              + " FROM "
              + literal(uri)
              + " IAM_ROLE "
              + literal(iamRoleArn)
              + " FORMAT AS JSON 'auto' GZIP TIMEFORMAT 'auto'"
              + (region == null ? "" : " REGION " + literal(region)));
    }
  }

  /**
   * Besides SQLSTATE class 22: a COPY that refused rows ("Load into table ... failed. Check
   * 'stl_load_errors'").
   */
  @Override
  protected boolean isRowError(SQLException e) {
    return super.isRowError(e) || String.valueOf(e.getMessage()).contains("stl_load_errors");
  }

  @Override
  protected List<String> createTableLike(String fresh, String target, TableSpec spec) {
    return List.of("CREATE TABLE " + fresh + " (LIKE " + target + " INCLUDING DEFAULTS)");
  }

  @Override
  protected String now() {
    return "GETDATE()";
  }

  /** No SUPER object merge in Redshift: the newer object wins whole. */
  @Override
  protected String jsonMerge(String base, String patch) {
    return "coalesce(" + patch + ", " + base + ")";
  }

  @Override
  protected String timestampLiteral(String text) {
    return "CAST(" + literal(text) + " AS TIMESTAMPTZ)";
  }
}
