/**
 * The gateway process on its own (one container): `npm run start:gateway`.
 * Reads the checked-in supergraph and the subgraph URLs from the environment.
 */
import { createGatewayAuth } from '../lib/auth/runtime';
import { loadConfig } from '../lib/config';
import { assertProductionSafe } from '../lib/limits/environment';
import { createLogger } from '../lib/logger';
import { DRAIN_TIMEOUT_MS, onShutdown } from '../lib/shutdown';
import { SUBGRAPH_NAMES, type SubgraphName } from '../schema';
import { createGateway, gatewayOptionsFrom } from './server';

async function main(): Promise<void> {
  const config = loadConfig();
  // Production with a development setting (dev login, dev keys, local master key, wildcard CORS, SEED) does not start.
  assertProductionSafe(config);
  const logger = createLogger('gateway', config.logLevel);
  const subgraphUrls = Object.fromEntries(SUBGRAPH_NAMES.map((n) => [n, config.subgraphs[n].url])) as Record<SubgraphName, string>;
  const auth = await createGatewayAuth(config);
  const gw = await createGateway({ ...gatewayOptionsFrom(config), subgraphUrls, logger, auth });
  const port = await gw.listen(config.gatewayPort, config.host);
  logger.info({ port, protocol: gw.protocol, rateLimitStore: gw.rateLimits.store }, 'gateway listening');
  onShutdown(logger, () => gw.stop(), DRAIN_TIMEOUT_MS);
}

main().catch((err) => {
  process.stderr.write(`gateway failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
