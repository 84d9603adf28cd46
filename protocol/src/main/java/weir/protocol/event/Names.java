package weir.protocol.event;

import java.util.Locale;
import java.util.Set;

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

  /**
   * {@code "Order Completed"} → {@code order_completed}; {@code "productId"} → {@code product_id}.
   */
  public static String safe(String raw) {
    String s =
        raw.strip()
            .replaceAll("([a-z0-9])([A-Z])", "$1_$2")
            .replaceAll("([A-Z]+)([A-Z][a-z])", "$1_$2")
            .toLowerCase(Locale.ROOT)
            .replaceAll("[^a-z0-9]+", "_")
            .replaceAll("^_+|_+$", "");
    if (s.isEmpty()) s = "unnamed";
    if (Character.isDigit(s.charAt(0))) s = "_" + s;
    if (s.length() > MAX_LENGTH) s = s.substring(0, MAX_LENGTH).replaceAll("_+$", "");
    if (RESERVED.contains(s))
      s = s.length() < MAX_LENGTH ? s + "_" : s.substring(0, MAX_LENGTH - 1) + "_";
    return s;
  }
}
