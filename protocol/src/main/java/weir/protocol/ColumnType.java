package weir.protocol;

/** Warehouse-neutral column types; each loader maps them to its own SQL types. */
public enum ColumnType {
  STRING,
  LONG,
  DOUBLE,
  BOOLEAN,
  TIMESTAMP,
  JSON
}
