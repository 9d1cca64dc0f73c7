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
  /** Token id (jti) and expiry (epoch seconds) of the token this came from. */
  tokenId?: string;
  expiresAt?: number;
}

/**
 * What data a request may touch. Services pass it into every query, so
 * tenancy is a filter in data access, never a check after loading.
 * `tenantIds: undefined` means unrestricted (system tasks, development).
 */
export interface DataScope {
  tenantIds?: string[];
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

/** What a principal's requests may read: its tenant; everything for system tasks; nothing for anonymous callers. */
export function scopeOf(principal: Principal): DataScope {
  // A partner's API client reads its own tenant's data and that of the tenants it is contracted with.
  if (principal.kind === 'user') return { tenantIds: [...new Set([principal.tenantId, ...(principal.subjectType === 'client' ? (principal.partnerOf ?? []) : [])])] };
  if (principal.kind === 'system') return {};
  return { tenantIds: [] };
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
