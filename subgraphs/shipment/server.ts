/**
 * Builds the shipment subgraph: models on the default store, services,
 * resolvers and per-request loaders, handed to the shared subgraph factory
 * (lib/subgraph.ts). `index.ts` binds it to a port; tests call it with port 0.
 */
import { createSubgraphServer, type SubgraphServer, type SubgraphDeps } from '../../lib/subgraph';
import { createLoaders } from './loaders';
import { createModels, ensureIndexes } from './model';
import type { Clock } from './records';
import { createResolvers } from './resolvers';
import { ShipmentService } from './service';
import { TrackingService } from './tracking';

export { createModels } from './model';

/** The registry's deps (lib/subgraph.ts) plus what only this subgraph takes. */
export interface ShipmentSubgraphOptions extends SubgraphDeps {
  /** Clock of the services (tests freeze it). @default () => new Date() */
  now?: Clock;
}

export async function buildShipmentSubgraph(opts: ShipmentSubgraphOptions): Promise<SubgraphServer> {
  // One store serves every region today; region-routed stores plug in behind `forRegion`.
  const models = createModels(opts.stores.forRegion());
  // The idempotency and tracking-number claims rely on unique indexes: they exist before the first write.
  await ensureIndexes(models);
  const resolvers = createResolvers({ shipments: new ShipmentService(models, opts.now), tracking: new TrackingService(models, opts.now), now: opts.now });
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
