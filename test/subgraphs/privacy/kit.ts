/**
 * Test kit of the privacy subgraph: a memory-only devdb, a fresh database
 * (seeded from the demo plan unless told otherwise), the subgraph on port 0
 * with a frozen clock, and a `gql` helper that posts over real HTTP as a
 * given principal.
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
import { createModels, type PrivacyModels } from '../../../subgraphs/privacy/model';
import { seed } from '../../../subgraphs/privacy/seed';
import { buildPrivacySubgraph } from '../../../subgraphs/privacy/server';

export interface GqlResult<T = Record<string, any>> {
  status: number;
  data?: T | null;
  errors?: Array<{ message: string; path?: Array<string | number>; extensions?: Record<string, any> }>;
}

/** A clock that stands still until a test moves it. */
export interface FrozenClock {
  now(): Date;
  set(iso: string | Date): void;
  advance(ms: number): void;
}

export function frozenClock(start: string): FrozenClock {
  let t = Date.parse(start);
  return {
    now: () => new Date(t),
    set: (at) => {
      t = typeof at === 'string' ? Date.parse(at) : at.getTime();
    },
    advance: (ms) => {
      t += ms;
    },
  };
}

export interface PrivacyKit {
  devdb: DevDb;
  stores: DataStores;
  models: PrivacyModels;
  audit: MemoryAuditSink;
  clock: FrozenClock;
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

/** The privacy officer of tenant A (0) or B (1). */
export const officer = (plan: DemoPlan, tenantIndex: number): Principal => asUser(demoUser(plan, tenantIndex, 'PRIVACY_OFFICER'));

export async function startPrivacy(options: { seed?: boolean; now?: string } = {}): Promise<PrivacyKit> {
  const devdb = await startDevDb({ port: 0 });
  const stores = await connectDataStores(devdb.uri, `test_privacy_${randomBytes(4).toString('hex')}`);
  const plan = demoPlan();
  const clock = frozenClock(options.now ?? '2025-03-10T09:30:00.000Z');
  const audit = new MemoryAuditSink();
  let server: SubgraphServer | undefined;
  try {
    if (options.seed ?? true) await seed(stores.forRegion(), plan);
    // production: our errors must reach clients through the masking formatter with their codes.
    server = await buildPrivacySubgraph({ stores, logger: createLogger('privacy-test', 'silent'), audit, appEnv: 'production', now: clock.now });
    const port = await server.listen(0);
    const url = `http://127.0.0.1:${port}/graphql`;
    return {
      devdb,
      stores,
      models: createModels(stores.forRegion()),
      audit,
      clock,
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

/** The `extensions.reason` of every error, in order. */
export function reasons(result: GqlResult): string[] {
  return (result.errors ?? []).map((e) => String(e.extensions?.reason));
}
