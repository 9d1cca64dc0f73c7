/**
 * Runs one subgraph as its own process (its own container): reads the
 * configuration, connects to MONGODB_URI (required: only `npm start` runs
 * the embedded devdb), builds the subgraph through the registry (index.ts),
 * listens on its port, and on SIGTERM/SIGINT drains it and then closes the
 * database (lib/shutdown.ts). A failure to start is logged as fatal and
 * exits 1. Each subgraph's index.ts and `npm run start:subgraph` call it.
 */
import type { SubgraphName } from '../schema';
import { MongoAuditSink } from '../lib/audit';
import { createInternalTokenVerifier } from '../lib/auth/internal-token';
import { policyOptionsFrom } from '../lib/policy';
import { credentialSettingsFrom } from '../lib/auth/credential-settings';
import { loadConfig } from '../lib/config';
import { fieldCryptoOptions } from '../lib/crypto/runtime';
import { connectDataStores } from '../lib/db';
import { createLogger } from '../lib/logger';
import { DRAIN_TIMEOUT_MS, onShutdown } from '../lib/shutdown';
import { SUBGRAPHS } from './index';

/** Starts subgraph `name`; resolves once it listens. On a start failure the process exits 1. */
export async function runSubgraph(name: SubgraphName): Promise<void> {
  let logger = createLogger(name);
  try {
    const config = loadConfig();
    logger = createLogger(name, config.logLevel);
    if (!config.mongodbUri) throw new Error(`MONGODB_URI is required to run the ${name} subgraph on its own (npm start runs the embedded devdb)`);
    const stores = await connectDataStores(config.mongodbUri, config.mongodbDb, fieldCryptoOptions(config, logger));
    // The gateway vouches for every caller with an internal token signed by its key, published at INTERNAL_JWKS_URL.
    const internal = createInternalTokenVerifier({ audience: name, keys: { jwksUrl: config.internalJwksUrl } });
    const subgraph = await SUBGRAPHS[name].build({
      stores,
      logger,
      audit: new MongoAuditSink(stores.forRegion()),
      appEnv: config.appEnv,
      resolvePrincipal: (req) => internal.verify(req.headers.authorization),
      policy: policyOptionsFrom(config),
      credentials: credentialSettingsFrom(config),
    });
    const port = await subgraph.listen(config.subgraphs[name].port, config.host);
    logger.info({ port, host: config.host }, `${name} subgraph listening`);
    // In order: stop taking requests and drain them, then close the database they used.
    onShutdown(
      logger,
      async () => {
        await subgraph.stop();
        await stores.close();
      },
      DRAIN_TIMEOUT_MS,
    );
  } catch (err) {
    logger.fatal({ err }, `${name} subgraph failed to start`);
    process.exit(1);
  }
}
