/**
 * `npm run start:subgraph -- <name>`: one subgraph as its own process
 * (one container), configured from the environment; needs MONGODB_URI.
 */
import { loadConfig } from '../lib/config';
import { connectDataStores } from '../lib/db';
import { MongoAuditSink } from '../lib/audit';
import { createLogger } from '../lib/logger';
import { SUBGRAPH_NAMES, isSubgraphName } from '../schema';
import { SUBGRAPHS } from '../subgraphs';

async function main(): Promise<void> {
  const name = process.argv[2] ?? process.env.SUBGRAPH;
  if (!name || !isSubgraphName(name)) throw new Error(`name a subgraph: ${SUBGRAPH_NAMES.join(', ')}`);
  const config = loadConfig();
  if (!config.mongodbUri) throw new Error('MONGODB_URI is required to run a subgraph on its own');
  const logger = createLogger(name, config.logLevel);
  const stores = await connectDataStores(config.mongodbUri, config.mongodbDb);
  const sg = await SUBGRAPHS[name].build({ stores, logger, audit: new MongoAuditSink(stores.forRegion()), appEnv: config.appEnv });
  const port = await sg.listen(config.subgraphs[name].port, config.host);
  logger.info({ port }, `${name} subgraph listening`);
  const shutdown = () => {
    sg.stop()
      .then(() => stores.close())
      .then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

main().catch((err) => {
  process.stderr.write(`subgraph failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
