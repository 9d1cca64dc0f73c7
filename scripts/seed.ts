/**
 * `npm run seed`: seeds the demo plan into MONGODB_URI (idempotent). The
 * all-in-one `npm start` seeds by itself; docker compose runs this once.
 */
import { loadConfig } from '../lib/config';
import { fieldCryptoOptions } from '../lib/crypto/runtime';
import { connectDataStores } from '../lib/db';
import { demoPlan } from '../lib/demo';
import { SUBGRAPH_NAMES } from '../schema';
import { SUBGRAPHS } from '../subgraphs';

async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.mongodbUri) throw new Error('MONGODB_URI is required');
  // The demo data carries published credentials (lib/demo-credentials.ts): never outside development.
  if (config.appEnv !== 'development') throw new Error('demo data is seeded only with APP_ENV=development');
  const stores = await connectDataStores(config.mongodbUri, config.mongodbDb, fieldCryptoOptions(config));
  const plan = demoPlan();
  for (const name of SUBGRAPH_NAMES) await SUBGRAPHS[name].seed(stores.forRegion(), plan);
  await stores.close();
  process.stdout.write(`seeded ${plan.tenants.length} tenants and ${plan.shipments.length} shipments\n`);
}

main().catch((err) => {
  process.stderr.write(`seed failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
