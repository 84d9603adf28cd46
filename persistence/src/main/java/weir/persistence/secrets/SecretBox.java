package weir.persistence.secrets;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Base64;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Encrypts secret configuration values at rest with AES-256-GCM under the master key ({@code
 * WEIR_MASTER_KEY}, base64 of 32 bytes; in single-node mode generated once into {@code
 * <data-dir>/master-key}, mode 0600). Sealed values look like {@code
 * enc:v1:<base64(iv|ciphertext|tag)>} and are what the registry persists; the clear value exists
 * only in memory where a loader or a signature check needs it. Neither the key nor a clear value
 * ever appears in an exception message.
 */
public final class SecretBox {
  public static final String PREFIX = "enc:v1:";
  public static final String FILE_NAME = "master-key";
  private static final int IV_BYTES = 12;
  private static final int TAG_BITS = 128;
  private static final byte[] AAD = "weir-secret".getBytes(StandardCharsets.UTF_8);

  private final SecretKey key;
  private final SecureRandom random = new SecureRandom();
  private final String source;

  private SecretBox(byte[] key, String source) {
    if (key.length != 32) {
      throw new IllegalArgumentException(
          "The master key must be 32 bytes (base64 of 32 random bytes), got "
              + key.length
              + " bytes from "
              + source
              + ".");
    }
    this.key = new SecretKeySpec(key, "AES");
    this.source = source;
  }

  /** A box over a key given as base64 (from the environment), named {@code source} in messages. */
  public static SecretBox fromBase64(String base64, String source) {
    try {
      return new SecretBox(Base64.getDecoder().decode(base64.strip()), source);
    } catch (IllegalArgumentException e) {
      if (e.getMessage() != null && e.getMessage().startsWith("The master key")) throw e;
      throw new IllegalArgumentException("The master key in " + source + " is not valid base64.");
    }
  }

  /**
   * The configured key, or (when {@code configured} is blank and {@code generate} is true) the one
   * stored in, or newly generated into, {@code dir/master-key}.
   */
  public static SecretBox resolve(String configured, Path dir, boolean generate)
      throws IOException {
    if (!configured.isBlank()) return fromBase64(configured, "WEIR_MASTER_KEY");
    Path file = dir.resolve(FILE_NAME);
    if (!Files.exists(file)) {
      if (!generate)
        throw new IllegalStateException("No master key: set WEIR_MASTER_KEY (base64 of 32 bytes).");
      byte[] fresh = new byte[32];
      new SecureRandom().nextBytes(fresh);
      try {
        Files.createFile(
            file,
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(file, Base64.getEncoder().encodeToString(fresh) + "\n");
      } catch (FileAlreadyExistsException raced) {
        // Another start created it first: use theirs.
      }
    }
    return fromBase64(Files.readString(file), file.toString());
  }

  /** Where the key came from (never the key). */
  public String source() {
    return source;
  }

  public static boolean isSealed(String value) {
    return value != null && value.startsWith(PREFIX);
  }

  /** Encrypts {@code clear}; a value that is already sealed is returned as is. */
  public String seal(String clear) {
    if (clear == null || isSealed(clear)) return clear;
    try {
      byte[] iv = new byte[IV_BYTES];
      random.nextBytes(iv);
      Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
      cipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, iv));
      cipher.updateAAD(AAD);
      byte[] ct = cipher.doFinal(clear.getBytes(StandardCharsets.UTF_8));
      byte[] out = new byte[iv.length + ct.length];
      System.arraycopy(iv, 0, out, 0, iv.length);
      System.arraycopy(ct, 0, out, iv.length, ct.length);
      return PREFIX + Base64.getEncoder().encodeToString(out);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(
          "Encrypting a secret failed (" + e.getClass().getSimpleName() + ")");
    }
  }

  /** Decrypts a sealed value; a value that is not sealed is returned as is. */
  public String open(String sealed) {
    if (!isSealed(sealed)) return sealed;
    try {
      byte[] in = Base64.getDecoder().decode(sealed.substring(PREFIX.length()));
      Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
      cipher.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, in, 0, IV_BYTES));
      cipher.updateAAD(AAD);
      return new String(cipher.doFinal(in, IV_BYTES, in.length - IV_BYTES), StandardCharsets.UTF_8);
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      throw new IllegalStateException(
          "A stored secret cannot be decrypted with the master key from "
              + source
              + " (wrong key?)");
    }
  }
}
