/**
 * The subgraph test kit: one subgraph, built through the registry
 * (subgraphs/index.ts), on a free port against a memory-only devdb and a
 * fresh database (seeded from the demo plan when asked), with an in-memory
 * audit sink and a `gql` client that speaks real HTTP as a given principal;
 * plus principal builders and the error helpers. Each subgraph's own kit
 * (test/subgraphs/<name>/kit.ts) is a thin wrapper adding its clock, models
 * and fixtures.
 */
import { randomBytes } from 'node:crypto';
import { startDevDb, type DevDb } from '../../devdb';
import { MemoryAuditSink } from '../../lib/audit';
import type { AppEnv } from '../../lib/config';
import type { Principal } from '../../lib/context';
import { scopesForRoles } from '../../lib/auth/scopes';
import { connectDataStores, type DataStores } from '../../lib/db';
import { demoPlan, type DemoPlan, type DemoUser } from '../../lib/demo';
import { createLogger } from '../../lib/logger';
import { createInternalTokenSigner, createInternalTokenVerifier } from '../../lib/auth/internal-token';
import { MemoryKeyStore } from '../../lib/auth/keys';
import type { SubgraphServer } from '../../lib/subgraph';
import type { SubgraphName } from '../../schema';
import { SUBGRAPHS, type SubgraphDeps } from '../../subgraphs';
import { codes, postGraphQL, type GraphQLResponse } from './stack';
import { testFieldCrypto } from './crypto';

export { codes, type GraphQLResponse };

export interface SubgraphKitOptions {
  /** Seed the demo plan into the fresh database before the subgraph starts. @default false */
  seed?: boolean;
  /** 'production' sends errors through the masking formatter, as clients get them. @default 'development' */
  appEnv?: AppEnv;
  /** Builds the subgraph from the kit's deps, for options the registry does not pass (a clock, an alarm rule). @default SUBGRAPHS[name].build */
  build?: (deps: SubgraphDeps) => Promise<SubgraphServer>;
  /** Who `gql` posts as when the call names nobody. @default nobody: no principal header, an anonymous caller */
  principal?: Principal;
}

export interface SubgraphKit {
  url: string;
  devdb: DevDb;
  stores: DataStores;
  audit: MemoryAuditSink;
  subgraph: SubgraphServer;
  /** The demo plan (seeded only with `seed: true`). */
  plan: DemoPlan;
  /**
   * Posts one operation as the gateway would for `principal` (default: the
   * kit's `principal` option, else an anonymous caller), with an internal
   * token signed by the kit's gateway key.
   */
  gql<T = any>(query: string, variables?: Record<string, unknown>, principal?: Principal): Promise<GraphQLResponse<T>>;
  /** Posts with exactly these headers: no internal token unless given (calls that bypass the gateway). */
  raw<T = any>(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<GraphQLResponse<T>>;
  /** An internal token for `principal`, as the gateway signs it for this subgraph. */
  internalToken(principal: Principal): Promise<string>;
  /** Stops the subgraph, then the database connection, then devdb. */
  stop(): Promise<void>;
}

/** Starts subgraph `name` on port 0 (one kit per test file); cleans up after itself when starting fails. */
export async function startSubgraph(name: SubgraphName, options: SubgraphKitOptions = {}): Promise<SubgraphKit> {
  const devdb = await startDevDb({ port: 0 });
  let stores: DataStores | undefined;
  let subgraph: SubgraphServer | undefined;
  const stop = async () => {
    await subgraph?.stop();
    await stores?.close();
    await devdb.stop();
  };
  try {
    stores = await connectDataStores(devdb.uri, `test_${name}_${randomBytes(4).toString('hex')}`, testFieldCrypto(options.appEnv ?? 'development'));
    const plan = demoPlan();
    if (options.seed) await SUBGRAPHS[name].seed(stores.forRegion(), plan);
    const audit = new MemoryAuditSink();
    const build = options.build ?? SUBGRAPHS[name].build;
    // The kit plays the gateway: it holds the internal signing key, the subgraph trusts only that key.
    const gatewayKeys = await MemoryKeyStore.create(options.appEnv ?? 'development', 'internal');
    const signer = createInternalTokenSigner(gatewayKeys);
    const verifier = createInternalTokenVerifier({ audience: name, keys: gatewayKeys });
    subgraph = await build({
      stores,
      audit,
      logger: createLogger(`${name}-test`, 'silent'),
      appEnv: options.appEnv ?? 'development',
      resolvePrincipal: (req) => verifier.verify(req.headers.authorization),
    });
    const url = `http://127.0.0.1:${await subgraph.listen(0)}/graphql`;
    return {
      url,
      devdb,
      stores,
      audit,
      subgraph,
      plan,
      gql: async (query, variables, principal = options.principal) =>
        postGraphQL(url, query, variables, { authorization: `Bearer ${await signer.tokenFor(principal ?? anonymous, name)}` }),
      raw: (query, variables, headers = {}) => postGraphQL(url, query, variables, headers),
      internalToken: (principal) => signer.tokenFor(principal, name),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

// ---------------------------------------------------------------- principals

export type UserPrincipal = Extract<Principal, { kind: 'user' }>;

export const anonymous: Principal = { kind: 'anonymous' };

/** A system principal (unrestricted scope, no tenant). */
export const systemPrincipal = (id: string): Principal => ({ kind: 'system', id });

/** The demo user of a tenant (by index in the plan, 0 = A, 1 = B, or by id) holding `role`. */
export function demoUser(plan: DemoPlan, tenant: number | string, role: string): DemoUser {
  const tenantId = typeof tenant === 'number' ? plan.tenants[tenant].id : tenant;
  const user = plan.users.find((u) => u.tenantId === tenantId && u.roles.includes(role));
  if (!user) throw new Error(`no demo ${role} in tenant ${tenant}`);
  return user;
}

/**
 * A user principal for a demo user: its roles from the plan unless given, the
 * scopes those roles imply unless given (lib/auth/scopes.ts), a fresh MFA
 * login so `@policy(name: "recentMfa")` passes (pass `mfaLogin: false` to test
 * the refusal), and for a DRIVER a shift covering the whole day so
 * `@policy(name: "driverOnShift")` passes.
 */
export function asUser(user: DemoUser, roles: string[] = user.roles, scopes: string[] = scopesForRoles(roles), mfaLogin = true): UserPrincipal {
  const login = mfaLogin ? { amr: ['pwd', 'otp'], authTime: Math.floor(Date.now() / 1000) } : {};
  const shift = roles.includes('DRIVER') ? { shift: { start: '00:00', end: '24:00', timeZone: 'UTC' } } : {};
  return { kind: 'user', id: user.id, tenantId: user.tenantId, roles, scopes, ...login, ...shift };
}

// ---------------------------------------------------------------- errors

/** The `extensions.reason` of each error, in order. */
export function reasons(res: Pick<GraphQLResponse, 'errors'>): string[] {
  return (res.errors ?? []).map((e) => String(e.extensions?.reason));
}
