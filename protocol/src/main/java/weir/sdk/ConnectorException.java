package weir.sdk;

/**
 * A failure a connector explains to its users (a bad configuration, a source that refuses the
 * credentials): its message is shown in the connection's status as it is.
 */
public class ConnectorException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public ConnectorException(String message) {
    super(message);
  }

  public ConnectorException(String message, Throwable cause) {
    super(message, cause);
  }
}
