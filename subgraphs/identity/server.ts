/**
 * Builds the identity subgraph (tenants, users, partner API clients, and
 * `Shipment.tenant`) without binding a port: index.ts listens, tests call
 * this and listen on port 0.
 */
import type { CredentialSettings } from '../../lib/auth/credential-settings';
import { createSubgraphServer, type SubgraphServer, type SubgraphDeps } from '../../lib/subgraph';
import { parseChangeWindow } from './elevation/change-window';
import { withElevations } from './elevation/resolvers';
import { ElevationService, type Clock } from './elevation/service';
import { createIdentityCredentials } from './credentials/routes';
import { withKeyInventory } from './key-inventory';
import { createLoaders } from './loaders';
import { createModels, ensureIndexes } from './model';
import { createResolvers } from './resolvers';
import { IdentityService } from './service';

export { createModels } from './model';

/** The registry's deps (lib/subgraph.ts) plus what only this subgraph takes. */
export interface IdentitySubgraphOptions extends SubgraphDeps {
  /**
   * The clock elevations are requested, approved and expired by; tests freeze it.
   * @default () => new Date()
   */
  now?: Clock;
  /**
   * When approving elevations is business as usual, e.g. `Mon-Fri 08:00-18:00 Europe/Amsterdam`;
   * approvals outside it are flagged and audited. An invalid window refuses to boot.
   * @default process.env.CHANGE_WINDOW — unset or empty: no window, every approval is inside
   */
  changeWindow?: string;
  /** Client secret overlap, lockouts and the clock of credential checks (token endpoint, login, SCIM). */
  credentials?: CredentialSettings;
}

/** Compiles the models, waits for their indexes (uniqueness rules rely on them), and builds the server. */
export async function buildIdentitySubgraph(opts: IdentitySubgraphOptions): Promise<SubgraphServer> {
  // Identity data lives in the default store until region routing lands.
  const models = createModels(opts.stores.forRegion());
  await ensureIndexes(models);
  return createSubgraphServer({
    name: 'identity',
    appEnv: opts.appEnv,
    resolvers: withKeyInventory(
      withElevations(
        createResolvers(new IdentityService(models)),
        new ElevationService(models, { now: opts.now, changeWindow: parseChangeWindow(opts.changeWindow ?? process.env.CHANGE_WINDOW) }),
      ),
      opts.stores.fieldCrypto,
    ),
    stores: opts.stores,
    logger: opts.logger,
    audit: opts.audit,
    createLoaders: (scope) => createLoaders(models, scope),
    resolvePrincipal: opts.resolvePrincipal,
    policy: opts.policy,
    security: opts.security,
    // Internal credential routes for the gateway, and SCIM (credentials/routes.ts).
    routes: createIdentityCredentials({ models, audit: opts.audit, appEnv: opts.appEnv, resolvePrincipal: opts.resolvePrincipal, settings: opts.credentials }).routes,
  });
}
