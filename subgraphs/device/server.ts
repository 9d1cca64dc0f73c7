/**
 * Builds the device subgraph: models on the default store, resolvers, the
 * per-request loaders and the shared server shell. index.ts binds it to a
 * port; tests call `buildDeviceSubgraph` and listen on port 0.
 */
import type { AuditSink } from '../../lib/audit';
import type { CredentialSettings } from '../../lib/auth/credential-settings';
import type { AppEnv } from '../../lib/config';
import type { Principal } from '../../lib/context';
import type { PolicyOptions } from '../../lib/policy';
import type { DataStores } from '../../lib/db';
import type { Logger } from '../../lib/logger';
import { createSubgraphServer, type SubgraphServer } from '../../lib/subgraph';
import type { IncomingMessage } from 'node:http';
import { createLoaders } from './loaders';
import { createModels, ensureIndexes } from './model';
import { type AlarmRule, noAlarm } from './readings';
import { createResolvers } from './resolvers';
import { deviceRoutes } from './routes';

export { createModels } from './model';
export { seed } from './seed';

export interface DeviceSubgraphOptions {
  stores: DataStores;
  logger: Logger;
  audit: AuditSink;
  appEnv: AppEnv;
  /**
   * Who is calling.
   * @default principalFromRequest (the gateway's forwarded principal)
   */
  resolvePrincipal: (req: IncomingMessage) => Principal | Promise<Principal>;
  /** Options of the directive-compiled rules (operator tenant, step-up window, clock). */
  policy?: PolicyOptions;
  /** Benchmarks only: see `SubgraphOptions.security` (lib/subgraph.ts). @default 'on' */
  security?: 'on' | 'off';
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
