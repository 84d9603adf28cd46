package weir.protocol.datasync;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import org.apache.avro.Schema;

/**
 * The Avro schemas of the files of a Data Sync export ({@code weir/protocol/datasync/*.avsc}):
 * events ({@code allevents.avro}), matched events ({@code matchedEvents/<Type>/<id>.avro}) and
 * definitions ({@code allpages.avro}, {@code alltracktypes.avro}, {@code allfeatures.avro}, {@code
 * allguides.avro}). Loaders never rely on them: they read each file's own schema, so real Pendo
 * files load too.
 */
public final class DataSyncSchemas {
  public static final Schema EVENT = load("event.avsc");
  public static final Schema MATCHED_EVENT = load("matched_event.avsc");
  public static final Schema DEFINITION = load("definition.avsc");

  private DataSyncSchemas() {}

  private static Schema load(String name) {
    try (InputStream in =
        DataSyncSchemas.class.getResourceAsStream("/weir/protocol/datasync/" + name)) {
      return new Schema.Parser().parse(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
