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

  public static String describe(Throwable error) {
    Throwable root = of(error);
    return root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
  }
}
