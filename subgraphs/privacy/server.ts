/**
 * Builds the privacy subgraph: models on the default store, services with
 * an injectable clock, resolvers and per-request loaders. index.ts binds it
 * to a port; tests and the all-in-one start build it directly.
 */
import { createSubgraphServer, type SubgraphServer, type SubgraphDeps } from '../../lib/subgraph';
import { createLoaders } from './loaders';
import { createModels, ensureIndexes } from './model';
import { createResolvers } from './resolvers';
import { createServices, type Clock } from './service';

export { createModels };

/** The registry's deps (lib/subgraph.ts) plus what only this subgraph takes. */
export interface PrivacySubgraphOptions extends SubgraphDeps {
  /**
   * The clock deadlines and timestamps are computed from; tests freeze it.
   * @default () => new Date()
   */
  now?: Clock;
}

/** Compiles the models, waits for their indexes (one settings document per subject relies on them), and builds the server. */
export async function buildPrivacySubgraph(opts: PrivacySubgraphOptions): Promise<SubgraphServer> {
  // Privacy data lives in the default store until region routing lands.
  const models = createModels(opts.stores.forRegion());
  await ensureIndexes(models);
  const services = createServices(models, opts.now);
  return createSubgraphServer({
    name: 'privacy',
    appEnv: opts.appEnv,
    resolvers: createResolvers(services) as never,
    stores: opts.stores,
    logger: opts.logger,
    audit: opts.audit,
    createLoaders: (scope) => createLoaders(models, scope),
    resolvePrincipal: opts.resolvePrincipal,
    policy: opts.policy,
    security: opts.security,
  });
}
