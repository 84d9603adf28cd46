package weir.protocol.webhook;

import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The {@code X-Weir-Signature: sha256=<hex HMAC-SHA256 of the raw body>} check of signed webhook
 * connections. Comparison is in constant time.
 */
public final class WebhookSignature {
  public static final String HEADER = "X-Weir-Signature";
  private static final String PREFIX = "sha256=";

  private WebhookSignature() {}

  /** The header value a sender computes for {@code body} with {@code secret}. */
  public static String sign(String secret, byte[] body) {
    return PREFIX + HexFormat.of().formatHex(hmac(secret, body));
  }

  /** True when {@code headerValue} is the signature of {@code body} under {@code secret}. */
  public static boolean verify(String secret, byte[] body, String headerValue) {
    if (headerValue == null || !headerValue.regionMatches(true, 0, PREFIX, 0, PREFIX.length())) {
      return false;
    }
    byte[] given;
    try {
      given = HexFormat.of().parseHex(headerValue.substring(PREFIX.length()).trim());
    } catch (IllegalArgumentException e) {
      return false;
    }
    return MessageDigest.isEqual(hmac(secret, body), given);
  }

  private static byte[] hmac(String secret, byte[] body) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      return mac.doFinal(body);
    } catch (NoSuchAlgorithmException | InvalidKeyException e) {
      throw new IllegalStateException("HmacSHA256 unavailable", e);
    }
  }
}
