/**
 * The request context: the single place where identity, tenant and region
 * live for one request. Built once per request by `createRequestContext`,
 * on the gateway and in every subgraph; resolvers and services read it and
 * never look at headers themselves.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AuditSink } from './audit';
import type { Logger } from './logger';

export type Region = 'EU' | 'US' | 'APAC';

/** Every data-residency region, as in `enum Region`. */
export const REGIONS: readonly Region[] = ['EU', 'US', 'APAC'];

/**
 * Data tags a record may carry (`enum DataTag` in schema/shipment.graphql).
 * A tagged record is visible only to principals cleared for every one of its
 * tags. A closed set: data access excludes the tags a principal is not
 * cleared for, so a tag added here is invisible to everyone until granted.
 */
export const DATA_TAGS = ['HAZMAT', 'HIGH_VALUE', 'MEDICAL', 'GOVERNMENT'] as const;
export type DataTag = (typeof DATA_TAGS)[number];

/** True when `value` is one of {@link REGIONS}. */
export function isRegion(value: unknown): value is Region {
  return typeof value === 'string' && (REGIONS as readonly string[]).includes(value);
}

/** True when `value` is one of {@link DATA_TAGS}. */
export function isDataTag(value: unknown): value is DataTag {
  return typeof value === 'string' && (DATA_TAGS as readonly string[]).includes(value);
}

/**
 * `value` as a list of known regions / data tags: unknown entries and non-lists are dropped
 * (a list of nothing known is an empty list, never "unrestricted").
 */
export function regionList(value: unknown): Region[] {
  return Array.isArray(value) ? [...new Set(value.filter(isRegion))] : [];
}
export function dataTagList(value: unknown): DataTag[] {
  return Array.isArray(value) ? [...new Set(value.filter(isDataTag))] : [];
}

/**
 * Who is calling: at the gateway, the principal of a verified bearer token
 * (gateway/principal.ts); in a subgraph, the principal the gateway vouched
 * for in its internal token (lib/auth/internal-token.ts).
 */
export type Principal = AnonymousPrincipal | SystemPrincipal | TenantPrincipal;

export interface AnonymousPrincipal {
  kind: 'anonymous';
}

/** The platform itself (seeding, background tasks): unrestricted, never from a token. */
export interface SystemPrincipal {
  kind: 'system';
  id: string;
}

/**
 * An authenticated caller acting for one tenant: a person, a partner's API
 * client or a device. (`kind` stays 'user' for all three; `subjectType`
 * tells them apart.)
 */
export interface TenantPrincipal {
  kind: 'user';
  /** User id, API client id or device id. */
  id: string;
  tenantId: string;
  /** Roles held now, including active just-in-time elevations. */
  roles: string[];
  /** OAuth scopes held now (people: implied by roles; clients and devices: granted). */
  scopes: string[];
  /** The tenant's home region. */
  region?: Region;
  /**
   * Data regions whose records the principal may see (ABAC, `regionAllowed`).
   * Undefined: every region of its tenants; a list (possibly empty) restricts
   * to those. People: their user record; API clients: the client record;
   * SSO: the trusted issuer's configuration.
   */
  dataRegions?: Region[];
  /**
   * Data tags the principal is cleared for (ABAC, `dataTagCleared`): a record
   * carrying any other tag is invisible. Undefined or empty: none (untagged
   * records only).
   */
  clearances?: DataTag[];
  /** @default 'user' */
  subjectType?: 'user' | 'client' | 'device';
  /** Authentication methods of the login (RFC 8176: pwd, otp, mfa, hwk …). */
  amr?: string[];
  /** When the person last authenticated (epoch seconds). */
  authTime?: number;
  /** Partners: tenants whose shipments they may see under a live contract. */
  partnerOf?: string[];
  /** Drivers: the daily shift window, e.g. { start: '06:00', end: '18:00', timeZone: 'Europe/Amsterdam' }. */
  shift?: { start: string; end: string; timeZone: string };
  /**
   * The active just-in-time elevations merged into `roles` and `scopes` by
   * the gateway (gateway/principal-status.ts): which elevation granted
   * which role or scope, so that what relies on one (a SENSITIVE reveal,
   * lib/reveal.ts) can require it and name it. Absent when none is active.
   */
  elevations?: ActiveElevationGrant[];
  /** Token id (jti) and expiry (epoch seconds) of the token this came from. */
  tokenId?: string;
  expiresAt?: number;
}

/** One active just-in-time elevation of a person: its id and the one role or scope it grants. */
export interface ActiveElevationGrant {
  id: string;
  role?: string;
  scope?: string;
}

/**
 * What data a request may touch. Services pass it into every query, so
 * tenancy is a filter in data access, never a check after loading.
 * `tenantIds: undefined` means unrestricted (system tasks, development).
 */
export interface DataScope {
  tenantIds?: string[];
  /** Regions of the records the request may see (records carrying `region`). Undefined: every region. */
  regions?: Region[];
  /** Data tags the request is cleared for: a record carrying any other tag is out of scope. Undefined: every tag (system tasks). */
  clearances?: DataTag[];
}

export interface RequestContext<Loaders = unknown> {
  requestId: string;
  principal: Principal;
  scope: DataScope;
  /** Home region of the caller's tenant, when known (routes data access later). */
  region?: Region;
  logger: Logger;
  audit: AuditSink;
  loaders: Loaders;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{8,128}$/;

/** The caller's request id if it is well-formed, otherwise a new one. */
export function requestIdFrom(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

export interface ContextDeps<Loaders> {
  logger: Logger;
  audit: AuditSink;
  createLoaders: (scope: DataScope) => Loaders;
  /**
   * Who is calling: the gateway verifies the bearer token, a subgraph the
   * gateway's internal token. Rejecting refuses the whole request (401).
   */
  resolvePrincipal: (req: IncomingMessage) => Principal | Promise<Principal>;
}

/**
 * What a principal's requests may read: its tenant, within its data regions,
 * records carrying only tags it is cleared for; everything for system tasks;
 * nothing for anonymous callers.
 */
export function scopeOf(principal: Principal): DataScope {
  if (principal.kind === 'user') {
    return {
      // A partner's API client reads its own tenant's data and that of the tenants it is contracted with.
      tenantIds: [...new Set([principal.tenantId, ...(principal.subjectType === 'client' ? (principal.partnerOf ?? []) : [])])],
      ...(principal.dataRegions !== undefined ? { regions: regionList(principal.dataRegions) } : {}),
      clearances: dataTagList(principal.clearances),
    };
  }
  if (principal.kind === 'system') return {};
  return { tenantIds: [], regions: [], clearances: [] };
}

export async function createRequestContext<Loaders>(req: IncomingMessage, deps: ContextDeps<Loaders>): Promise<RequestContext<Loaders>> {
  const requestId = requestIdFrom(req);
  const principal = await deps.resolvePrincipal(req);
  const scope = scopeOf(principal);
  return {
    requestId,
    principal,
    scope,
    region: principal.kind === 'user' ? principal.region : undefined,
    logger: deps.logger.child({ requestId }),
    audit: deps.audit,
    loaders: deps.createLoaders(scope),
  };
}
