package weir.node;

import java.util.concurrent.ForkJoinPool;

/**
 * The common ForkJoinPool's parallelism, at least 2.
 *
 * <p>{@code CompletableFuture}'s {@code *Async} methods without an executor run on the common pool
 * only if its parallelism is at least 2; below that (the default on 2 cores: cores - 1) each call
 * starts a new thread. Scala's future-to-{@code CompletionStage} wrapper, through which every Akka
 * ask seen from Java completes ({@code askWithStatus}, then {@code pipeToSelf}), uses them: under
 * load that was a thread started per journal write. The pool reads its setting once, when first
 * used, and logback's {@code AsyncAppender} already uses it: this must run before the first logger
 * is made ({@link Main}'s first static initializer; {@link WeirNode}'s for embedded nodes). An
 * explicit {@code -Djava.util.concurrent.ForkJoinPool.common.parallelism} is kept.
 */
final class CommonPool {
  static final String PARALLELISM = "java.util.concurrent.ForkJoinPool.common.parallelism";

  private CommonPool() {}

  static void ensureParallelism() {
    if (System.getProperty(PARALLELISM) == null) {
      System.setProperty(
          PARALLELISM,
          Integer.toString(Math.max(2, Runtime.getRuntime().availableProcessors() - 1)));
    }
  }

  /** The parallelism the pool has (for the start-up log). */
  static int parallelism() {
    return ForkJoinPool.getCommonPoolParallelism();
  }
}
