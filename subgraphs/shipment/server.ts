/**
 * Builds the shipment subgraph: models on the default store, services,
 * resolvers and per-request loaders, handed to the shared subgraph factory
 * (lib/subgraph.ts). `index.ts` binds it to a port; tests call it with port 0.
 */
import type { AuditSink } from '../../lib/audit';
import type { AppEnv } from '../../lib/config';
import type { IncomingMessage } from 'node:http';
import type { Principal } from '../../lib/context';
import type { PolicyOptions } from '../../lib/policy';
import type { DataStores } from '../../lib/db';
import type { Logger } from '../../lib/logger';
import { createSubgraphServer, type SubgraphServer } from '../../lib/subgraph';
import { createLoaders } from './loaders';
import { createModels, ensureIndexes } from './model';
import type { Clock } from './records';
import { createResolvers } from './resolvers';
import { ShipmentService } from './service';
import { TrackingService } from './tracking';

export { createModels } from './model';

export interface ShipmentSubgraphOptions {
  stores: DataStores;
  logger: Logger;
  audit: AuditSink;
  appEnv: AppEnv;
  /** Clock of the services (tests freeze it). @default () => new Date() */
  now?: Clock;
  /** Who is calling: verifies the gateway's internal token (see lib/auth/internal-token.ts). */
  resolvePrincipal: (req: IncomingMessage) => Principal | Promise<Principal>;
  /** Options of the directive-compiled rules (operator tenant, step-up window, clock). */
  policy?: PolicyOptions;
  /** Benchmarks only: see `SubgraphOptions.security` (lib/subgraph.ts). @default 'on' */
  security?: 'on' | 'off';
}

export async function buildShipmentSubgraph(opts: ShipmentSubgraphOptions): Promise<SubgraphServer> {
  // One store serves every region today; region-routed stores plug in behind `forRegion`.
  const models = createModels(opts.stores.forRegion());
  // The idempotency and tracking-number claims rely on unique indexes: they exist before the first write.
  await ensureIndexes(models);
  const resolvers = createResolvers({ shipments: new ShipmentService(models, opts.now), tracking: new TrackingService(models, opts.now) });
  return createSubgraphServer({
    name: 'shipment',
    appEnv: opts.appEnv,
    resolvers,
    stores: opts.stores,
    logger: opts.logger,
    audit: opts.audit,
    createLoaders: (scope) => createLoaders(models, scope, opts.now),
    resolvePrincipal: opts.resolvePrincipal,
    policy: opts.policy,
    security: opts.security,
  });
}
