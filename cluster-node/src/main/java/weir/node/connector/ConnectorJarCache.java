package weir.node.connector;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.SQLException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import weir.persistence.connectors.ConnectorJars;
import weir.sdk.ConnectorException;
import weir.sdk.SourceConnector;

/**
 * The connectors this node runs: each uploaded jar (read from the journal database once, kept in
 * {@code <dir>/<sha256>.jar}) in its own {@link ConnectorClassLoader}, kept for the node's life (a
 * jar's content never changes: its id is its hash).
 */
public final class ConnectorJarCache {
  private final ConnectorJars jars;
  private final Path dir;
  private final Map<String, ConnectorClassLoader> loaders = new ConcurrentHashMap<>();

  public ConnectorJarCache(ConnectorJars jars, Path dir) {
    this.jars = jars;
    this.dir = dir;
  }

  /** A new instance of {@code className} from jar {@code jarId}. */
  public SourceConnector instantiate(String jarId, String className) throws IOException {
    ClassLoader loader = loader(jarId);
    Class<?> c;
    try {
      c = Class.forName(className, true, loader);
    } catch (ClassNotFoundException | LinkageError e) {
      throw new ConnectorException(
          "class " + className + " cannot be loaded from jar " + jarId + ": " + e);
    }
    if (!SourceConnector.class.isAssignableFrom(c))
      throw new ConnectorException(className + " does not implement weir.sdk.SourceConnector");
    try {
      return (SourceConnector) c.getConstructor().newInstance();
    } catch (ReflectiveOperationException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      throw new ConnectorException(className + " cannot be instantiated: " + cause, cause);
    }
  }

  private ClassLoader loader(String jarId) throws IOException {
    ConnectorClassLoader loader = loaders.get(jarId);
    if (loader != null) return loader;
    synchronized (this) {
      loader = loaders.get(jarId);
      if (loader != null) return loader;
      Path file = dir.resolve(jarId + ".jar");
      if (!Files.exists(file)) {
        byte[] bytes;
        try {
          bytes =
              jars.bytes(jarId)
                  .orElseThrow(
                      () -> new ConnectorException("connector jar " + jarId + " is not uploaded"));
        } catch (SQLException e) {
          throw new IOException("reading connector jar " + jarId + " failed: " + e.getMessage(), e);
        }
        if (!ConnectorJars.idOf(bytes).equals(jarId))
          throw new IOException("connector jar " + jarId + " does not match its hash");
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, jarId, ".tmp");
        Files.write(tmp, bytes);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      }
      loader =
          new ConnectorClassLoader(file.toUri().toURL(), SourceConnector.class.getClassLoader());
      loaders.put(jarId, loader);
      return loader;
    }
  }
}
