package weir.protocol.event;

import java.time.DateTimeException;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;

/**
 * ISO-8601 timestamps as clients send them ({@code 2026-12-01T13:18:45.123Z}, {@code
 * 2026-12-01T14:18:45+01:00}), read without {@link java.time.format.DateTimeFormatter}: every
 * Segment message carries two or three of them, and the formatter's generic parse was the largest
 * single cost of parsing one. The common shape is read here digit by digit; anything else goes to
 * {@link OffsetDateTime#parse} and then {@link Instant#parse}, so what is accepted and refused is
 * exactly what those accept and refuse.
 */
public final class Timestamps {
  private Timestamps() {}

  /**
   * The instant {@code text} names.
   *
   * @throws DateTimeParseException if neither {@link OffsetDateTime#parse} nor {@link
   *     Instant#parse} reads it
   */
  public static Instant parse(String text) {
    Instant fast = common(text);
    if (fast != null) return fast;
    try {
      return OffsetDateTime.parse(text).toInstant();
    } catch (DateTimeParseException e) {
      return Instant.parse(text);
    }
  }

  /** {@code yyyy-MM-ddTHH:mm:ss[.f{1,9}](Z|±HH:MM)}, or null for any other shape or a bad field. */
  private static Instant common(String s) {
    int n = s.length();
    if (n < 20
        || s.charAt(4) != '-'
        || s.charAt(7) != '-'
        || s.charAt(10) != 'T'
        || s.charAt(13) != ':'
        || s.charAt(16) != ':') return null;
    int year = digits(s, 0, 4);
    int month = digits(s, 5, 2);
    int day = digits(s, 8, 2);
    int hour = digits(s, 11, 2);
    int minute = digits(s, 14, 2);
    int second = digits(s, 17, 2);
    if ((year | month | day | hour | minute | second) < 0) return null;
    if (hour > 23 || minute > 59 || second > 59) return null;
    int i = 19;
    int nanos = 0;
    if (s.charAt(i) == '.') {
      int start = ++i;
      while (i < n && i - start < 10 && isDigit(s.charAt(i))) {
        nanos = nanos * 10 + (s.charAt(i) - '0');
        i++;
      }
      int fractionDigits = i - start;
      if (fractionDigits == 0 || fractionDigits > 9) return null;
      for (int k = fractionDigits; k < 9; k++) nanos *= 10;
    }
    if (i >= n) return null;
    int offsetSeconds;
    char sign = s.charAt(i);
    if (sign == 'Z') {
      if (i + 1 != n) return null;
      offsetSeconds = 0;
    } else if (sign == '+' || sign == '-') {
      if (i + 6 != n || s.charAt(i + 3) != ':') return null;
      int oh = digits(s, i + 1, 2);
      int om = digits(s, i + 4, 2);
      if ((oh | om) < 0 || oh > 18 || om > 59 || (oh == 18 && om != 0)) return null;
      offsetSeconds = (oh * 3600 + om * 60) * (sign == '-' ? -1 : 1);
    } else {
      return null;
    }
    long epochDay;
    try {
      epochDay = LocalDate.of(year, month, day).toEpochDay();
    } catch (DateTimeException e) {
      return null; // let the formatter word the refusal
    }
    long seconds = epochDay * 86_400 + hour * 3600L + minute * 60L + second - offsetSeconds;
    return Instant.ofEpochSecond(seconds, nanos);
  }

  /**
   * {@code t.toString()} (ISO-8601, UTC, the fraction in groups of three digits as needed), written
   * digit by digit for the years 1 to 9999, the ones a stored event has; {@link Instant#toString}
   * for any other. A canonical row holds four of them, and the formatter was a tenth of writing it.
   */
  public static String iso(Instant t) {
    if (!CanonicalEvent.storable(t)) return t.toString();
    long seconds = t.getEpochSecond();
    int secondOfDay = (int) Math.floorMod(seconds, 86_400);
    LocalDate date = LocalDate.ofEpochDay(Math.floorDiv(seconds, 86_400));
    int year = date.getYear();
    char[] out = new char[30];
    put(out, 0, year, 4);
    out[4] = '-';
    put(out, 5, date.getMonthValue(), 2);
    out[7] = '-';
    put(out, 8, date.getDayOfMonth(), 2);
    out[10] = 'T';
    put(out, 11, secondOfDay / 3600, 2);
    out[13] = ':';
    put(out, 14, secondOfDay / 60 % 60, 2);
    out[16] = ':';
    put(out, 17, secondOfDay % 60, 2);
    int n = 19;
    int nanos = t.getNano();
    if (nanos > 0) {
      out[n++] = '.';
      if (nanos % 1_000_000 == 0) {
        put(out, n, nanos / 1_000_000, 3);
        n += 3;
      } else if (nanos % 1_000 == 0) {
        put(out, n, nanos / 1_000, 6);
        n += 6;
      } else {
        put(out, n, nanos, 9);
        n += 9;
      }
    }
    out[n++] = 'Z';
    return new String(out, 0, n);
  }

  /** {@code value} as {@code width} decimal digits (leading zeros) at {@code at}. */
  private static void put(char[] out, int at, int value, int width) {
    for (int i = at + width - 1; i >= at; i--) {
      out[i] = (char) ('0' + value % 10);
      value /= 10;
    }
  }

  private static int digits(String s, int from, int count) {
    int v = 0;
    for (int i = from; i < from + count; i++) {
      char c = s.charAt(i);
      if (!isDigit(c)) return -1;
      v = v * 10 + (c - '0');
    }
    return v;
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }
}
