/**
 * Business rules of the identity subgraph over its models: who sees which
 * tenant, user and API client, and how tenants and users are created.
 * Every read takes the caller's `DataScope` and puts it in the database
 * query itself; nothing is filtered after loading.
 */
import { trusted } from 'mongoose';
import { actorOf, tenantCallerOf, tenantFilter, type WriteContext } from '../../lib/caller';
import type { DataScope } from '../../lib/context';
import { blindIndexFilter } from '../../lib/crypto/model-encryption';
import type { PageRequest } from '../../lib/pagination';
import { BadUserInputError, isDuplicateKey } from '../../lib/errors';
import { EmailTakenError, InvalidInputError, RoleNotGrantableError, SecurityAdminGrantError, TenantNameTakenError, TenantNotFoundError } from './errors';
import { newId, type ApiClientDoc, type IdentityModels, type TenantDoc, type UserDoc } from './model';

/** The records callers see: the stored documents with `id` for `_id` (and without a tenant's `nameKey`). */
export type Tenant = Omit<TenantDoc, '_id' | 'nameKey'> & { id: string };
export type User = Omit<UserDoc, '_id'> & { id: string };
export type ApiClient = Omit<ApiClientDoc, '_id'> & { id: string };

export interface CreateTenantInput {
  name: string;
  kind: TenantDoc['kind'];
  homeRegion: TenantDoc['homeRegion'];
}

export interface CreateUserInput {
  email: string;
  name: string;
  roles: string[];
}

export interface Page<T> {
  items: T[];
  totalCount: number;
}

/** Roles only partner API clients and devices hold; people are never granted them. */
const NON_USER_ROLES = new Set(['PARTNER', 'DEVICE']);
const MAX_NAME_LENGTH = 200;
const MAX_EMAIL_LENGTH = 254;
const EMAIL = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/** Trimmed, inner whitespace collapsed, NFC; refused when empty, too long or holding control characters. */
function displayName(field: string, raw: string): string {
  const value = raw.normalize('NFC').replace(/\s+/g, ' ').trim();
  if (!value) throw new InvalidInputError(field, 'must not be empty');
  if (value.length > MAX_NAME_LENGTH) throw new InvalidInputError(field, `must be at most ${MAX_NAME_LENGTH} characters`);
  if (CONTROL_CHARS.test(value)) throw new InvalidInputError(field, 'must not contain control characters');
  return value;
}

/** Emails compare trimmed and lower-cased, so `Ann@X.example` and `ann@x.example` are one account. */
export function normaliseEmail(raw: string): string {
  const value = raw.normalize('NFC').trim().toLowerCase();
  if (value.length > MAX_EMAIL_LENGTH || !EMAIL.test(value)) throw new InvalidInputError('email', 'is not a valid email address');
  return value;
}

/** What tenant-name uniqueness is checked on. */
export function tenantNameKey(name: string): string {
  return name.toLowerCase();
}

const toTenant = (d: TenantDoc): Tenant => ({ id: d._id, name: d.name, kind: d.kind, homeRegion: d.homeRegion, createdAt: d.createdAt });

const toUser = (d: UserDoc): User => ({
  id: d._id,
  tenantId: d.tenantId,
  email: d.email,
  name: d.name,
  roles: d.roles ?? [],
  mfaEnrolled: d.mfaEnrolled ?? false,
  lastLoginAt: d.lastLoginAt ?? null,
  status: d.status,
  createdAt: d.createdAt,
});

const toApiClient = (d: ApiClientDoc): ApiClient => ({
  id: d._id,
  tenantId: d.tenantId,
  name: d.name,
  scopes: d.scopes ?? [],
  contractEndsAt: d.contractEndsAt ?? null,
  status: d.status,
  allowedEventTypes: d.allowedEventTypes ?? [],
  createdAt: d.createdAt,
});

export class IdentityService {
  constructor(private readonly models: IdentityModels) {}

  /** The tenants among `ids` that `scope` may see (a tenant-scoped caller sees only its own), in one query. */
  async tenantsByIds(scope: DataScope, ids: readonly string[]): Promise<Tenant[]> {
    const clauses: Record<string, unknown>[] = [{ _id: trusted({ $in: [...ids] }) }];
    if (scope.tenantIds) clauses.push({ _id: trusted({ $in: scope.tenantIds }) });
    const docs = await this.models.Tenant.find({ $and: clauses }, { nameKey: 0 }).lean<TenantDoc[]>();
    return docs.map(toTenant);
  }

  /** The users among `ids` that belong to a tenant in `scope`, in one query. */
  async usersByIds(scope: DataScope, ids: readonly string[]): Promise<User[]> {
    const docs = await this.models.User.find({ _id: trusted({ $in: [...ids] }), ...tenantFilter(scope) }).lean<UserDoc[]>();
    return docs.map(toUser);
  }

