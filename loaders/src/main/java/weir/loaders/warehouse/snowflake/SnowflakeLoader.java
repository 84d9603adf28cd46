package weir.loaders.warehouse.snowflake;

import java.io.IOException;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.sql.Connection;
import java.sql.Driver;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.stream.Collectors;
import weir.loaders.staging.LocalFiles;
import weir.loaders.staging.StagedFile;
import weir.loaders.staging.StagingStore;
import weir.loaders.warehouse.StageAndMergeLoader;
import weir.protocol.ColumnType;
import weir.protocol.TableSpec;

/**
 * Snowflake: each staged file is {@code PUT} (as is, gzip) into a per-load folder of the user's
 * internal stage, {@code COPY INTO} a temporary table of the target's columns (JSON columns are
 * {@code VARIANT}, extracted with {@code $1:"column"::TYPE}), the folder removed, then appended
 * without duplicate {@code event_id}s ({@code MERGE ... WHEN NOT MATCHED THEN INSERT}) or merged
 * with {@code MERGE}; replace swaps tables with {@code ALTER TABLE ... SWAP WITH}. Key-pair
 * authentication (an unencrypted PKCS#8 private key).
 *
 * <p>Snowflake has no function that merges two objects: a {@code JSON_PATCH} column (the {@code
 * traits} of {@code users}) takes the newer object whole instead of merging keys.
 *
 * <p>Verified only by contract (recorded SQL, {@code SnowflakeLoaderContractTest}): no Snowflake is
 * reachable here.
 */
public final class SnowflakeLoader extends StageAndMergeLoader {
  private final Path tempDir;

  /**
   * @param tempDir where files of a remote staging store are copied before {@code PUT}
   */
  public SnowflakeLoader(
      Connector connector, StagingStore staging, Path tempDir, String schemaPrefix) {
    super(connector, staging, schemaPrefix);
    this.tempDir = tempDir;
  }

  /**
   * Connections through the Snowflake JDBC driver with key-pair authentication. The driver is not
   * bundled: its fat jar carries its own conscrypt and netty native libraries under the same
   * resource names as Google's clients', and loading the wrong one aborts the JVM (JNI {@code
   * RegisterNatives} failure). It is loaded from {@code driverJar} in a class loader of its own
   * that does not see the node's classpath.
   */
  public static Connector driver(
      Path driverJar,
      String account,
      String user,
      String privateKeyPem,
      String warehouse,
      String database,
      String role) {
    Properties p = new Properties();
    p.setProperty("user", user);
    p.put("privateKey", privateKey(privateKeyPem));
    p.setProperty("warehouse", warehouse);
    p.setProperty("db", database);
    if (role != null) p.setProperty("role", role);
    // JSON results: the Arrow format needs --add-opens on Java 17.
    p.setProperty("JDBC_QUERY_RESULT_FORMAT", "JSON");
    String url = "jdbc:snowflake://" + account + ".snowflakecomputing.com/";
    return new IsolatedDriver(driverJar, url, p);
  }

  /**
   * The Snowflake driver in a class loader of its own, loaded on first use and released by {@link
   * #close()}.
   */
  private static final class IsolatedDriver implements Connector {
    private final Path jar;
    private final String url;
    private final Properties properties;
    private URLClassLoader loader;
    private Driver driver;

    IsolatedDriver(Path jar, String url, Properties properties) {
      this.jar = jar;
      this.url = url;
      this.properties = properties;
    }

    @Override
    public synchronized Connection connect() throws SQLException {
      if (driver == null) load();
      return driver.connect(url, properties);
    }

    private void load() throws SQLException {
      if (!Files.isRegularFile(jar)) {
        // SQLState 08001: a retry succeeds once the driver is installed.
        throw new SQLException(
            "The Snowflake JDBC driver is not installed: put snowflake-jdbc.jar at "
                + jar
                + " (it is not bundled with Weir)",
            "08001");
      }
      try {
        loader =
            new URLClassLoader(
                new URL[] {jar.toUri().toURL()}, ClassLoader.getPlatformClassLoader());
        driver =
            (Driver)
                Class.forName("net.snowflake.client.jdbc.SnowflakeDriver", true, loader)
                    .getDeclaredConstructor()
                    .newInstance();
      } catch (ReflectiveOperationException | MalformedURLException e) {
        throw new SQLException(
            "The Snowflake JDBC driver at " + jar + " cannot be loaded: " + e, "08001", e);
      }
    }

    @Override
    public synchronized void close() {
      driver = null;
      if (loader != null) {
        try {
          loader.close();
        } catch (IOException ignored) {
          // the jar stays open until the JVM exits; nothing else to release
        }
        loader = null;
      }
    }
  }

