/**
 * Test kit of the identity subgraph: a memory-only devdb, a fresh database
 * seeded from the demo plan, the subgraph on port 0, and a `gql` helper that
 * posts over real HTTP as a given principal.
 */
import { randomBytes } from 'node:crypto';
import { MemoryAuditSink } from '../../../lib/audit';
import type { Principal } from '../../../lib/context';
import { connectDataStores, type DataStores } from '../../../lib/db';
import { demoPlan, type DemoPlan, type DemoUser } from '../../../lib/demo';
import { createLogger } from '../../../lib/logger';
import { PRINCIPAL_HEADER, encodePrincipal } from '../../../lib/principal';
import type { SubgraphServer } from '../../../lib/subgraph';
import { startDevDb, type DevDb } from '../../../devdb';
import { createModels, type IdentityModels } from '../../../subgraphs/identity/model';
import { seed } from '../../../subgraphs/identity/seed';
import { buildIdentitySubgraph } from '../../../subgraphs/identity/server';

export interface GqlResult<T = Record<string, any>> {
  status: number;
  data?: T | null;
  errors?: Array<{ message: string; path?: Array<string | number>; extensions?: Record<string, any> }>;
}

export interface IdentityKit {
  devdb: DevDb;
  stores: DataStores;
  models: IdentityModels;
  audit: MemoryAuditSink;
  plan: DemoPlan;
  url: string;
  /** Posts one operation; `as` undefined sends no principal header (an anonymous caller). */
  gql<T = Record<string, any>>(query: string, variables?: Record<string, unknown>, as?: Principal): Promise<GqlResult<T>>;
  close(): Promise<void>;
}

export const SYSTEM: Principal = { kind: 'system', id: 'test-system' };

/** A user principal for a demo user (its roles from the plan unless given). */
export function asUser(user: DemoUser, roles: string[] = user.roles): Principal {
  return { kind: 'user', id: user.id, tenantId: user.tenantId, roles, scopes: [] };
}

/** The demo user of `tenantIndex` (0 = A, 1 = B) holding `role`. */
export function demoUser(plan: DemoPlan, tenantIndex: number, role: string): DemoUser {
  const user = plan.users.find((u) => u.tenantId === plan.tenants[tenantIndex].id && u.roles.includes(role));
  if (!user) throw new Error(`no demo ${role} in tenant ${tenantIndex}`);
  return user;
}

export async function startIdentity(options: { seed?: boolean } = {}): Promise<IdentityKit> {
  const devdb = await startDevDb({ port: 0 });
  const stores = await connectDataStores(devdb.uri, `test_identity_${randomBytes(4).toString('hex')}`);
  const plan = demoPlan();
  if (options.seed ?? true) await seed(stores.forRegion(), plan);
  const audit = new MemoryAuditSink();
  // production: our errors must reach clients through the masking formatter with their codes.
  let server: SubgraphServer | undefined;
  try {
    server = await buildIdentitySubgraph({ stores, logger: createLogger('identity-test', 'silent'), audit, appEnv: 'production' });
    const port = await server.listen(0);
    const url = `http://127.0.0.1:${port}/graphql`;
    return {
      devdb,
      stores,
      models: createModels(stores.forRegion()),
      audit,
      plan,
      url,
      async gql(query, variables, as) {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (as) headers[PRINCIPAL_HEADER] = encodePrincipal(as);
        const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
        return { status: res.status, ...((await res.json()) as object) };
      },
      async close() {
        await server?.stop();
        await stores.close();
        await devdb.stop();
      },
    };
  } catch (err) {
    await server?.stop();
    await stores.close();
    await devdb.stop();
    throw err;
  }
}

/** The `extensions.code` of every error, in order. */
export function codes(result: GqlResult): string[] {
  return (result.errors ?? []).map((e) => String(e.extensions?.code));
}
