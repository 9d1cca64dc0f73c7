/**
 * Runs the identity subgraph alone (its own container or process): reads the
 * configuration, connects to MongoDB, listens, and drains on SIGTERM/SIGINT.
 */
import { MongoAuditSink } from '../../lib/audit';
import { loadConfig } from '../../lib/config';
import { connectDataStores } from '../../lib/db';
import { createLogger } from '../../lib/logger';
import { buildIdentitySubgraph } from './server';

/** How long in-flight requests may take to finish after SIGTERM/SIGINT. */
const DRAIN_TIMEOUT_MS = 10_000;

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('identity', config.logLevel);
  if (!config.mongodbUri) {
    logger.fatal('MONGODB_URI is required to run the identity subgraph on its own (npm start runs the embedded devdb)');
    process.exitCode = 1;
    return;
  }
  const stores = await connectDataStores(config.mongodbUri, config.mongodbDb);
  const subgraph = await buildIdentitySubgraph({ stores, logger, audit: new MongoAuditSink(stores.forRegion()), appEnv: config.appEnv });
  const port = await subgraph.listen(config.subgraphs.identity.port, config.host);
  logger.info({ port, host: config.host }, 'identity subgraph listening');

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'identity subgraph draining');
    // A drain that hangs must not keep the container alive forever.
    setTimeout(() => {
      logger.error('identity subgraph drain timed out');
      process.exit(1);
    }, DRAIN_TIMEOUT_MS).unref();
    subgraph
      .stop()
      .then(() => stores.close())
      .then(() => logger.info('identity subgraph stopped'))
      .catch((err: unknown) => {
        logger.error({ err }, 'identity subgraph shutdown failed');
        process.exitCode = 1;
      });
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    // This entry point owns signal handling. Apollo Server registers its own
    // stop-on-signal handler at start (lib/subgraph.ts leaves
    // stopOnTerminationSignals on), which races our drain: a second
    // apollo.stop() during its stop never resolves. Remove it until lib turns it off.
    process.removeAllListeners(signal);
    process.on(signal, () => shutdown(signal));
  }
}

main().catch((err: unknown) => {
  createLogger('identity').fatal({ err }, 'identity subgraph failed to start');
  process.exit(1);
});
