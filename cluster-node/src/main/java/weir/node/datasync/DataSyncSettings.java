package weir.node.datasync;

import com.typesafe.config.Config;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalTime;
import weir.node.Backoff;

/**
 * Settings of Data Sync exports and imports, from {@code weir.datasync}.
 *
 * @param workspaceId the {@code <workspace>} of export paths; blank: the cluster's name
 * @param dailyAt when (UTC) recurring exports run each day
 * @param checkInterval how often a feed checks for due recurring exports and changed page rules
 * @param retry delays between attempts of a failed export run
 * @param maxAttempts attempts of one run before it is given up (shown as failed)
 * @param scratchDir where files being exported are spooled before upload
 */
public record DataSyncSettings(
    String workspaceId,
    LocalTime dailyAt,
    Duration checkInterval,
    Backoff retry,
    int maxAttempts,
    Path scratchDir) {

  public static DataSyncSettings fromConfig(Config weir, Path dataDir, String clusterName) {
    Config c = weir.getConfig("datasync");
    String workspace = c.getString("workspace-id").strip();
    if (workspace.isEmpty()) workspace = clusterName;
    if (!workspace.matches("[A-Za-z0-9_.-]{1,128}"))
      throw new IllegalArgumentException(
          "weir.datasync.workspace-id must be 1 to 128 letters, digits, '_', '.' or '-'");
    LocalTime at;
    try {
      at = LocalTime.parse(c.getString("daily-at").strip());
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(
          "weir.datasync.daily-at must be a UTC time of day (HH:mm or HH:mm:ss), got '"
              + c.getString("daily-at")
              + "'");
    }
    int attempts = c.getInt("max-attempts");
    if (attempts < 1) throw new IllegalArgumentException("weir.datasync.max-attempts must be >= 1");
    return new DataSyncSettings(
        workspace,
        at,
        c.getDuration("check-interval"),
        Backoff.fromConfig(c.getConfig("backoff")),
        attempts,
        dataDir.resolve("datasync-scratch"));
  }
}
