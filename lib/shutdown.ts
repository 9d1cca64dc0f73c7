/**
 * Graceful shutdown of a process entry point (a subgraph on its own, the
 * gateway, `npm start`): the first SIGTERM or SIGINT runs the process's own
 * ordered `stop` (drain HTTP, then close the database), exits 0 when it
 * finishes and 1 when it fails or outlasts the drain timeout. Entry points
 * own the signals: Apollo's own handlers are off (lib/subgraph.ts).
 */
import type { Logger } from './logger';

/** How long in-flight requests may take to finish after SIGTERM/SIGINT. */
export const DRAIN_TIMEOUT_MS = 10_000;

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * Runs `stop` once on SIGTERM or SIGINT, then exits. Later signals are
 * ignored while it runs; a drain that hangs must not keep the container
 * alive forever, so after `timeoutMs` the process exits 1 regardless.
 */
export function onShutdown(logger: Logger, stop: () => Promise<void>, timeoutMs: number = DRAIN_TIMEOUT_MS): void {
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      logger.error({ timeoutMs }, 'shutdown timed out');
      process.exit(1);
    }, timeoutMs).unref();
    stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  for (const signal of SIGNALS) process.on(signal, shutdown);
}
