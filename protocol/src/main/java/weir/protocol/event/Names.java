package weir.protocol.event;

import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * Warehouse-safe names for tables and columns derived from user data (track event names, property
 * keys): snake_case ASCII, {@code [a-z_][a-z0-9_]*}, at most 63 characters (PostgreSQL's limit, the
 * lowest of the supported warehouses), and never a reserved word of PostgreSQL, Redshift,
 * Snowflake, BigQuery or DuckDB (those get a trailing underscore). The same input always gives the
 * same name.
 */
public final class Names {
  public static final int MAX_LENGTH = 63;

  /** Reserved in at least one supported warehouse. */
  static final Set<String> RESERVED =
      Set.of(
          "all",
          "alter",
          "analyse",
          "analyze",
          "and",
          "any",
          "array",
          "as",
          "asc",
          "asymmetric",
          "at",
          "authorization",
          "between",
          "binary",
          "both",
          "by",
          "case",
          "cast",
          "check",
          "collate",
          "column",
          "constraint",
          "contains",
          "create",
          "cross",
          "cube",
          "current",
          "current_date",
          "current_role",
          "current_time",
          "current_timestamp",
          "current_user",
          "default",
          "deferrable",
          "define",
          "delete",
          "desc",
          "distinct",
          "do",
          "drop",
          "else",
          "end",
          "enum",
          "escape",
          "except",
          "exclude",
          "exists",
          "extract",
          "false",
          "fetch",
          "following",
          "for",
          "foreign",
          "from",
          "full",
          "grant",
          "group",
          "groups",
          "hash",
          "having",
          "if",
          "ignore",
          "ilike",
          "in",
          "increment",
          "initially",
          "inner",
          "insert",
          "interval",
          "intersect",
          "into",
          "is",
          "isnull",
          "join",
          "lateral",
          "leading",
          "left",
          "like",
          "limit",
          "localtime",
          "localtimestamp",
          "lookup",
          "merge",
          "minus",
          "natural",
          "new",
          "no",
          "not",
          "notnull",
          "null",
          "nulls",
          "of",
          "offset",
          "on",
          "only",
          "or",
          "order",
          "outer",
          "over",
          "overlaps",
          "partition",
          "pivot",
          "placing",
          "preceding",
          "primary",
          "qualify",
          "range",
          "recursive",
          "references",
          "regexp",
          "respect",
          "returning",
          "revoke",
          "right",
          "rlike",
          "rollup",
          "row",
          "rows",
          "sample",
          "schema",
          "select",
          "session_user",
          "set",
          "similar",
          "some",
          "start",
          "struct",
          "symmetric",
          "table",
          "tablesample",
          "then",
          "to",
          "trailing",
          "treat",
          "trigger",
          "true",
          "try_cast",
          "unbounded",
          "union",
          "unique",
          "unnest",
          "unpivot",
          "update",
          "user",
          "using",
          "values",
          "variadic",
          "verbose",
          "when",
          "where",
          "window",
          "with",
          "within",
          "without");

  private Names() {}

  private static final Pattern LOWER_THEN_UPPER = Pattern.compile("([a-z0-9])([A-Z])");
  private static final Pattern ACRONYM_THEN_WORD = Pattern.compile("([A-Z]+)([A-Z][a-z])");
  private static final Pattern NOT_ALPHANUMERIC = Pattern.compile("[^a-z0-9]+");
  private static final Pattern EDGE_UNDERSCORES = Pattern.compile("^_+|_+$");
  private static final Pattern TRAILING_UNDERSCORES = Pattern.compile("_+$");

  /**
   * Names already made safe: every staged event asks for its table's and its properties' names, and
   * a stream's names repeat. Bounded (cleared when full), since names come from clients.
   */
  private static final int CACHE_LIMIT = 16_384;

  private static final Map<String, String> CACHE = new ConcurrentHashMap<>();

  /**
   * {@code "Order Completed"} → {@code order_completed}; {@code "productId"} → {@code product_id}.
   */
  public static String safe(String raw) {
    String cached = CACHE.get(raw);
    if (cached != null) return cached;
    String s = compute(raw);
    if (CACHE.size() >= CACHE_LIMIT) CACHE.clear();
    CACHE.put(raw, s);
    return s;
  }

  private static String compute(String raw) {
    String s = LOWER_THEN_UPPER.matcher(raw.strip()).replaceAll("$1_$2");
    s = ACRONYM_THEN_WORD.matcher(s).replaceAll("$1_$2").toLowerCase(Locale.ROOT);
    s = NOT_ALPHANUMERIC.matcher(s).replaceAll("_");
    s = EDGE_UNDERSCORES.matcher(s).replaceAll("");
    if (s.isEmpty()) s = "unnamed";
    if (Character.isDigit(s.charAt(0))) s = "_" + s;
    if (s.length() > MAX_LENGTH)
      s = TRAILING_UNDERSCORES.matcher(s.substring(0, MAX_LENGTH)).replaceAll("");
    if (RESERVED.contains(s))
      s = s.length() < MAX_LENGTH ? s + "_" : s.substring(0, MAX_LENGTH - 1) + "_";
    return s;
  }
}
