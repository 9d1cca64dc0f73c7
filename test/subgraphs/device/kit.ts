/**
 * Test kit of the device subgraph: the shared subgraph kit (test/kit/
 * subgraph.ts) with a frozen clock, an optional alarm rule, the models,
 * principals of two tenants, and `gql` posting as tenant A's admin unless
 * told otherwise. One kit per test file.
 */
import { codes, reasons, startSubgraph, systemPrincipal, type GraphQLResponse, type SubgraphKit, type UserPrincipal } from '../../kit/subgraph';
import { buildDeviceSubgraph, type DeviceSubgraphOptions } from '../../../subgraphs/device/server';
import { createModels } from '../../../subgraphs/device/model';

export { codes, reasons, type UserPrincipal };

export const TENANT_A = 'aaaaaaaaaaaaaaaaaaaaaaaa';
export const TENANT_B = 'bbbbbbbbbbbbbbbbbbbbbbbb';

// A fresh MFA login: registerDevice is an admin action (@policy(name: "recentMfa")).
export const adminOf = (tenantId: string): UserPrincipal => ({
  kind: 'user',
  id: `admin-${tenantId.slice(0, 4)}`,
  tenantId,
  roles: ['TENANT_ADMIN'],
  scopes: ['devices:read', 'devices:write'],
  amr: ['pwd', 'otp'],
  authTime: Math.floor(Date.now() / 1000),
});
/** A partner's API client issued by `tenantId`: recordSensorReading admits DEVICE and PARTNER only (schema/device.graphql). */
export const partnerOf = (tenantId: string): UserPrincipal => ({
  kind: 'user',
  id: `client-${tenantId.slice(0, 4)}`,
  tenantId,
  roles: ['PARTNER'],
  scopes: ['devices:read', 'readings:write'],
  subjectType: 'client',
});
export const deviceOf = (tenantId: string, deviceId: string): UserPrincipal => ({ kind: 'user', id: deviceId, tenantId, roles: ['DEVICE'], scopes: ['readings:write'] });
export const SYSTEM = systemPrincipal('test');

export type GqlResult<T = Record<string, any>> = GraphQLResponse<T>;

export interface Kit extends SubgraphKit {
  models: ReturnType<typeof createModels>;
  /** The frozen clock the subgraph reads; tests move it. */
  clock: { now: Date };
  close(): Promise<void>;
}

/** `principal`: who `gql` posts as by default (@default tenant A's admin). */
export async function startKit(options: Partial<Pick<DeviceSubgraphOptions, 'alarmRule'>> & { principal?: UserPrincipal } = {}): Promise<Kit> {
  const clock = { now: new Date('2025-03-01T12:00:00.000Z') };
  const { principal = adminOf(TENANT_A), ...buildOptions } = options;
  const kit = await startSubgraph('device', {
    principal,
    build: (deps) => buildDeviceSubgraph({ ...deps, now: () => clock.now, ...buildOptions }),
  });
  return { ...kit, models: createModels(kit.stores.forRegion()), clock, close: kit.stop };
}
