package weir.node.datasync;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.LocalDate;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionStage;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import weir.loaders.datasync.ExportWriter;
import weir.loaders.staging.StagingStore;
import weir.node.load.DestinationRuntimes;
import weir.persistence.registry.Connection;
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
      Consumer<String> progress,
      BooleanSupplier cancelled) {
    return runtimes.withStores(
        connection.destinationId(),
        destinationId,
        (archive, lake) -> {
          try {
            return write(archive, lake, connection, run, lastCounter, progress, cancelled);
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
      Consumer<String> progress,
      BooleanSupplier cancelled)
      throws IOException {
    boolean webhook = "json".equals(connection.eventFormat());
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
    // Each attempt spools in a directory of its own (an attempt of a stopped incarnation may still
    // be finishing its day).
    java.nio.file.Path scratch =
        settings.scratchDir().resolve(run.runId() + "-" + UUID.randomUUID());
    ExportWriter writer =
        new ExportWriter(
            archive,
            lake,
            ExportWriter.folderOf(settings.workspaceId(), connection.id()),
            settings.workspaceId(),
            scratch,
            maxFileBytes);
    try {
      // Listed already (the run was redone after a crash between listing it and the feed's
      // record of it): its files are complete and may be being read; they are not rewritten.
      Optional<ExportManifest.Entry> listed =
          writer.readManifest().exports().stream()
              .filter(e -> e.folder().equals(run.runId()))
              .findFirst();
      if (listed.isPresent()) return published(listed.get());
      ExportWriter.Written written =
          writer.write(
              source,
              plan,
              line -> {
                if (cancelled.getAsBoolean()) throw new CancellationException("the feed stopped");
                progress.accept(line);
              });
      if (cancelled.getAsBoolean())
        throw new CancellationException("the feed stopped before the export was listed");
      ExportManifest.Entry entry = writer.publish(written, type, lastCounter);
      return published(entry);
    } finally {
      deleteScratch(scratch);
    }
  }

  private static ExportFeed.Published published(ExportManifest.Entry entry) {
    long events =
        entry.bill().timeDependent().stream()
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
  }

  /** Removes what runs of an earlier start left in the scratch directory (none runs yet). */
  public static void sweepScratch(DataSyncSettings settings) {
    deleteScratch(settings.scratchDir());
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
