package weir.protocol.event;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class TimestampsTest {

  /** What the formatter reads, or null where it refuses. */
  private static Instant reference(String text) {
    try {
      return OffsetDateTime.parse(text).toInstant();
    } catch (DateTimeParseException e) {
      try {
        return Instant.parse(text);
      } catch (DateTimeParseException e2) {
        return null;
      }
    }
  }

  private static void agrees(String text) {
    Instant expected = reference(text);
    if (expected == null) {
      assertThrows(DateTimeParseException.class, () -> Timestamps.parse(text), text);
    } else {
      assertEquals(expected, Timestamps.parse(text), text);
    }
  }

  @Test
  void readsWhatTheFormatterReadsAndRefusesWhatItRefuses() {
    List.of(
            "2026-12-01T13:18:45Z",
            "2026-12-01T13:18:45.1Z",
            "2026-12-01T13:18:45.123Z",
            "2026-12-01T13:18:45.123456789Z",
            "2026-12-01T13:18:45.1234567890Z",
            "2026-12-01T13:18:45+01:00",
            "2026-12-01T13:18:45.5-05:30",
            "2026-12-01T13:18:45-00:00",
            "2026-12-01T13:18:45+18:00",
            "2026-12-01T13:18:45+18:01",
            "2026-12-01T13:18:45+19:00",
            "2026-12-01T13:18:45+0100",
            "2026-12-01T13:18:45+01:00:30",
            "2026-12-01T13:18Z",
            "2026-12-01T24:00:00Z",
            "2026-12-01T23:60:00Z",
            "2026-12-01T23:59:60Z",
            "2026-02-29T00:00:00Z",
            "2024-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-00-01T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "0000-01-01T00:00:00Z",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999Z",
            "+10000-01-01T00:00:00Z",
            "2026-12-01 13:18:45Z",
            "2026-12-01T13:18:45.Z",
            "2026-12-01T13:18:45",
            "2026-12-01T13:18:45z",
            "2026-12-01T13:18:45ZZ",
            "2026-12-01T13:18:45+01:00 ",
            "２０２６-12-01T13:18:45Z",
            "2026-1a-01T13:18:45Z",
            "",
            "yesterday")
        .forEach(TimestampsTest::agrees);
  }

  @Test
  void agreesWithTheFormatterOnRandomInstantsAndOffsets() {
    Random random = new Random(42);
    DateTimeFormatter withMillis = DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSXXX");
    for (int i = 0; i < 20_000; i++) {
      Instant t =
          Instant.ofEpochSecond(
              random.nextLong(-62_135_596_800L, 253_402_300_799L), random.nextInt(1_000_000_000));
      ZoneOffset offset = ZoneOffset.ofTotalSeconds(random.nextInt(-18 * 60, 18 * 60 + 1) * 60);
      OffsetDateTime local = t.atOffset(offset);
      agrees(local.toString());
      agrees(withMillis.format(local));
      agrees(t.toString());
    }
  }

  @Test
  void writesWhatInstantToStringWrites() {
    Random random = new Random(7);
    for (int i = 0; i < 50_000; i++) {
      long seconds =
          random.nextLong(-62_135_596_800L - 86_400L * 400, 253_402_300_799L + 86_400L * 400);
      int nanos =
          switch (i % 4) {
            case 0 -> 0;
            case 1 -> random.nextInt(1000) * 1_000_000;
            case 2 -> random.nextInt(1_000_000) * 1_000;
            default -> random.nextInt(1_000_000_000);
          };
      Instant t = Instant.ofEpochSecond(seconds, nanos);
      assertEquals(t.toString(), Timestamps.iso(t));
    }
    for (Instant t :
        List.of(
            Instant.EPOCH,
            Instant.MIN,
            Instant.MAX,
            Instant.parse("0001-01-01T00:00:00Z"),
            Instant.parse("9999-12-31T23:59:59.999999999Z"),
            Instant.parse("1969-12-31T23:59:59.000000001Z"),
            Instant.parse("2026-12-02T02:33:00.120Z"))) {
      assertEquals(t.toString(), Timestamps.iso(t));
    }
  }
}
