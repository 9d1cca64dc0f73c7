/**
 * Runs the privacy subgraph alone (its own container or process): reads the
 * configuration, connects to MongoDB, listens, and drains on SIGTERM/SIGINT.
 */
import { MongoAuditSink } from '../../lib/audit';
import { loadConfig } from '../../lib/config';
import { connectDataStores } from '../../lib/db';
import { createLogger } from '../../lib/logger';
import { buildPrivacySubgraph } from './server';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('privacy', config.logLevel);
  if (!config.mongodbUri) {
    logger.fatal('MONGODB_URI is required to run the privacy subgraph on its own (npm start runs the embedded devdb)');
    process.exitCode = 1;
    return;
  }
  const stores = await connectDataStores(config.mongodbUri, config.mongodbDb);
  const subgraph = await buildPrivacySubgraph({ stores, logger, audit: new MongoAuditSink(stores.forRegion()), appEnv: config.appEnv });
  const port = await subgraph.listen(config.subgraphs.privacy.port, config.host);
  logger.info({ port, host: config.host }, 'privacy subgraph listening');

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'privacy subgraph draining');
    subgraph
      .stop()
      .then(() => stores.close())
      .then(() => logger.info('privacy subgraph stopped'))
      .catch((err: unknown) => {
        logger.error({ err }, 'privacy subgraph shutdown failed');
        process.exitCode = 1;
      });
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  createLogger('privacy').fatal({ err }, 'privacy subgraph failed to start');
  process.exit(1);
});
