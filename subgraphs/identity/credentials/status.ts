/**
 * Is a token's principal still allowed in? The gateway asks on every
 * request (caching the answer for seconds), so a deprovisioned user or a
 * client past its contract end loses access on its next request rather
 * than when its token expires.
 *
 * - users of the platform's own tokens: known and ACTIVE, in the token's tenant;
 * - API clients: ACTIVE, in the token's tenant, contract not ended;
 * - people signed in at their tenant's IdP (SSO): their IdP is the
 *   authority, unless identity knows them (SCIM `externalId` = the token's
 *   `sub`) and they are no longer ACTIVE;
 * - devices: not judged here. The device subgraph owns them and answers
 *   the gateway itself (`/internal/device-status`); asked here, identity
 *   answers inactive (NOT_AUTHORITY), so a misrouted question fails closed.
 */
import { activeElevationsFor } from '../elevation/service';
import type { ApiClientDoc, IdentityModels, UserDoc } from '../model';

export interface StatusQuery {
  id: string;
  tenantId: string;
  subjectType: 'user' | 'client' | 'device';
  /** For SSO principals: the IdP's `sub`. */
  externalSubject?: string;
}

export interface PrincipalStatus {
  active: boolean;
  /** Roles and scopes of the person's approved, unexpired just-in-time elevations (added to the token's). */
  elevatedRoles?: string[];
  elevatedScopes?: string[];
  /** When the first of those elevations ends (epoch ms): the gateway must not reuse this answer beyond it. */
  elevationExpiresAt?: number;
  /** Those elevations one by one: id and the role or scope each grants. */
  elevations?: Array<{ id: string; role?: string; scope?: string }>;
  /** Why not (UNKNOWN, TENANT_MISMATCH, CONTRACT_ENDED, NOT_AUTHORITY for a device, or the record's status). */
  reason?: string;
  /** The identity user the answer is about, when it differs from the principal id (SSO): the gateway forgets the answer when SCIM changes that user. */
  userId?: string;
}

const inactive = (reason: string, userId?: string): PrincipalStatus => ({ active: false, reason, ...(userId ? { userId } : {}) });

export async function principalStatus(models: IdentityModels, q: StatusQuery, now: Date): Promise<PrincipalStatus> {
  if (q.subjectType === 'device') return inactive('NOT_AUTHORITY');
  if (q.subjectType === 'client') {
    const c = await models.ApiClient.findOne({ _id: q.id }, { tenantId: 1, status: 1, contractEndsAt: 1 }).lean<ApiClientDoc>();
    if (!c) return inactive('UNKNOWN');
    if (c.tenantId !== q.tenantId) return inactive('TENANT_MISMATCH');
    if (c.status !== 'ACTIVE') return inactive(c.status);
    if (c.contractEndsAt && c.contractEndsAt.getTime() <= now.getTime()) return inactive('CONTRACT_ENDED');
    return { active: true };
  }
  if (q.externalSubject !== undefined) {
    const u = await models.User.findOne({ tenantId: q.tenantId, externalId: q.externalSubject }, { status: 1 }).lean<UserDoc>();
    if (!u) return { active: true };
    return u.status === 'ACTIVE' ? { active: true, userId: u._id, ...(await elevations(models, u._id, q.tenantId, now)) } : inactive(u.status, u._id);
  }
  const u = await models.User.findOne({ _id: q.id }, { tenantId: 1, status: 1 }).lean<UserDoc>();
  if (!u) return inactive('UNKNOWN');
  if (u.tenantId !== q.tenantId) return inactive('TENANT_MISMATCH');
  return u.status === 'ACTIVE' ? { active: true, ...(await elevations(models, u._id, q.tenantId, now)) } : inactive(u.status);
}

/** The person's active elevations, in the shape of the status answer (nothing when none is active). */
async function elevations(models: IdentityModels, userId: string, tenantId: string, now: Date): Promise<Partial<PrincipalStatus>> {
  const e = await activeElevationsFor(models, userId, tenantId, now);
  if (!e.roles.length && !e.scopes.length) return {};
  return { elevatedRoles: e.roles, elevatedScopes: e.scopes, elevations: e.grants, ...(e.nextExpiryAt ? { elevationExpiresAt: e.nextExpiryAt.getTime() } : {}) };
}
