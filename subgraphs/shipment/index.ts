/**
 * Runs the shipment subgraph on its own (one container): listen only.
 * Configuration from the environment (lib/config.ts); needs MONGODB_URI.
 */
import { MongoAuditSink } from '../../lib/audit';
import { ConfigError, loadConfig } from '../../lib/config';
import { connectDataStores } from '../../lib/db';
import { createLogger } from '../../lib/logger';
import { buildShipmentSubgraph } from './server';

async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.mongodbUri) throw new Error('MONGODB_URI is required to run the shipment subgraph on its own');
  const logger = createLogger('shipment', config.logLevel);
  const stores = await connectDataStores(config.mongodbUri, config.mongodbDb);
  const subgraph = await buildShipmentSubgraph({ stores, logger, audit: new MongoAuditSink(stores.forRegion()), appEnv: config.appEnv });
  const port = await subgraph.listen(config.subgraphs.shipment.port, config.host);
  logger.info({ port }, 'shipment subgraph listening');
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    subgraph
      .stop()
      .then(() => stores.close())
      .then(
        () => process.exit(0),
        (err) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err) => {
  const msg = err instanceof ConfigError ? err.message : `shipment subgraph failed to start: ${err instanceof Error ? err.message : String(err)}`;
  process.stderr.write(msg + '\n');
  process.exit(1);
});
