package weir.loaders.destination;

import akka.actor.ClassicActorSystemProvider;
import java.nio.file.Path;

/** What a type's {@code open} may use from the node it runs in. */
public interface DestinationContext {
  /** The destination's id (for temp directories and logs). */
  String destinationId();

  /** The node's data directory. */
  Path dataDir();

  /** {@code path} as configured: absolute, or relative to the data directory. */
  default Path resolve(String path) {
    Path p = Path.of(path);
    return p.isAbsolute() ? p : dataDir().resolve(p);
  }

  /** Size at which a staged or delivered file is split into parts. */
  long maxFileBytes();

  /** The actor system (Alpakka's S3 client runs its streams there). */
  ClassicActorSystemProvider system();
}
