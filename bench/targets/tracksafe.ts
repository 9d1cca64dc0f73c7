/**
 * Target: the Tracksafe gateway, started the way gateway/index.ts starts
 * it (configuration from the environment, the production start-up check,
 * keys from KEYS_DIR, createGateway with every option from the config).
 *
 * - 'secured': APP_ENV production against the secured subgraphs — bearer
 *   tokens verified (ES256) and checked against identity's principal
 *   status (cached 5 s), gateway guard, graphql-armor limits, field cap,
 *   sensitive-field rule, cost ceiling and per-client cost budget, trusted
 *   documents (enforced; unregistered clients open), rate limits per IP,
 *   principal and tenant (sized so the bench is not throttled), security
 *   headers and CORS, masked errors, internal hop tokens per subgraph.
 * - 'off': the same gateway code with `security: 'off'` (a bench-only
 *   switch, refused in production), APP_ENV staging, against the open
 *   subgraphs.
 */
import { createGatewayAuth } from '../../lib/auth/runtime';
import { loadConfig } from '../../lib/config';
import { assertProductionSafe } from '../../lib/limits/environment';
import { createLogger } from '../../lib/logger';
import { createGateway, gatewayOptionsFrom } from '../../gateway/server';
import { benchEnv } from '../runner/world';
import type { RunningTarget, TargetStart } from './types';

export async function startTarget(start: TargetStart): Promise<RunningTarget> {
  const secured = start.variant !== 'off';
  const env = { ...process.env, ...benchEnv(secured ? 'secured' : 'open', start.dir) };
  const config = loadConfig(env);
  assertProductionSafe(config, env);
  const logger = createLogger('gateway', config.logLevel);
  // 'off' verifies no token: throwaway in-memory keys (its hop tokens go to subgraphs that ignore them).
  const auth = await createGatewayAuth(config, { ephemeral: !secured });
  const gw = await createGateway({
    ...gatewayOptionsFrom(config),
    subgraphUrls: start.subgraphUrls,
    logger,
    auth,
    ...(secured ? {} : { security: 'off' as const }),
  });
  const port = await gw.listen(0, '127.0.0.1');
  return { url: `http://127.0.0.1:${port}/graphql`, stop: () => gw.stop() };
}
