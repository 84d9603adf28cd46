package weir.node.admin;

/**
 * A management request that cannot be applied: answered {@code 400} (or {@link #status}) with its
 * code.
 */
final class BadRequest extends Exception {
  private static final long serialVersionUID = 1L;
  final int status;
  final String code;

  BadRequest(String code, String message) {
    this(400, code, message);
  }

  BadRequest(int status, String code, String message) {
    super(message, null, false, false);
    this.status = status;
    this.code = code;
  }
}
