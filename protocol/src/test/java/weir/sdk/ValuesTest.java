package weir.sdk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigDecimal;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ValuesTest {
  @Test
  void javaValuesInferTheirColumnTypes() {
    assertThat(Values.typeOf(true)).isEqualTo(ColumnType.BOOLEAN);
    assertThat(Values.typeOf((short) 1)).isEqualTo(ColumnType.SHORT);
    assertThat(Values.typeOf(1)).isEqualTo(ColumnType.INT);
    assertThat(Values.typeOf(1L)).isEqualTo(ColumnType.LONG);
    assertThat(Values.typeOf(new BigDecimal("1.5"))).isEqualTo(ColumnType.DECIMAL);
    assertThat(Values.typeOf(1.5f)).isEqualTo(ColumnType.FLOAT);
    assertThat(Values.typeOf(1.5)).isEqualTo(ColumnType.DOUBLE);
    assertThat(Values.typeOf(LocalDate.EPOCH)).isEqualTo(ColumnType.NAIVE_DATE);
    assertThat(Values.typeOf(LocalDateTime.MIN)).isEqualTo(ColumnType.NAIVE_DATETIME);
    assertThat(Values.typeOf(Instant.EPOCH)).isEqualTo(ColumnType.UTC_DATETIME);
    assertThat(Values.typeOf(new byte[1])).isEqualTo(ColumnType.BINARY);
    assertThat(Values.typeOf("x")).isEqualTo(ColumnType.STRING);
    assertThat(Values.typeOf(Map.of())).isEqualTo(ColumnType.JSON);
    assertThat(Values.typeOf(List.of())).isEqualTo(ColumnType.JSON);
    assertThat(Values.typeOf(null)).isNull();
    assertThatThrownBy(() -> Values.typeOf(new Object()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("is not a column value");
  }

  @Test
  void aColumnWidensToTakeEveryValueSeen() {
    assertThat(Values.widen(ColumnType.INT, ColumnType.LONG)).isEqualTo(ColumnType.LONG);
    assertThat(Values.widen(ColumnType.LONG, ColumnType.INT)).isEqualTo(ColumnType.LONG);
    assertThat(Values.widen(ColumnType.LONG, ColumnType.DECIMAL)).isEqualTo(ColumnType.DECIMAL);
    assertThat(Values.widen(ColumnType.DECIMAL, ColumnType.DOUBLE)).isEqualTo(ColumnType.DOUBLE);
    assertThat(Values.widen(ColumnType.INT, ColumnType.STRING)).isEqualTo(ColumnType.STRING);
    assertThat(Values.widen(ColumnType.BOOLEAN, ColumnType.INT)).isEqualTo(ColumnType.STRING);
    assertThat(Values.widen(ColumnType.UTC_DATETIME, ColumnType.NAIVE_DATETIME))
        .isEqualTo(ColumnType.UTC_DATETIME);
    assertThat(Values.widen(null, ColumnType.JSON)).isEqualTo(ColumnType.JSON);
    assertThat(Values.widen(ColumnType.JSON, null)).isEqualTo(ColumnType.JSON);
  }
}
