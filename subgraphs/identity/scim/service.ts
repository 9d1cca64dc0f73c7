/**
 * SCIM provisioning of one tenant's users: each tenant's IdP holds a bearer
 * token (random, shown once, stored as its SHA-256 on the tenant) that
 * reaches that tenant's users only. `active: false` deprovisions
 * (DEPROVISIONED); DELETE deprovisions and hides the user from SCIM (the
 * record stays for the audit trail and admins). Every change is audited
 * with the user's id and status only.
 */
import type { AuditSink } from '../../../lib/audit';
import { SCIM_TOKEN_PREFIX, generateSecret, tokenHash } from '../../../lib/auth/secrets';
import { isDuplicateKey } from '../../../lib/errors';
import { newId, type IdentityModels, type UserDoc } from '../model';
import { normaliseEmail, userEmailFilter } from '../service';
import { ScimError, scimNotFound } from './errors';
import type { ScimUserChanges, ScimUserInput } from './resource';

// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

function cleanName(raw: string): string {
  const value = raw.normalize('NFC').replace(/\s+/g, ' ').trim();
  if (!value || value.length > 200 || CONTROL_CHARS.test(value)) throw new ScimError(400, 'name must be 1 to 200 printable characters', 'invalidValue');
  return value;
}

function email(userName: string): string {
  try {
    return normaliseEmail(userName);
  } catch {
    throw new ScimError(400, 'userName must be an email address', 'invalidValue');
  }
}

export class ScimService {
  constructor(
    private readonly models: IdentityModels,
    private readonly audit: AuditSink,
    private readonly now: () => Date,
  ) {}

  /** The tenant a SCIM bearer token belongs to, or undefined. */
  async tenantForToken(token: string): Promise<string | undefined> {
    if (!token.startsWith(SCIM_TOKEN_PREFIX) || token.length > 200) return undefined;
    const tenant = await this.models.Tenant.findOne({ scimTokenHash: tokenHash(token) }, { _id: 1 }).lean<{ _id: string }>();
    return tenant?._id;
  }

  /** A new SCIM token for `tenantId`, replacing any previous one; undefined for an unknown tenant. Audited. */
  async issueToken(actor: string, tenantId: string, requestId?: string): Promise<string | undefined> {
    const token = generateSecret(SCIM_TOKEN_PREFIX);
    const updated = await this.models.Tenant.updateOne({ _id: tenantId }, { $set: { scimTokenHash: tokenHash(token) } });
    if (updated.matchedCount !== 1) return undefined;
    await this.audit.record({ type: 'scim.token_issued', actor, tenantId, target: `Tenant:${tenantId}`, requestId });
    return token;
  }

  private visible(tenantId: string): Record<string, unknown> {
    return { tenantId, scimDeletedAt: null };
  }

  private async record(type: string, tenantId: string, user: UserDoc, requestId?: string): Promise<void> {
    await this.audit.record({ type, actor: `scim:${tenantId}`, tenantId, target: `User:${user._id}`, requestId, details: { status: user.status } });
  }

  async create(tenantId: string, input: ScimUserInput, requestId?: string): Promise<UserDoc> {
    const now = this.now();
    const doc: UserDoc = {
      _id: newId(),
      tenantId,
      email: email(input.userName),
      name: cleanName(input.name),
      roles: [],
      mfaEnrolled: false,
      lastLoginAt: null,
      status: input.active ? 'ACTIVE' : 'DEPROVISIONED',
      createdAt: now,
      updatedAt: now,
      externalId: input.externalId ?? null,
    };
    try {
      await this.models.User.create(doc);
    } catch (err) {
      if (isDuplicateKey(err)) throw new ScimError(409, 'A user with this userName already exists', 'uniqueness');
      throw err;
    }
    await this.record('scim.user_created', tenantId, doc, requestId);
    return doc;
  }

  async get(tenantId: string, id: string): Promise<UserDoc> {
    const doc = await this.models.User.findOne({ _id: id, ...this.visible(tenantId) }).lean<UserDoc>();
    if (!doc) throw scimNotFound();
    return doc;
  }

  async list(tenantId: string, userName: string | undefined, startIndex: number, count: number): Promise<{ total: number; users: UserDoc[] }> {
    let filter: Record<string, unknown> = this.visible(tenantId);
    if (userName !== undefined) filter = { ...filter, ...(await userEmailFilter(this.models, tenantId, userName)) };
    const [total, users] = await Promise.all([
      this.models.User.countDocuments(filter),
      count === 0 ? [] : this.models.User.find(filter).sort({ createdAt: 1, _id: 1 }).skip(startIndex - 1).limit(count).lean<UserDoc[]>(),
    ]);
    return { total, users };
  }

  async patch(tenantId: string, id: string, changes: ScimUserChanges, requestId?: string): Promise<UserDoc> {
    const before = await this.get(tenantId, id);
    const set: Partial<UserDoc> = { updatedAt: this.now() };
    if (changes.name !== undefined) set.name = cleanName(changes.name);
    if (changes.externalId !== undefined) set.externalId = changes.externalId;
    if (changes.active !== undefined) set.status = changes.active ? 'ACTIVE' : 'DEPROVISIONED';
    const after = await this.models.User.findOneAndUpdate({ _id: id, ...this.visible(tenantId) }, { $set: set }, { returnDocument: 'after' }).lean<UserDoc>();
    if (!after) throw scimNotFound();
    const type = before.status === after.status ? 'scim.user_updated' : after.status === 'ACTIVE' ? 'scim.user_reactivated' : 'scim.user_deprovisioned';
    await this.record(type, tenantId, after, requestId);
    return after;
  }

  async remove(tenantId: string, id: string, requestId?: string): Promise<void> {
    const now = this.now();
    const after = await this.models.User.findOneAndUpdate(
      { _id: id, ...this.visible(tenantId) },
      { $set: { status: 'DEPROVISIONED', scimDeletedAt: now, updatedAt: now } },
      { returnDocument: 'after' },
    ).lean<UserDoc>();
    if (!after) throw scimNotFound();
    await this.record('scim.user_deleted', tenantId, after, requestId);
  }
}
