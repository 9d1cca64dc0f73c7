/**
 * Test kit of the device subgraph: a memory-only devdb, the subgraph on
 * port 0, principals of two tenants and a `gql` helper that posts over real
 * HTTP. One kit per test file.
 */
import { randomBytes } from 'node:crypto';
import { startDevDb, type DevDb } from '../../../devdb';
import { MemoryAuditSink } from '../../../lib/audit';
import type { Principal } from '../../../lib/context';
import { connectDataStores, type DataStores } from '../../../lib/db';
import { createLogger } from '../../../lib/logger';
import { encodePrincipal, PRINCIPAL_HEADER } from '../../../lib/principal';
import type { SubgraphServer } from '../../../lib/subgraph';
import { buildDeviceSubgraph, type DeviceSubgraphOptions } from '../../../subgraphs/device/server';
import { createModels } from '../../../subgraphs/device/model';

export const TENANT_A = 'aaaaaaaaaaaaaaaaaaaaaaaa';
export const TENANT_B = 'bbbbbbbbbbbbbbbbbbbbbbbb';

export type UserPrincipal = Extract<Principal, { kind: 'user' }>;

export const adminOf = (tenantId: string): UserPrincipal => ({ kind: 'user', id: `admin-${tenantId.slice(0, 4)}`, tenantId, roles: ['TENANT_ADMIN'], scopes: ['devices:read', 'devices:write'] });
export const deviceOf = (tenantId: string, deviceId: string): UserPrincipal => ({ kind: 'user', id: deviceId, tenantId, roles: ['DEVICE'], scopes: ['readings:write'] });
export const SYSTEM: Principal = { kind: 'system', id: 'test' };

export interface GqlResult<T = Record<string, any>> {
  data?: T | null;
  errors?: Array<{ message: string; path?: Array<string | number>; extensions?: Record<string, any> }>;
}

export interface Kit {
  devdb: DevDb;
  stores: DataStores;
  subgraph: SubgraphServer;
  models: ReturnType<typeof createModels>;
  audit: MemoryAuditSink;
  url: string;
  /** The frozen clock the subgraph reads; tests move it. */
  clock: { now: Date };
  gql<T = Record<string, any>>(query: string, variables?: Record<string, unknown>, principal?: Principal): Promise<GqlResult<T>>;
  close(): Promise<void>;
}

export async function startKit(options: Partial<Pick<DeviceSubgraphOptions, 'alarmRule'>> = {}): Promise<Kit> {
  const devdb = await startDevDb({ port: 0 });
  const stores = await connectDataStores(devdb.uri, `test_device_${randomBytes(4).toString('hex')}`);
  const audit = new MemoryAuditSink();
  const clock = { now: new Date('2025-03-01T12:00:00.000Z') };
  const subgraph = await buildDeviceSubgraph({ stores, audit, logger: createLogger('device-test', 'silent'), appEnv: 'development', now: () => clock.now, ...options });
  const port = await subgraph.listen(0);
  const url = `http://127.0.0.1:${port}/graphql`;
  return {
    devdb,
    stores,
    subgraph,
    models: createModels(stores.forRegion()),
    audit,
    url,
    clock,
    async gql(query, variables, principal = adminOf(TENANT_A)) {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [PRINCIPAL_HEADER]: encodePrincipal(principal) },
        body: JSON.stringify({ query, variables }),
      });
      return (await res.json()) as GqlResult<any>;
    },
    async close() {
      await subgraph.stop();
      await stores.close();
      await devdb.stop();
    },
  };
}

/** The `extensions.code` of each error. */
export const codes = (r: GqlResult): string[] => (r.errors ?? []).map((e) => String(e.extensions?.code));
/** The `extensions.reason` of each error. */
export const reasons = (r: GqlResult): string[] => (r.errors ?? []).map((e) => String(e.extensions?.reason));
