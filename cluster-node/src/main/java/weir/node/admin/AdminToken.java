package weir.node.admin;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import weir.persistence.registry.Ids;

/**
 * The management API's bearer token: from configuration ({@code WEIR_ADMIN_TOKEN}), or in
 * single-node mode generated once into {@code <data-dir>/admin-token} with mode 0600. Checks
 * compare in constant time.
 */
public final class AdminToken {
  public static final String FILE_NAME = "admin-token";

  private final byte[] token;
  private final String source;

  private AdminToken(String token, String source) {
    this.token = token.getBytes(StandardCharsets.UTF_8);
    this.source = source;
  }

  /** The configured token, or the one stored in (or newly generated into) {@code dataDir}. */
  public static AdminToken resolve(String configured, Path dataDir) throws IOException {
    if (!configured.isBlank()) return new AdminToken(configured.strip(), "WEIR_ADMIN_TOKEN");
    Path file = dataDir.resolve(FILE_NAME);
    if (!Files.exists(file)) {
      try {
        Files.createFile(
            file,
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(file, Ids.newSecret() + "\n");
      } catch (FileAlreadyExistsException raced) {
        // Another start created it first: use theirs.
      }
    }
    return new AdminToken(Files.readString(file).strip(), file.toString());
  }

  /** Where the token came from (a file path or the variable name), never the token. */
  public String source() {
    return source;
  }

  /** True when {@code candidate} is the token (constant time). */
  public boolean matches(String candidate) {
    return candidate != null
        && MessageDigest.isEqual(token, candidate.getBytes(StandardCharsets.UTF_8));
  }
}
