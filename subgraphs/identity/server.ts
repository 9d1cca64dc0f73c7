/**
 * Builds the identity subgraph (tenants, users, partner API clients, and
 * `Shipment.tenant`) without binding a port: index.ts listens, tests call
 * this and listen on port 0.
 */
import type { IncomingMessage } from 'node:http';
import type { AuditSink } from '../../lib/audit';
import type { AppEnv } from '../../lib/config';
import type { Principal } from '../../lib/context';
import type { PolicyOptions } from '../../lib/policy';
import type { DataStores } from '../../lib/db';
import type { Logger } from '../../lib/logger';
import { createSubgraphServer, type SubgraphServer } from '../../lib/subgraph';
import { createLoaders } from './loaders';
import { createModels, ensureIndexes } from './model';
import { createResolvers } from './resolvers';
import { IdentityService } from './service';

export { createModels } from './model';

export interface IdentitySubgraphOptions {
  stores: DataStores;
  logger: Logger;
  audit: AuditSink;
  appEnv: AppEnv;
  /**
   * Who is calling.
   * @default principalFromRequest (the gateway's `x-tracksafe-principal` header)
   */
  resolvePrincipal: (req: IncomingMessage) => Principal | Promise<Principal>;
  /** Options of the directive-compiled rules (operator tenant, step-up window, clock). */
  policy?: PolicyOptions;
}

/** Compiles the models, waits for their indexes (uniqueness rules rely on them), and builds the server. */
export async function buildIdentitySubgraph(opts: IdentitySubgraphOptions): Promise<SubgraphServer> {
  // Identity data lives in the default store until region routing lands.
  const models = createModels(opts.stores.forRegion());
  await ensureIndexes(models);
  return createSubgraphServer({
    name: 'identity',
    appEnv: opts.appEnv,
    resolvers: createResolvers(new IdentityService(models)),
    stores: opts.stores,
    logger: opts.logger,
    audit: opts.audit,
    createLoaders: (scope) => createLoaders(models, scope),
    resolvePrincipal: opts.resolvePrincipal,
    policy: opts.policy,
  });
}
