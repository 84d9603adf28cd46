package weir.sdk;

import java.math.BigDecimal;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;

/**
 * The rules for values a connector emits: the column type a Java value infers ({@link #typeOf}) and
 * the type a column widens to when values of another type arrive ({@link #widen}). The same rules
 * apply wherever a connector runs (the cluster, {@code connector debug}, the test harness).
 */
public final class Values {
  private Values() {}

  /**
   * The type {@code value} infers; null for null (it infers nothing).
   *
   * @throws IllegalArgumentException for a value no column can hold (another class)
   */
  public static ColumnType typeOf(Object value) {
    if (value == null) return null;
    if (value instanceof Boolean) return ColumnType.BOOLEAN;
    if (value instanceof Short) return ColumnType.SHORT;
    if (value instanceof Integer) return ColumnType.INT;
    if (value instanceof Long) return ColumnType.LONG;
    if (value instanceof BigDecimal) return ColumnType.DECIMAL;
    if (value instanceof Float) return ColumnType.FLOAT;
    if (value instanceof Double) return ColumnType.DOUBLE;
    if (value instanceof LocalDate) return ColumnType.NAIVE_DATE;
    if (value instanceof LocalDateTime) return ColumnType.NAIVE_DATETIME;
    if (value instanceof Instant || value instanceof OffsetDateTime) return ColumnType.UTC_DATETIME;
    if (value instanceof byte[]) return ColumnType.BINARY;
    if (value instanceof CharSequence) return ColumnType.STRING;
    if (value instanceof Map<?, ?> || value instanceof List<?>) return ColumnType.JSON;
    throw new IllegalArgumentException(
        "a "
            + value.getClass().getName()
            + " is not a column value (use Boolean, Short, Integer, Long, BigDecimal, Float, Double,"
            + " LocalDate, LocalDateTime, Instant, OffsetDateTime, byte[], String, Map or List)");
  }

  /**
   * The type a column of {@code current} becomes to take a value of {@code incoming}: itself when
   * it holds it (a wider number takes a narrower one), the wider of two numbers, DOUBLE for a
   * decimal meeting a floating number, else STRING.
   */
  public static ColumnType widen(ColumnType current, ColumnType incoming) {
    if (current == null) return incoming;
    if (incoming == null || current == incoming) return current;
    int a = rank(current);
    int b = rank(incoming);
    if (a >= 0 && b >= 0) {
      if ((current == ColumnType.DECIMAL || incoming == ColumnType.DECIMAL)
          && (isFloating(current) || isFloating(incoming))) return ColumnType.DOUBLE;
      return a >= b ? current : incoming;
    }
    if (current == ColumnType.UTC_DATETIME && incoming == ColumnType.NAIVE_DATETIME) return current;
    return ColumnType.STRING;
  }

  private static boolean isFloating(ColumnType t) {
    return t == ColumnType.FLOAT || t == ColumnType.DOUBLE;
  }

  /** Numbers from narrow to wide; -1 for other types. */
  private static int rank(ColumnType t) {
    return switch (t) {
      case SHORT -> 0;
      case INT -> 1;
      case LONG -> 2;
      case DECIMAL -> 3;
      case FLOAT -> 4;
      case DOUBLE -> 5;
      default -> -1;
    };
  }
}
