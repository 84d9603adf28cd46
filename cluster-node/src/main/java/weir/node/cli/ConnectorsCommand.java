package weir.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code admin connectors}: lists uploaded connector jars; {@code upload JAR} stores one. */
@Command(
    name = "connectors",
    description = "List uploaded Connector SDK jars (or upload one).",
    subcommands = ConnectorsCommand.Upload.class)
final class ConnectorsCommand implements Callable<Integer> {
  @ParentCommand AdminCommand admin;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws CommandFailure {
    TextTable t = new TextTable("id", "classes", "size_bytes", "uploaded_at");
    for (JsonNode j : admin.api().get("/v1/admin/connectors").get("connectors")) {
      List<String> classes = new ArrayList<>();
      j.get("classes").forEach(c -> classes.add(c.asText()));
      t.row(
          j.get("id").asText(),
          String.join(", ", classes),
          j.get("size_bytes").asText(),
          j.get("uploaded_at").asText());
    }
    t.print(spec.commandLine().getOut());
    return 0;
  }

  /** {@code admin connectors upload JAR}. */
  @Command(name = "upload", description = "Upload a connector jar; prints its id and classes.")
  static final class Upload implements Callable<Integer> {
    @ParentCommand ConnectorsCommand connectors;

    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "JAR", description = "The jar file.")
    Path jar;

    @Override
    public Integer call() throws CommandFailure {
      byte[] bytes;
      try {
        bytes = Files.readAllBytes(jar);
      } catch (IOException e) {
        throw CommandFailure.failed("Cannot read " + jar + ": " + e.getMessage());
      }
      JsonNode j =
          connectors
              .admin
              .api()
              .postBytes("/v1/admin/connectors", "application/java-archive", bytes);
      List<String> classes = new ArrayList<>();
      j.get("classes").forEach(c -> classes.add(c.asText()));
      spec.commandLine()
          .getOut()
          .println("Connector jar " + j.get("id").asText() + ": " + String.join(", ", classes));
      return 0;
    }
  }
}
