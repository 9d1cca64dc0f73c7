/**
 * Runs the device subgraph on its own (its own container or
 * `npm run start:subgraph -- device`): listen only, everything else is in
 * server.ts.
 */
import { MongoAuditSink } from '../../lib/audit';
import { loadConfig } from '../../lib/config';
import { connectDataStores } from '../../lib/db';
import { createLogger } from '../../lib/logger';
import { buildDeviceSubgraph } from './server';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('device', config.logLevel);
  if (!config.mongodbUri) throw new Error('MONGODB_URI is required to run the device subgraph on its own');
  const stores = await connectDataStores(config.mongodbUri, config.mongodbDb);
  const subgraph = await buildDeviceSubgraph({ stores, logger, audit: new MongoAuditSink(stores.forRegion()), appEnv: config.appEnv });
  const port = await subgraph.listen(config.subgraphs.device.port, config.host);
  logger.info({ port, host: config.host }, 'device subgraph listening');

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    subgraph
      .stop()
      .then(() => stores.close())
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  createLogger('device').fatal({ err }, 'device subgraph failed to start');
  process.exit(1);
});
