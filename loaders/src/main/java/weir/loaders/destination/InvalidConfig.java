package weir.loaders.destination;

/**
 * A config a type refuses: the sentence names the field ({@code "Field 'config.url' must be a JDBC
 * URL ..."}) and never echoes a secret value. The management API answers it as {@code 400} with
 * {@link #code()}.
 */
public final class InvalidConfig extends Exception {
  private static final long serialVersionUID = 1L;
  private final String code;

  public InvalidConfig(String message) {
    this("invalid_field", message);
  }

  public InvalidConfig(String code, String message) {
    super(message, null, false, false);
    this.code = code;
  }

  public String code() {
    return code;
  }
}
