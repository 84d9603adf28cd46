package weir.node.datasync;

import java.time.LocalDate;
import java.util.Optional;

/**
 * The days a connection's staging archive can be trusted to still hold, the one rule both the
 * export API (refusing exports) and the export feed (leaving days out of a run) apply: with a
 * retention of N days, files are deleted N days after they were loaded, swept hourly, so the days
 * from {@code today - (N - 2)} on are kept (a day of margin); with N of 0 or 1 none is.
 */
public final class ArchiveWindow {
  private ArchiveWindow() {}

  /**
   * The oldest day still archived for {@code retentionDays} (-1: kept forever, empty); with no day
   * archived, tomorrow.
   */
  public static Optional<LocalDate> oldestDay(int retentionDays, LocalDate today) {
    if (retentionDays < 0) return Optional.empty();
    if (retentionDays <= 1) return Optional.of(today.plusDays(1));
    return Optional.of(today.minusDays(retentionDays - 2L));
  }
}
