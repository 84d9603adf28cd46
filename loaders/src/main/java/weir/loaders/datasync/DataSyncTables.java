package weir.loaders.datasync;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import weir.protocol.ColumnType;
import weir.protocol.TableSpec;
import weir.protocol.event.Names;

/**
 * The warehouse tables a Data Sync export loads into, and their declared columns.
 *
 * <ul>
 *   <li>{@code allevents}: every event of each period; {@code _weir_row}, {@code period_id}, then
 *       the files' fields
 *   <li>{@code matched_<type>_events} ({@code matched_page_events}, {@code matched_feature_events},
 *       {@code matched_track_type_events}): the events of each matchable; {@code _weir_row}, {@code
 *       period_id}, {@code matchable_id}, then the files' fields
 *   <li>{@code allpages}, {@code allfeatures}, {@code alltracktypes}, {@code allguides}: the
 *       definitions, replaced whole; {@code _weir_row}, then the files' fields
 * </ul>
 *
 * {@code _weir_row} ({@code <export folder>/<file>:<row index>}) is the key: unique and the same
 * whenever the same export is loaded again. {@code period_id} is the period's UTC midnight
 * (TIMESTAMP) and {@code matchable_id} the id after {@code <Type>/}, both from the bill of
 * materials (they win over the file's own {@code periodId} and {@code matchableId}). Every table
 * has dynamic columns, so a later file with a new field adds a column to a table created before,
 * and {@code loaded_at}.
 */
final class DataSyncTables {
  private DataSyncTables() {}

  static final String ALL_EVENTS = "allevents";
  static final String ROW = "_weir_row";
  static final String PERIOD = "period_id";
  static final String MATCHABLE = "matchable_id";

  /** Column names a file's field must not take (it is renamed). */
  static final List<String> TAKEN = List.of(ROW, "loaded_at");

  /** The table of the matched events of {@code type} ({@code Page}, {@code TrackType}, ...). */
  static String matched(String type) {
    return "matched_" + Names.safe(type) + "_events";
  }

  /** The columns of a table that the loader fills in, before the files' fields. */
  static Map<String, ColumnType> base(Kind kind) {
    Map<String, ColumnType> out = new LinkedHashMap<>();
    out.put(ROW, ColumnType.STRING);
    if (kind != Kind.DEFINITIONS) out.put(PERIOD, ColumnType.TIMESTAMP);
    if (kind == Kind.MATCHED) out.put(MATCHABLE, ColumnType.STRING);
    return out;
  }

  /** What a table holds. */
  enum Kind {
    ALL_EVENTS,
    MATCHED,
    DEFINITIONS
  }

  /** The spec of a table with {@code columns} (base columns first). */
  static TableSpec spec(String name, Kind kind, Map<String, ColumnType> columns) {
    List<TableSpec.Column> cols = new ArrayList<>();
    columns.forEach((n, t) -> cols.add(new TableSpec.Column(n, t)));
    TableSpec.Mode mode = kind == Kind.DEFINITIONS ? TableSpec.Mode.REPLACE : TableSpec.Mode.APPEND;
    return new TableSpec(name, cols, ROW, mode, true, true, null);
  }
}
