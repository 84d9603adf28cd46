package weir.node.datasync;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.LocalDate;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;
import weir.loaders.datasync.ExportWriter;
import weir.loaders.staging.StagingStore;
import weir.node.load.DestinationRuntimes;
import weir.persistence.registry.Connection;
import weir.persistence.registry.ConnectionKind;
import weir.protocol.datasync.BillOfMaterials;
import weir.protocol.datasync.ExportManifest;

/**
 * Runs an export feed's runs: the connection's staging archive (the staging store of its
 * destination) is read and the export written into the data lake's store by {@link ExportWriter},
 * then listed. Blocking, on the node's blocking executor.
 */
public final class ExportRunner implements ExportFeed.Runner {
  private final DestinationRuntimes runtimes;
  private final DataSyncSettings settings;
  private final long maxFileBytes;

  public ExportRunner(DestinationRuntimes runtimes, DataSyncSettings settings, long maxFileBytes) {
    this.runtimes = runtimes;
    this.settings = settings;
    this.maxFileBytes = maxFileBytes;
  }

  @Override
  public CompletionStage<ExportFeed.Published> run(
      Connection connection,
      String destinationId,
      ExportFeed.Run run,
      long lastCounter,
      Consumer<String> progress) {
    return runtimes.withStores(
        connection.destinationId(),
        destinationId,
        (archive, lake) -> {
          try {
            return write(archive, lake, connection, run, lastCounter, progress);
          } catch (IOException e) {
            throw new UncheckedIOException(e.getMessage(), e);
          }
        });
  }

  private ExportFeed.Published write(
      StagingStore archive,
      StagingStore lake,
      Connection connection,
      ExportFeed.Run run,
      long lastCounter,
      Consumer<String> progress)
      throws IOException {
    boolean webhook = connection.kind() == ConnectionKind.webhook;
    ExportWriter.Source source =
        new ExportWriter.Source(
            connection.id(),
            connection.name(),
            webhook ? List.of(connection.table()) : ExportWriter.EVENT_TABLES,
            webhook);
    List<String> type =
        run.retroactive() ? ExportManifest.RETROACTIVE : run.test() ? ExportManifest.TEST : null;
    ExportWriter.Plan plan =
        new ExportWriter.Plan(
            run.runId(),
            run.days().stream().map(LocalDate::parse).toList(),
            type,
            connection.pageRules(),
            run.retroactive() ? Set.copyOf(run.pages()) : null);
    ExportWriter writer =
        new ExportWriter(
            archive,
            lake,
            ExportWriter.folderOf(settings.workspaceId(), connection.id()),
            settings.workspaceId(),
            settings.scratchDir().resolve(run.runId()),
            maxFileBytes);
    try {
      ExportWriter.Written written = writer.write(source, plan, progress);
      ExportManifest.Entry entry = writer.publish(written, type, lastCounter);
      long events =
          written.bill().timeDependent().stream()
              .map(BillOfMaterials.Period::allEvents)
              .filter(java.util.Objects::nonNull)
              .mapToLong(BillOfMaterials.EventFiles::eventCount)
              .sum();
      return new ExportFeed.Published(
          entry.counter(),
          java.time.Instant.parse(entry.finishTime()).toEpochMilli(),
          entry.storageSize(),
          entry.rootUrl(),
          events);
    } finally {
      deleteScratch(settings.scratchDir().resolve(run.runId()));
    }
  }

  private static void deleteScratch(java.nio.file.Path dir) {
    try (var files = java.nio.file.Files.walk(dir)) {
      files
          .sorted(java.util.Comparator.reverseOrder())
          .forEach(
              p -> {
                try {
                  java.nio.file.Files.deleteIfExists(p);
                } catch (IOException ignored) {
                  // left for the next run's cleanup
                }
              });
    } catch (IOException ignored) {
      // nothing was spooled
    }
  }
}
