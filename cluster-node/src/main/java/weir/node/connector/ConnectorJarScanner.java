package weir.node.connector;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.lang.reflect.Modifier;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarInputStream;
import weir.sdk.SourceConnector;

/**
 * Finds the {@link SourceConnector} implementations of an uploaded jar: public, concrete classes
 * with a public no-argument constructor. Each class is loaded without being initialized (none of
 * the author's code runs), in a class loader of the jar's own whose parent holds the SDK.
 */
public final class ConnectorJarScanner {
  /** A jar that cannot be used as a connector jar; the message says why. */
  public static final class InvalidJar extends Exception {
    private static final long serialVersionUID = 1L;
    private final String code;

    InvalidJar(String code, String message) {
      super(message, null, false, false);
      this.code = code;
    }

    public String code() {
      return code;
    }
  }

  private ConnectorJarScanner() {}

  /** The connector classes of {@code jar}, sorted; {@code scratch} holds the jar meanwhile. */
  public static List<String> classes(byte[] jar, Path scratch) throws InvalidJar, IOException {
    List<String> names = new ArrayList<>();
    try (JarInputStream in = new JarInputStream(new ByteArrayInputStream(jar))) {
      JarEntry e;
      boolean any = false;
      while ((e = in.getNextJarEntry()) != null) {
        any = true;
        String n = e.getName();
        if (n.endsWith(".class") && !n.contains("$") && !n.startsWith("META-INF/"))
          names.add(n.substring(0, n.length() - 6).replace('/', '.'));
      }
      if (!any) throw new InvalidJar("invalid_jar", "The body is not a jar (a zip of classes).");
    } catch (IOException e) {
      throw new InvalidJar("invalid_jar", "The body is not a readable jar: " + e.getMessage());
    }
    Files.createDirectories(scratch);
    Path file = Files.createTempFile(scratch, "connector-", ".jar");
    List<String> found = new ArrayList<>();
    try {
      Files.write(file, jar);
      try (URLClassLoader loader =
          new ConnectorClassLoader(file.toUri().toURL(), SourceConnector.class.getClassLoader())) {
        for (String name : names) {
          try {
            Class<?> c = Class.forName(name, false, loader);
            if (c.getClassLoader() != loader) continue;
            if (!SourceConnector.class.isAssignableFrom(c)) continue;
            if (c.isInterface() || Modifier.isAbstract(c.getModifiers())) continue;
            if (!Modifier.isPublic(c.getModifiers())) continue;
            c.getConstructor();
            found.add(name);
          } catch (ClassNotFoundException | LinkageError | NoSuchMethodException ignored) {
            // not a usable connector class (a helper, a class whose dependencies are elsewhere)
          }
        }
      }
    } finally {
      Files.deleteIfExists(file);
    }
    if (found.isEmpty())
      throw new InvalidJar(
          "no_connector_class",
          "The jar holds no public class implementing weir.sdk.SourceConnector with a public"
              + " no-argument constructor.");
    java.util.Collections.sort(found);
    return found;
  }
}
