package weir.node;

import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * The message of a failure's root cause, unwrapped from the future wrappers, for status and logs.
 */
public final class RootCause {
  private RootCause() {}

  public static Throwable of(Throwable error) {
    Throwable root = error;
    while ((root instanceof CompletionException || root instanceof ExecutionException)
        && root.getCause() != null) {
      root = root.getCause();
    }
    return root;
  }

  /**
   * The root cause's message; when a TLS failure lies under it (Kafka's "SSL handshake failed"
   * wraps "PKIX path building failed ..."), that cause's message too, so an operator sees why.
   */
  public static String describe(Throwable error) {
    Throwable root = of(error);
    String message =
        root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
    for (Throwable c = root.getCause(); c != null && c != c.getCause(); c = c.getCause()) {
      if (c instanceof javax.net.ssl.SSLException && c.getMessage() != null) {
        if (!message.contains(c.getMessage())) message = message + ": " + c.getMessage();
        break;
      }
    }
    return message;
  }
}
