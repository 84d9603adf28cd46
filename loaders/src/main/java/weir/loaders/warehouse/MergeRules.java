package weir.loaders.warehouse;

import java.util.function.BinaryOperator;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import weir.protocol.TableSpec;

/**
 * The SQL of merge mode's column rules ({@link TableSpec.Merge}), shared by every warehouse: the
 * {@code col = expr, ...} list of an upsert's update, where the incoming row wins by the table's
 * order column.
 */
public final class MergeRules {
  private MergeRules() {}

  /**
   * {@code col = expr, ...} for every non-key column of {@code names} (the declared columns of
   * {@code spec} by their rules, the dynamic ones by {@link TableSpec.Merge#ROW} in a table with
   * ops, else {@link TableSpec.Merge#LATEST}).
   *
   * @param names the columns of the load
   * @param mine how the existing row is named (e.g. {@code t})
   * @param theirs how the incoming row is named (e.g. {@code s}, {@code excluded})
   * @param now the dialect's current time (for {@code loaded_at})
   * @param ident quotes an identifier in the dialect
   * @param jsonMerge the SQL that merges JSON object {@code patch} (second) over {@code base}
   *     (first)
   */
  public static String updates(
      TableSpec spec,
      java.util.List<String> names,
      String mine,
      String theirs,
      String now,
      UnaryOperator<String> ident,
      BinaryOperator<String> jsonMerge) {
    String order = ident.apply(spec.orderColumn());
    String newer = theirs + "." + order + " >= " + mine + "." + order;
    String upsert = theirs + "." + ident.apply(TableSpec.OP) + " = 'upsert'";
    java.util.Map<String, TableSpec.Column> declared = new java.util.HashMap<>();
    spec.columns().forEach(c -> declared.put(c.name(), c));
    TableSpec.Merge dynamic = spec.hasOps() ? TableSpec.Merge.ROW : TableSpec.Merge.LATEST;
    String updates =
        names.stream()
            .filter(n -> !(spec.loadedAt() && n.equals("loaded_at")))
            .map(n -> declared.getOrDefault(n, new TableSpec.Column(n, null, dynamic)))
            .filter(col -> col.merge() != TableSpec.Merge.KEY)
            .map(
                col -> {
                  String n = ident.apply(col.name());
                  String a = mine + "." + n;
                  String b = theirs + "." + n;
                  String expr =
                      switch (col.merge()) {
                        case LATEST ->
                            "CASE WHEN "
                                + newer
                                + " THEN coalesce("
                                + b
                                + ", "
                                + a
                                + ") ELSE coalesce("
                                + a
                                + ", "
                                + b
                                + ") END";
                        case ROW ->
                            "CASE WHEN "
                                + newer
                                + " THEN (CASE WHEN "
                                + upsert
                                + " THEN "
                                + b
                                + " ELSE coalesce("
                                + b
                                + ", "
                                + a
                                + ") END) ELSE coalesce("
                                + a
                                + ", "
                                + b
                                + ") END";
                        case JSON_PATCH ->
                            "CASE WHEN "
                                + newer
                                + " THEN "
                                + jsonMerge.apply(a, b)
                                + " ELSE "
                                + jsonMerge.apply(b, a)
                                + " END";
                        // coalesce both sides: least/greatest of a NULL is NULL in some warehouses
                        // (Snowflake, BigQuery).
                        case MIN ->
                            "least(coalesce(" + a + ", " + b + "), coalesce(" + b + ", " + a + "))";
                        case MAX ->
                            "greatest(coalesce("
                                + a
                                + ", "
                                + b
                                + "), coalesce("
                                + b
                                + ", "
                                + a
                                + "))";
                        case KEY -> throw new IllegalStateException();
                      };
                  return n + " = " + expr;
                })
            .collect(Collectors.joining(", "));
    return spec.loadedAt() ? updates + ", loaded_at = " + now : updates;
  }
}