  /**
   * An unencrypted PKCS#8 PEM private key ({@code -----BEGIN PRIVATE KEY-----}).
   *
   * @throws IllegalArgumentException (without the key in the message) when it is not one
   */
  public static PrivateKey privateKey(String pem) {
    String body = pem.replaceAll("-----(BEGIN|END) PRIVATE KEY-----", "").replaceAll("\\s", "");
    try {
      return KeyFactory.getInstance("RSA")
          .generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(body)));
    } catch (Exception e) {
      // Never include the key in the message.
      throw new IllegalArgumentException(
          "the Snowflake private key is not an unencrypted PKCS#8 RSA key in PEM form");
    }
  }

  @Override
  protected boolean isTransient(SQLException e) {
    String state = e.getSQLState();
    return transientSqlState(state) || state.startsWith("XX");
  }

  @Override
  protected boolean ddlCommits() {
    return true;
  }

  @Override
  protected String describe() {
    return "Snowflake";
  }

  @Override
  protected void prepare(Statement s) throws SQLException {
    s.execute("ALTER SESSION SET TIMEZONE = 'UTC'");
  }

  @Override
  protected String sqlType(ColumnType type) {
    return switch (type) {
      case STRING -> "VARCHAR";
      case LONG -> "NUMBER(38,0)";
      case DOUBLE -> "FLOAT";
      case BOOLEAN -> "BOOLEAN";
      case TIMESTAMP -> "TIMESTAMP_TZ";
      case JSON -> "VARIANT";
    };
  }

  @Override
  protected ColumnType columnType(String dataType) {
    return switch (dataType) {
      case "NUMBER" -> ColumnType.LONG;
      case "FLOAT" -> ColumnType.DOUBLE;
      case "BOOLEAN" -> ColumnType.BOOLEAN;
      case "VARIANT", "OBJECT", "ARRAY" -> ColumnType.JSON;
      case "TIMESTAMP_TZ" -> ColumnType.TIMESTAMP;
      default -> ColumnType.STRING;
    };
  }

  @Override
  protected String tableOptions(TableSpec spec) {
    return spec.columns().stream().anyMatch(c -> c.name().equals("timestamp"))
        ? " CLUSTER BY (TO_DATE(\"timestamp\"))"
        : "";
  }

  @Override
  protected String createTempTable(String name, String columns) {
    return "CREATE TEMPORARY TABLE " + name + " (" + columns + ")";
  }

  @Override
  protected String createTempTableAs(String name, String select) {
    return "CREATE TEMPORARY TABLE " + name + " AS " + select;
  }

  @Override
  protected void copyIntoStage(Statement s, Map<String, ColumnType> columns, List<StagedFile> files)
      throws SQLException, IOException {
    String folder = "@~/weir/" + UUID.randomUUID() + "/";
    try (LocalFiles local = new LocalFiles(staging, tempDir)) {
      for (StagedFile f : files) {
        s.execute(
            "PUT "
                + literal("file://" + local.path(f.key()))
                + " "
                + folder
                + " AUTO_COMPRESS = FALSE SOURCE_COMPRESSION = GZIP OVERWRITE = TRUE");
      }
    }
    String names =
        columns.keySet().stream().map(StageAndMergeLoader::ident).collect(Collectors.joining(", "));
    String values =
        columns.entrySet().stream()
            .map(
                e ->
                    "$1:"
                        + ident(e.getKey())
                        + (e.getValue() == ColumnType.JSON ? "" : "::" + sqlType(e.getValue())))
            .collect(Collectors.joining(", "));
    s.execute(
        "COPY INTO "
            + STAGE
            + " ("
            + names
            + ") FROM (SELECT "
            + values
            + " FROM "
            + folder
            + ") FILE_FORMAT = (TYPE = JSON COMPRESSION = GZIP) ON_ERROR = ABORT_STATEMENT");
    s.execute("REMOVE " + folder);
  }

  @Override
  protected List<String> swap(String schema, String fresh, String name) {
    return List.of(
        "ALTER TABLE " + schema + "." + ident(fresh) + " SWAP WITH " + schema + "." + ident(name),
        "DROP TABLE " + schema + "." + ident(fresh));
  }

  @Override
  protected List<String> createTableLike(String fresh, String target, TableSpec spec) {
    return List.of("CREATE TABLE " + fresh + " LIKE " + target);
  }

  @Override
  protected String now() {
    return "CURRENT_TIMESTAMP()";
  }

  /** Appends are a MERGE on the key: new keys inserted, existing ones left alone. */
  @Override
  protected boolean appendByMerge() {
    return true;
  }

  /** No object merge in Snowflake SQL: the newer object wins whole. */
  @Override
  protected String jsonMerge(String base, String patch) {
    return "coalesce(" + patch + ", " + base + ")";
  }

  @Override
  protected String timestampLiteral(String text) {
    return "TO_TIMESTAMP_TZ("
        + literal(text.replace("+00", " +00:00"))
        + ", 'YYYY-MM-DD HH24:MI:SS TZH:TZM')";
  }
}
