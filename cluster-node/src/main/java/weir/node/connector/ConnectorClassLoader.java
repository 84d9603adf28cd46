package weir.node.connector;

import java.net.URL;
import java.net.URLClassLoader;

/**
 * The class loader of one connector jar: the jar's own classes (and the libraries it bundles) come
 * first, so that a connector never sees the node's versions of them; only the SDK ({@code
 * weir.sdk}) and the JDK come from the node.
 */
public final class ConnectorClassLoader extends URLClassLoader {
  static {
    registerAsParallelCapable();
  }

  public ConnectorClassLoader(URL jar, ClassLoader sdk) {
    super(new URL[] {jar}, sdk);
  }

  @Override
  protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
    if (name.startsWith("java.") || name.startsWith("javax.") || name.startsWith("weir.sdk."))
      return super.loadClass(name, resolve);
    synchronized (getClassLoadingLock(name)) {
      Class<?> c = findLoadedClass(name);
      if (c == null) {
        try {
          c = findClass(name);
        } catch (ClassNotFoundException notInJar) {
          c = getParent().loadClass(name);
        }
      }
      if (resolve) resolveClass(c);
      return c;
    }
  }
}
