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
 * Who is calling. Until token verification lands this is always the
 * development principal; the access layer replaces `resolvePrincipal` and
 * nothing else changes.
 */
export type Principal =
  | { kind: 'anonymous' }
  | { kind: 'system'; id: string }
  | { kind: 'user'; id: string; tenantId: string; roles: string[]; scopes: string[]; /** The tenant's home region. */ region?: Region };

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
  /** Who is calling; replaced by token verification in the access layer. */
  resolvePrincipal?: (req: IncomingMessage) => Principal;
}

/** What a principal's requests may read: its tenant; everything for system tasks; nothing for anonymous callers. */
export function scopeOf(principal: Principal): DataScope {
  if (principal.kind === 'user') return { tenantIds: [principal.tenantId] };
  if (principal.kind === 'system') return {};
  return { tenantIds: [] };
}

export function createRequestContext<Loaders>(req: IncomingMessage, deps: ContextDeps<Loaders>): RequestContext<Loaders> {
  const requestId = requestIdFrom(req);
  const principal = deps.resolvePrincipal?.(req) ?? ({ kind: 'system', id: 'development' } as const);
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
