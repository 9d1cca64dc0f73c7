/**
 * Demo data of the identity subgraph from the shared demo plan: its
 * tenants, a user of every role in each, and the partner API client.
 * Idempotent: every document is an upsert with `$setOnInsert`, so a second
 * run writes nothing and edits made since are kept.
 *
 * Credentials (development only, derived in lib/demo-credentials.ts): each
 * user's password hash and TOTP secret, the client's secret hash and each
 * tenant's SCIM token hash are filled in where missing, so databases seeded
 * before credentials existed get them too.
 */
import { trusted, type Connection } from 'mongoose';
import { hashSecret, tokenHash } from '../../lib/auth/secrets';
import { encryptDocuments } from '../../lib/crypto/model-encryption';
import type { DemoPlan } from '../../lib/demo';
import { demoClientSecret, demoPassword, demoScimToken, demoTotpSecret } from '../../lib/demo-credentials';
import { createModels, ensureIndexes, type ApiClientDoc, type IdentityModels, type TenantDoc, type UserDoc } from './model';
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
    partnerOf: c.partnerOf,
  };

  const upserts = <T extends { _id: string }>(docs: T[]) =>
    docs.map(({ _id, ...rest }) => ({ updateOne: { filter: { _id }, update: { $setOnInsert: rest }, upsert: true } }));
  // Tenants first: users and the client belong to them.
  await models.Tenant.bulkWrite(upserts(tenants), { ordered: true });
  // Raw upserts skip the plugin's write hooks: encrypt names and emails (and index emails) first.
  await encryptDocuments(models.User, users);
  await models.User.bulkWrite(upserts(users), { ordered: true });
  await models.ApiClient.bulkWrite(upserts([client]), { ordered: true });
  await seedCredentials(models, plan);
}

/** Fills in the demo credentials where a seeded record has none (hashing only what is missing). */
async function seedCredentials(models: IdentityModels, plan: DemoPlan): Promise<void> {
  const users = await models.User.find({ _id: trusted({ $in: plan.users.map((u) => u.id) }) }, { passwordHash: 1, totpSecret: 1 }).lean<UserDoc[]>();
  await Promise.all(
    users
      .filter((u) => !u.passwordHash || !u.totpSecret)
      .map(async (u) => models.User.updateOne({ _id: u._id }, { $set: { passwordHash: u.passwordHash || (await hashSecret(demoPassword(u._id))), totpSecret: u.totpSecret || demoTotpSecret(u._id) } })),
  );
  const c = plan.apiClient;
  const client = await models.ApiClient.findById(c.id, { secrets: 1, partnerOf: 1 }).lean<ApiClientDoc>();
  if (client && !client.secrets?.length) {
    await models.ApiClient.updateOne({ _id: c.id }, { $set: { secrets: [{ hash: await hashSecret(demoClientSecret(c.id)), createdAt: new Date(EPOCH + 45 * DAY), expiresAt: null }] } });
  }
  if (client && client.partnerOf === undefined) await models.ApiClient.updateOne({ _id: c.id }, { $set: { partnerOf: c.partnerOf } });
  const tenants = await models.Tenant.find({ _id: trusted({ $in: plan.tenants.map((t) => t.id) }) }, { scimTokenHash: 1 }).lean<TenantDoc[]>();
  for (const t of tenants) if (!t.scimTokenHash) await models.Tenant.updateOne({ _id: t._id }, { $set: { scimTokenHash: tokenHash(demoScimToken(t._id)) } });
}
