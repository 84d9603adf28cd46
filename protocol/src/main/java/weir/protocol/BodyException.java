package weir.protocol;

/**
 * The request body as a whole cannot be used (unparseable, empty, unsupported): nothing of it is
 * accepted. {@link #code()} is the stable snake_case error code; the message is safe to return to
 * the client.
 */
public final class BodyException extends Exception {
  private static final long serialVersionUID = 1L;
  private final String code;

  public BodyException(String code, String message) {
    super(message, null, false, false);
    this.code = code;
  }

  public String code() {
    return code;
  }
}
