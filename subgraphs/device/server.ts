/**
 * Builds the device subgraph: models on the default store, resolvers, the
 * per-request loaders and the shared server shell. index.ts binds it to a
 * port; tests call `buildDeviceSubgraph` and listen on port 0.
 */
import type { CredentialSettings } from '../../lib/auth/credential-settings';
import { createSubgraphServer, type SubgraphServer, type SubgraphDeps } from '../../lib/subgraph';
import { createLoaders } from './loaders';
import { createModels, ensureIndexes } from './model';
import { type AlarmRule, noAlarm } from './readings';
import { createResolvers } from './resolvers';
import { deviceRoutes } from './routes';

export { createModels } from './model';
export { seed } from './seed';

/** The registry's deps (lib/subgraph.ts) plus what only this subgraph takes. */
export interface DeviceSubgraphOptions extends SubgraphDeps {
  /**
   * The clock (tests freeze it).
   * @default () => new Date()
   */
  now?: () => Date;
  /**
   * Decides `alarm` for each new reading.
   * @default noAlarm (the parcel's temperature profile is not reachable from this subgraph yet)
   */
  alarmRule?: AlarmRule;
  /** The clock of token assertion checks (`credentials.now`; tests freeze it). */
  credentials?: CredentialSettings;
}

export async function buildDeviceSubgraph(options: DeviceSubgraphOptions): Promise<SubgraphServer> {
  const models = createModels(options.stores.forRegion());
  await ensureIndexes(models);
  return createSubgraphServer({
    name: 'device',
    appEnv: options.appEnv,
    stores: options.stores,
    logger: options.logger,
    audit: options.audit,
    resolvers: createResolvers({ models, audit: options.audit, now: options.now ?? (() => new Date()), alarmRule: options.alarmRule ?? noAlarm }),
    createLoaders: (scope) => createLoaders(models, scope),
    resolvePrincipal: options.resolvePrincipal,
    policy: options.policy,
    security: options.security,
    // The token endpoint's device grant: key assertions checked against the device's public key.
    routes: deviceRoutes({ models, audit: options.audit, now: options.credentials?.now ?? (() => new Date()), resolvePrincipal: options.resolvePrincipal }),
  });
}
