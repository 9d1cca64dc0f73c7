/**
 * Is a device token's device still allowed in? The gateway asks on every
 * request (caching the answer for seconds, gateway/principal-status.ts), so
 * a device that is quarantined or retired loses access on its next request
 * rather than when its 5-minute token expires. Active means: known, in the
 * token's tenant, status ACTIVE, a key still registered.
 */
import type { DeviceDoc, DeviceModels } from './model';

export interface DeviceStatusAnswer {
  active: boolean;
  /** Why not: UNKNOWN, TENANT_MISMATCH, NO_KEY, or the device's status (PENDING, QUARANTINED, RETIRED). */
  reason?: string;
}

export async function deviceStatus(models: DeviceModels, q: { id: string; tenantId: string }): Promise<DeviceStatusAnswer> {
  const d = await models.Device.findOne({ _id: q.id }, { tenantId: 1, status: 1, publicJwk: 1 }).lean<Pick<DeviceDoc, 'tenantId' | 'status' | 'publicJwk'>>();
  if (!d) return { active: false, reason: 'UNKNOWN' };
  if (d.tenantId !== q.tenantId) return { active: false, reason: 'TENANT_MISMATCH' };
  if (d.status !== 'ACTIVE') return { active: false, reason: d.status };
  if (!d.publicJwk) return { active: false, reason: 'NO_KEY' };
  return { active: true };
}