  /**
   * Users in `scope`, oldest first (by id: ids grow with time). Not by name:
   * names are encrypted, so the database cannot order them, and they must
   * not travel in cursors either.
   */
  async listUsers(scope: DataScope, page: PageRequest): Promise<Page<User>> {
    const base = tenantFilter(scope);
    let filter: Record<string, unknown> = base;
    if (page.after) {
      if (page.after.k !== '') throw new BadUserInputError('after is not a valid cursor', { argument: 'after' });
      // A cursor names a user of the caller's scope; another tenant's cursor is refused, not silently followed.
      if (!(await this.models.User.exists({ _id: page.after.id, ...base }))) throw new BadUserInputError('after is not a valid cursor', { argument: 'after' });
      filter = { ...base, _id: trusted({ $gt: page.after.id }) };
    }
    const [docs, totalCount] = await Promise.all([
      this.models.User.find(filter).sort({ _id: 1 }).limit(page.first + 1).lean<UserDoc[]>(),
      this.models.User.countDocuments(base),
    ]);
    return { items: docs.map(toUser), totalCount };
  }

  /** API clients in `scope`, newest first (then by id, descending). */
  async listApiClients(scope: DataScope, page: PageRequest): Promise<Page<ApiClient>> {
    const base = tenantFilter(scope);
    let filter: Record<string, unknown> = base;
    if (page.after) {
      const { k, id } = page.after;
      if (typeof k !== 'number' || !Number.isFinite(k)) throw new BadUserInputError('after is not a valid cursor', { argument: 'after' });
      const at = new Date(k);
      filter = { ...base, $or: [{ createdAt: trusted({ $lt: at }) }, { createdAt: at, _id: trusted({ $lt: id }) }] };
    }
    const [docs, totalCount] = await Promise.all([
      this.models.ApiClient.find(filter).sort({ createdAt: -1, _id: -1 }).limit(page.first + 1).lean<ApiClientDoc[]>(),
      this.models.ApiClient.countDocuments(base),
    ]);
    return { items: docs.map(toApiClient), totalCount };
  }

  /** Creates a tenant; names are unique platform-wide (case- and space-insensitive). Audited. */
  async createTenant(ctx: WriteContext, input: CreateTenantInput): Promise<Tenant> {
    const name = displayName('name', input.name);
    const nameKey = tenantNameKey(name);
    if (await this.models.Tenant.exists({ nameKey })) throw new TenantNameTakenError();
    const doc: TenantDoc = { _id: newId(), name, nameKey, kind: input.kind, homeRegion: input.homeRegion, createdAt: new Date() };
    try {
      await this.models.Tenant.create(doc);
    } catch (err) {
      // Lost a race with a concurrent create of the same name: the unique index decides.
      if (isDuplicateKey(err)) throw new TenantNameTakenError();
      throw err;
    }
    await ctx.audit.record({
      type: 'tenant.created',
      actor: actorOf(ctx.caller),
      tenantId: doc._id,
      target: `Tenant:${doc._id}`,
      requestId: ctx.requestId,
      details: { kind: doc.kind, homeRegion: doc.homeRegion },
    });
    return toTenant(doc);
  }

  /**
   * Creates an ACTIVE user in the caller's tenant. The tenant always comes
   * from the caller, never from input; a system caller has none and is
   * refused. Emails are unique per tenant. Only a SECURITY_ADMIN may grant
   * SECURITY_ADMIN; PARTNER and DEVICE are never user roles. Audited
   * without personal data.
   */
  async createUser(ctx: WriteContext, input: CreateUserInput): Promise<User> {
    const caller = tenantCallerOf(ctx.caller);
    const email = normaliseEmail(input.email);
    const name = displayName('name', input.name);
    const roles = [...new Set(input.roles)];
    for (const role of roles) if (NON_USER_ROLES.has(role)) throw new RoleNotGrantableError(role);
    if (roles.includes('SECURITY_ADMIN') && !caller.roles.includes('SECURITY_ADMIN')) throw new SecurityAdminGrantError();
    const tenantId = caller.tenantId;
    if (!(await this.models.Tenant.exists({ _id: tenantId }))) throw new TenantNotFoundError();
    if (await this.models.User.exists(await userEmailFilter(this.models, tenantId, email))) throw new EmailTakenError();
    const doc: UserDoc = { _id: newId(), tenantId, email, name, roles, mfaEnrolled: false, lastLoginAt: null, status: 'ACTIVE', createdAt: new Date() };
    try {
      await this.models.User.create(doc);
    } catch (err) {
      if (isDuplicateKey(err)) throw new EmailTakenError();
      throw err;
    }
    await ctx.audit.record({
      type: 'user.created',
      actor: actorOf(caller),
      tenantId,
      target: `User:${doc._id}`,
      requestId: ctx.requestId,
      details: { roles },
    });
    return toUser(doc);
  }
}

/**
 * The filter that finds a tenant's user by email: its full-length blind
 * index (emails are encrypted), unique per tenant. `email` is normalised
 * by the index.
 */
export function userEmailFilter(models: Pick<IdentityModels, 'User'>, tenantId: string, email: string): Promise<Record<string, string>> {
  return blindIndexFilter(models.User, tenantId, 'email', email);
}
