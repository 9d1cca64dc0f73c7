/**
 * Mongoose models of the identity subgraph: tenants, users and partner API
 * clients. Ids are strings (24-hex, ObjectId-shaped) stored in `_id`, so the
 * stable demo ids and new ids look the same. Model names carry an
 * `Identity` prefix: every subgraph may share one connection in `npm start`.
 */
import { Schema, Types, type Connection, type Model } from 'mongoose';

export const TENANT_KINDS = ['BRAND', 'CARRIER', 'MARKETPLACE', 'THREE_PL'] as const;
export const REGIONS = ['EU', 'US', 'APAC'] as const;
export const USER_STATUSES = ['ACTIVE', 'SUSPENDED', 'DEPROVISIONED'] as const;
export const API_CLIENT_STATUSES = ['ACTIVE', 'SUSPENDED', 'EXPIRED', 'REVOKED'] as const;
export const ROLES = ['TENANT_ADMIN', 'SECURITY_ADMIN', 'PRIVACY_OFFICER', 'SUPPORT_AGENT', 'DISPATCHER', 'DRIVER', 'AUDITOR', 'PARTNER', 'DEVICE'] as const;

/** A new id: the hex form of an ObjectId. */
export function newId(): string {
  return new Types.ObjectId().toHexString();
}

export interface TenantDoc {
  _id: string;
  name: string;
  /** `name` trimmed, whitespace collapsed, lower-cased: what uniqueness is checked on. */
  nameKey: string;
  kind: (typeof TENANT_KINDS)[number];
  homeRegion: (typeof REGIONS)[number];
  createdAt: Date;
}

export interface UserDoc {
  _id: string;
  tenantId: string;
  /** Normalised (trimmed, lower-case); unique per tenant. Personal data. */
  email: string;
  /** Personal data. */
  name: string;
  roles: string[];
  mfaEnrolled: boolean;
  lastLoginAt: Date | null;
  status: (typeof USER_STATUSES)[number];
  createdAt: Date;
}

export interface ApiClientDoc {
  _id: string;
  tenantId: string;
  name: string;
  scopes: string[];
  contractEndsAt: Date | null;
  status: (typeof API_CLIENT_STATUSES)[number];
  allowedEventTypes: string[];
  createdAt: Date;
}

const tenantSchema = new Schema<TenantDoc>(
  {
    _id: { type: String, default: newId },
    name: { type: String, required: true },
    nameKey: { type: String, required: true },
    kind: { type: String, enum: TENANT_KINDS, required: true },
    homeRegion: { type: String, enum: REGIONS, required: true },
    createdAt: { type: Date, required: true },
  },
  { collection: 'tenants', versionKey: false },
);
// Tenant names are unique platform-wide, compared case- and space-insensitively.
tenantSchema.index({ nameKey: 1 }, { unique: true });

const userSchema = new Schema<UserDoc>(
  {
    _id: { type: String, default: newId },
    tenantId: { type: String, required: true },
    email: { type: String, required: true },
    name: { type: String, required: true },
    roles: { type: [String], enum: ROLES, default: [] },
    mfaEnrolled: { type: Boolean, default: false },
    lastLoginAt: { type: Date, default: null },
    status: { type: String, enum: USER_STATUSES, default: 'ACTIVE' },
    createdAt: { type: Date, required: true },
  },
  { collection: 'users', versionKey: false },
);
// One account per email within a tenant; also the tenant index for every user query.
userSchema.index({ tenantId: 1, email: 1 }, { unique: true });
// `users(first, after)` pages by name within a tenant.
userSchema.index({ tenantId: 1, name: 1, _id: 1 });

const apiClientSchema = new Schema<ApiClientDoc>(
  {
    _id: { type: String, default: newId },
    tenantId: { type: String, required: true },
    name: { type: String, required: true },
    scopes: { type: [String], default: [] },
    contractEndsAt: { type: Date, default: null },
    status: { type: String, enum: API_CLIENT_STATUSES, default: 'ACTIVE' },
    allowedEventTypes: { type: [String], default: [] },
    createdAt: { type: Date, required: true },
  },
  { collection: 'api_clients', versionKey: false },
);
// `apiClients(first, after)` pages newest first within a tenant.
apiClientSchema.index({ tenantId: 1, createdAt: -1, _id: -1 });

export interface IdentityModels {
  Tenant: Model<TenantDoc>;
  User: Model<UserDoc>;
  ApiClient: Model<ApiClientDoc>;
}

/** The identity models on `conn`, compiled once per connection. */
export function createModels(conn: Connection): IdentityModels {
  return {
    Tenant: (conn.models.IdentityTenant as Model<TenantDoc> | undefined) ?? conn.model<TenantDoc>('IdentityTenant', tenantSchema),
    User: (conn.models.IdentityUser as Model<UserDoc> | undefined) ?? conn.model<UserDoc>('IdentityUser', userSchema),
    ApiClient: (conn.models.IdentityApiClient as Model<ApiClientDoc> | undefined) ?? conn.model<ApiClientDoc>('IdentityApiClient', apiClientSchema),
  };
}

/** Resolves once every index (the unique ones above all) exists: call before serving writes. */
export async function ensureIndexes(models: IdentityModels): Promise<void> {
  await Promise.all([models.Tenant.init(), models.User.init(), models.ApiClient.init()]);
}
