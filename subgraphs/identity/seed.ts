/**
 * Demo data of the identity subgraph from the shared demo plan: its
 * tenants, a user of every role in each, and the partner API client.
 * Idempotent: every document is an upsert with `$setOnInsert`, so a second
 * run writes nothing and edits made since are kept.
 */
import type { Connection } from 'mongoose';
import type { DemoPlan } from '../../lib/demo';
import { createModels, ensureIndexes, type ApiClientDoc, type TenantDoc, type UserDoc } from './model';
import { normaliseEmail, tenantNameKey } from './service';

const DAY = 24 * 60 * 60 * 1000;
/** Demo history starts here, so seeded dates are the same on every machine. */
const EPOCH = Date.parse('2025-01-06T09:00:00Z');
/** Roles whose holders have enrolled a second factor in the demo. */
const MFA_ROLES = new Set(['TENANT_ADMIN', 'SECURITY_ADMIN', 'PRIVACY_OFFICER', 'AUDITOR', 'DISPATCHER']);

export async function seed(conn: Connection, plan: DemoPlan): Promise<void> {
  const models = createModels(conn);
  await ensureIndexes(models);

  const tenants: TenantDoc[] = plan.tenants.map((t, i) => ({
    _id: t.id,
    name: t.name,
    nameKey: tenantNameKey(t.name),
    kind: t.kind,
    homeRegion: t.homeRegion,
    createdAt: new Date(EPOCH + i * 30 * DAY),
  }));
  const users: UserDoc[] = plan.users.map((u, i) => ({
    _id: u.id,
    tenantId: u.tenantId,
    email: normaliseEmail(u.email),
    name: u.name,
    roles: u.roles,
    mfaEnrolled: u.roles.some((r) => MFA_ROLES.has(r)),
    lastLoginAt: i % 4 === 3 ? null : new Date(EPOCH + (60 + i) * DAY),
    status: 'ACTIVE',
    createdAt: new Date(EPOCH + (31 + i) * DAY),
  }));
  const c = plan.apiClient;
  const client: ApiClientDoc = {
    _id: c.id,
    tenantId: c.tenantId,
    name: c.name,
    scopes: c.scopes,
    // A live contract whenever the demo is seeded: one year from the first seeding.
    contractEndsAt: new Date(Date.now() + 365 * DAY),
    status: 'ACTIVE',
    allowedEventTypes: ['shipment.status_changed', 'shipment.delivered', 'shipment.exception'],
    createdAt: new Date(EPOCH + 45 * DAY),
  };

  const upserts = <T extends { _id: string }>(docs: T[]) =>
    docs.map(({ _id, ...rest }) => ({ updateOne: { filter: { _id }, update: { $setOnInsert: rest }, upsert: true } }));
  // Tenants first: users and the client belong to them.
  await models.Tenant.bulkWrite(upserts(tenants), { ordered: true });
  await models.User.bulkWrite(upserts(users), { ordered: true });
  await models.ApiClient.bulkWrite(upserts([client]), { ordered: true });
}
