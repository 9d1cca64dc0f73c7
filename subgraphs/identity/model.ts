/**
 * Mongoose models of the identity subgraph: tenants, users and partner API
 * clients. Ids are strings (24-hex, ObjectId-shaped) stored in `_id`, so the
 * stable demo ids and new ids look the same. Model names carry an
 * `Identity` prefix: every subgraph may share one connection in `npm start`.
 */
import { Schema, Types, type Connection, type Model } from 'mongoose';
import { encryptedFields } from '../../lib/crypto/model-encryption';
import { storedPiiPaths } from '../../lib/pii';
import { DATA_TAGS, type DataTag } from '../../lib/context';
import { createElevationModel, type ElevationDoc } from './elevation/model';

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
  /** SHA-256 of the tenant's SCIM bearer token (lib/auth/secrets.ts); the token itself is shown once. */
  scimTokenHash?: string | null;
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
  /** scrypt hash of the password (development login only); never leaves this subgraph. */
  passwordHash?: string | null;
  /** Base32 TOTP secret (it must be readable to check codes); never leaves this subgraph. */
  totpSecret?: string | null;
  /** Last TOTP time step accepted: a code is good once. */
  totpLastStep?: number | null;
  /** The identity provider's id for the user (SCIM `externalId`). */
  externalId?: string | null;
  /** Set when SCIM deleted the user: DEPROVISIONED and gone from SCIM reads. */
  scimDeletedAt?: Date | null;
  updatedAt?: Date | null;
  /** ABAC: the data regions the person may see (token claim `data_regions`); null or absent: no region restriction. */
  dataRegions?: Array<(typeof REGIONS)[number]> | null;
  /** ABAC: the data tags the person is cleared for (token claim `clearances`); absent: none. */
  clearances?: DataTag[];
}

/** One of an API client's secrets: the current one, or the previous one until its overlap ends. */
export interface ClientSecretDoc {
  /** scrypt hash (lib/auth/secrets.ts). */
  hash: string;
  createdAt: Date;
  /** Null for the current secret; set on rotation for the previous one. */
  expiresAt: Date | null;
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
  /** Tenants whose shipments the partner may reach under this contract (besides its own tenant). */
  partnerOf?: string[];
  /** Newest first: the current secret, then the previous one while it overlaps. Never leaves this subgraph. */
  secrets?: ClientSecretDoc[];
  /** ABAC: the data regions the partner may see, in every tenant it reaches; null or absent: no region restriction. */
  dataRegions?: Array<(typeof REGIONS)[number]> | null;
  /** ABAC: the data tags the partner is cleared for; absent: none. */
  clearances?: DataTag[];
}

const tenantSchema = new Schema<TenantDoc>(
  {
    _id: { type: String, default: newId },
    name: { type: String, required: true },
    nameKey: { type: String, required: true },
    kind: { type: String, enum: TENANT_KINDS, required: true },
    homeRegion: { type: String, enum: REGIONS, required: true },
    createdAt: { type: Date, required: true },
    scimTokenHash: { type: String, default: null },
  },
  { collection: 'tenants', versionKey: false },
);
// Tenant names are unique platform-wide, compared case- and space-insensitively.
tenantSchema.index({ nameKey: 1 }, { unique: true });
// SCIM requests find their tenant by the token's hash.
tenantSchema.index({ scimTokenHash: 1 }, { unique: true, partialFilterExpression: { scimTokenHash: { $type: 'string' } } });

const userSchema = new Schema<UserDoc>(
  {
    _id: { type: String, default: newId },
    tenantId: { type: String, required: true },
    // Encrypted (envelopes at rest, plain once read): the service validates them before writes.
    email: { type: Schema.Types.Mixed, required: true },
    name: { type: Schema.Types.Mixed, required: true },
    roles: { type: [String], enum: ROLES, default: [] },
    mfaEnrolled: { type: Boolean, default: false },
    lastLoginAt: { type: Date, default: null },
    status: { type: String, enum: USER_STATUSES, default: 'ACTIVE' },
    createdAt: { type: Date, required: true },
    passwordHash: { type: String, default: null },
    totpSecret: { type: Schema.Types.Mixed, default: null },
    totpLastStep: { type: Number, default: null },
    externalId: { type: String, default: null },
    scimDeletedAt: { type: Date, default: null },
    updatedAt: { type: Date, default: null },
    dataRegions: { type: [{ type: String, enum: REGIONS }], default: null },
    clearances: { type: [{ type: String, enum: DATA_TAGS }], default: [] },
  },
  { collection: 'users', versionKey: false },
);
// The tenant index for every user query; `users(first, after)` pages by id within a tenant.
userSchema.index({ tenantId: 1, _id: 1 });
// Email, name and the TOTP secret are envelopes under the person's own key (the user is the data subject):
// erasing the person shreds it. Emails stay unique per tenant, and findable for sign-in and SCIM, through a
// full-length blind index (a unique value has no frequency to leak, so nothing is gained by truncating it).
userSchema.plugin(encryptedFields, {
  collection: 'users',
  paths: [...storedPiiPaths('identity', 'users').map((p) => p.path), 'totpSecret'],
  subjectPath: '_id',
  blindIndexes: [{ path: 'email', name: 'email', normalise: 'email', bits: 256, unique: true }],
});

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
    partnerOf: { type: [String], default: [] },
    secrets: { type: [{ _id: false, hash: { type: String, required: true }, createdAt: { type: Date, required: true }, expiresAt: { type: Date, default: null } }], default: [] },
    dataRegions: { type: [{ type: String, enum: REGIONS }], default: null },
    clearances: { type: [{ type: String, enum: DATA_TAGS }], default: [] },
  },
  { collection: 'api_clients', versionKey: false },
);
// `apiClients(first, after)` pages newest first within a tenant.
apiClientSchema.index({ tenantId: 1, createdAt: -1, _id: -1 });

export interface IdentityModels {
  Tenant: Model<TenantDoc>;
  User: Model<UserDoc>;
  ApiClient: Model<ApiClientDoc>;
  Elevation: Model<ElevationDoc>;
}

/** The identity models on `conn`, compiled once per connection. */
export function createModels(conn: Connection): IdentityModels {
  return {
    Tenant: (conn.models.IdentityTenant as Model<TenantDoc> | undefined) ?? conn.model<TenantDoc>('IdentityTenant', tenantSchema),
    User: (conn.models.IdentityUser as Model<UserDoc> | undefined) ?? conn.model<UserDoc>('IdentityUser', userSchema),
    ApiClient: (conn.models.IdentityApiClient as Model<ApiClientDoc> | undefined) ?? conn.model<ApiClientDoc>('IdentityApiClient', apiClientSchema),
    Elevation: createElevationModel(conn),
  };
}

/** Resolves once every index (the unique ones above all) exists: call before serving writes. */
export async function ensureIndexes(models: IdentityModels): Promise<void> {
  await Promise.all([models.Tenant.init(), models.User.init(), models.ApiClient.init(), models.Elevation.init()]);
}
