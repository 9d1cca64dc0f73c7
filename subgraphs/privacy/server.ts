/**
 * Builds the privacy subgraph: models on the default store, services with
 * an injectable clock, resolvers and per-request loaders. index.ts binds it
 * to a port; tests and the all-in-one start build it directly.
 */
import type { Connection, Model } from 'mongoose';
import { eraseSubject } from '../../lib/crypto/erasure';
import type { DataStores } from '../../lib/db';
import { createSubgraphServer, type SubgraphServer, type SubgraphDeps } from '../../lib/subgraph';
import { encryptedModels } from '../encrypted-models';
import { createLoaders } from './loaders';
import { createModels, ensureIndexes } from './model';
import { createResolvers } from './resolvers';
import { createServices, type Clock, type SubjectEraser } from './service';

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
  const services = createServices(models, opts.now, { erase: subjectEraser(opts.stores) });
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

/**
 * Erasure of a data subject on this process's store (the default one, like
 * the privacy data: region-routed stores will each need it): every subgraph's
 * encrypted models (all share the store and its key vault), through the
 * registry subgraphs/encrypted-models.ts — the one import of other
 * subgraphs' code here, their model declarations only. Compiled at the
 * first erasure, not at boot. Undefined when the store has no field
 * encryption (benchmarks): completing an erasure is then refused.
 *
 * This process forgets the shredded keys at once; the other subgraph
 * processes after their DATA_KEY_CACHE_TTL_MS (lib/crypto/erasure.ts).
 */
function subjectEraser(stores: DataStores): SubjectEraser | undefined {
  const crypto = stores.fieldCrypto;
  if (!crypto) return undefined;
  const conn: Connection = stores.forRegion();
  let all: Model<any>[] | undefined;
  return (subject) => eraseSubject((all ??= encryptedModels(declarationsOnly(conn))), crypto.vault, subject);
}

/**
 * Another handle on the same database and client whose models create no
 * collection and build no index: compiling another subgraph's models here
 * must not (re)build its indexes from this process's copy of its code —
 * that subgraph owns them. The erasure only needs the declarations and the
 * raw collections.
 */
function declarationsOnly(conn: Connection): Connection {
  const handle = conn.useDb(conn.name, { useCache: false });
  Object.assign(handle.config as object, { autoIndex: false, autoCreate: false });
  return handle;
}
