package weir.node;

import com.typesafe.config.Config;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Starts a node inside the test JVM on free ports with a given data dir and setting overrides. */
public final class TestNodes {
  private TestNodes() {}

  public static WeirNode inProcess(Path dataDir, Map<String, Object> overrides) throws Exception {
    Map<String, Object> settings =
        new LinkedHashMap<>(
            Map.of(
                "weir.data-dir",
                dataDir.toString(),
                "weir.ports.ingest",
                0,
                "weir.ports.admin",
                0,
                "weir.ports.management",
                0,
                "weir.ports.remote",
                0,
                "weir.buffer.tick-interval",
                "100ms",
                "weir.load.tick-interval",
                "100ms"));
    settings.putAll(overrides);
    Config config = WeirNode.defaultConfig();
    for (Map.Entry<String, Object> e : settings.entrySet())
      config = WeirNode.with(config, e.getKey(), e.getValue());
    return WeirNode.start(config);
  }
}
