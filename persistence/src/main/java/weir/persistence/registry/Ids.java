package weir.persistence.registry;

import java.security.SecureRandom;
import java.util.Base64;
import java.util.Locale;

/** Random identifiers and keys of registry entries. */
public final class Ids {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final char[] ALPHABET = "abcdefghijklmnopqrstuvwxyz234567".toCharArray();

  private Ids() {}

  /**
   * A connection or destination id: a prefix and 16 base32 characters (80 random bits), URL-safe.
   */
  public static String newId(String prefix) {
    StringBuilder out = new StringBuilder(prefix.toLowerCase(Locale.ROOT)).append('_');
    for (int i = 0; i < 16; i++) out.append(ALPHABET[RANDOM.nextInt(ALPHABET.length)]);
    return out.toString();
  }

  /** A write key or token: 256 random bits, base64url without padding. */
  public static String newSecret() {
    byte[] bytes = new byte[32];
    RANDOM.nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }
}
