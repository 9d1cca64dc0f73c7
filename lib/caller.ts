/**
 * Who is calling, in the shapes resolvers and services need, shared by every
 * subgraph: the verified `Caller` (anonymous callers refused), the actor
 * string audit records carry, the tenant a write creates data in (taken from
 * the principal, never from input), the tenant condition every query carries,
 * and the two guards of every `__resolveReference`: `representationField`
 * and `reference`. The principal itself is built by lib/context.ts.
 */
import { trusted } from 'mongoose';
import type { AuditSink } from './audit';
import { DATA_TAGS, type DataScope, type DataTag, type Principal, type Region, type RequestContext } from './context';
import { InvalidRepresentationError, TenantRequiredError, UnauthenticatedError } from './errors';
// The longest id a representation may carry: the same cap as every `ID` argument and input field.
import { MAX_ID_LENGTH } from './validation/length';

/** A verified caller: a user of one tenant (person, API client or device token) or a system task. Anonymous callers never get this far. */
export type Caller = { kind: 'user'; id: string; tenantId: string; roles: string[] } | { kind: 'system'; id: string };

/** A caller acting for one tenant: only user principals carry one. */
export type TenantCaller = Extract<Caller, { kind: 'user' }>;

/** What a write needs besides its input: who (for the audit trail), what it may touch, the request id and where to audit. */
export interface WriteContext {
  caller: Caller;
  scope: DataScope;
  requestId: string;
  audit: AuditSink;
}

/**
 * The verified caller of a request (or a caller again, normalised).
 * @throws UnauthenticatedError for an anonymous principal, before any data is read
 */
export function callerOf(principal: Principal | Caller): Caller {
  if (principal.kind === 'user') return { kind: 'user', id: principal.id, tenantId: principal.tenantId, roles: principal.roles };
  if (principal.kind === 'system') return { kind: 'system', id: principal.id };
  throw new UnauthenticatedError();
}

/** The actor of an audit record and of `reportedBy`: `user:<id>` or `system:<id>`. */
export function actorOf(caller: Caller | Exclude<Principal, { kind: 'anonymous' }>): string {
  return `${caller.kind}:${caller.id}`;
}

/**
 * The caller, who must act for a tenant: writes that create tenant-owned
 * data put it in this caller's tenant.
 * @throws UnauthenticatedError for an anonymous principal
 * @throws TenantRequiredError for a system caller (it has no tenant)
 */
export function tenantCallerOf(principal: Principal | Caller): TenantCaller {
  const caller = callerOf(principal);
  if (caller.kind !== 'user') throw new TenantRequiredError();
  return caller;
}

/**
 * The tenant a write creates data in: the caller's own, never one named by the input.
 * @throws UnauthenticatedError for an anonymous principal
 * @throws TenantRequiredError for a system caller (it has no tenant)
 */
export function tenantOfCaller(principal: Principal | Caller): string {
  return tenantCallerOf(principal).tenantId;
}

/** The `WriteContext` of a request. @throws UnauthenticatedError for an anonymous caller */
export function writeContextOf(ctx: RequestContext<unknown>): WriteContext {
  return { caller: callerOf(ctx.principal), scope: ctx.scope, requestId: ctx.requestId, audit: ctx.audit };
}

/**
 * The tenant condition of a query: part of the database filter, never a
 * check after loading. Nothing for an unrestricted scope, `$in` of the
 * scope's tenants otherwise (none for an anonymous caller). The operator is
 * marked trusted: `sanitizeFilter` (lib/db.ts) would wrap it in `$eq`.
 */
export function tenantFilter(scope: DataScope): { tenantId?: { $in: string[] } } {
  return scope.tenantIds ? { tenantId: trusted({ $in: scope.tenantIds }) } : {};
}

/** {@link tenantFilter} for an aggregation `$match` (pipelines are not sanitized, so no trusted marker). */
export function tenantMatch(scope: DataScope): { tenantId?: { $in: string[] } } {
  return scope.tenantIds ? { tenantId: { $in: scope.tenantIds } } : {};
}


/**
 * The ABAC conditions of a query on records that carry a `region` and
 * `dataTags` (shipments): part of the database filter, like
 * {@link tenantFilter}. The region must be one of the scope's; no tag may
 * lie outside the scope's clearances, written as "none of the tags it is not
 * cleared for" (the tag set is closed, and a record without `dataTags`
 * matches). Nothing for an unrestricted scope. The conditions sit under
 * `$and`, so a caller's own `region` filter set on the same object narrows
 * the result instead of replacing the restriction.
 */
export function recordFilter(scope: DataScope): { $and?: Array<{ region: { $in: Region[] } } | { dataTags: { $nin: DataTag[] } }> } {
  const uncleared = scope.clearances ? DATA_TAGS.filter((t) => !scope.clearances!.includes(t)) : [];
  const conditions: Array<{ region: { $in: Region[] } } | { dataTags: { $nin: DataTag[] } }> = [];
  if (scope.regions) conditions.push({ region: trusted({ $in: [...scope.regions] }) });
  if (uncleared.length) conditions.push({ dataTags: trusted({ $nin: uncleared }) });
  return conditions.length ? { $and: conditions } : {};
}


/**
 * A string field of an `_entities` representation. Representations are
 * arbitrary JSON (`_Any`) chosen by whoever calls the subgraph, so anything
 * but a short non-empty string (an object such as `{"$ne": null}` above all)
 * is refused before it can reach a query.
 * @throws InvalidRepresentationError naming `typename` and `field`
 */
export function representationField(ref: unknown, typename: string, field: string): string {
  const value = (ref as Record<string, unknown> | null)?.[field];
  if (typeof value !== 'string' || !value || value.length > MAX_ID_LENGTH) throw new InvalidRepresentationError(typename, field);
  return value;
}

/**
 * A `__resolveReference`, called as (representation, context, info), which
 * the resolver-map type does not model (hence `never`). Made async on
 * purpose: a synchronous throw would fail the whole `_entities` list, a
 * rejection fails only its own item.
 */
export function reference<Ctx, T>(fn: (ref: unknown, ctx: Ctx) => T): never {
  const resolve = async (ref: unknown, ctx: Ctx) => fn(ref, ctx);
  return resolve as never;
}
