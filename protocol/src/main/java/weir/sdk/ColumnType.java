package weir.sdk;

/**
 * Column types a connector may declare (Fivetran's); undeclared columns are inferred from the Java
 * values: Boolean BOOLEAN, Short SHORT, Integer INT, Long LONG, BigDecimal DECIMAL, Float FLOAT,
 * Double DOUBLE, LocalDate NAIVE_DATE, LocalDateTime NAIVE_DATETIME, Instant and OffsetDateTime
 * UTC_DATETIME, byte[] BINARY, String STRING, Map and List JSON.
 */
public enum ColumnType {
  BOOLEAN,
  SHORT,
  INT,
  LONG,
  DECIMAL,
  FLOAT,
  DOUBLE,
  NAIVE_DATE,
  NAIVE_DATETIME,
  UTC_DATETIME,
  BINARY,
  XML,
  STRING,
  JSON
}
