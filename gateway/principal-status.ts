/**
 * Revocation checked per request: after a platform token verifies, the
 * gateway asks identity whether its user or API client is still active
 * (`POST /internal/principal-status`), and the device subgraph whether a
 * device is (`POST /internal/device-status`), so a deprovisioned user, a
 * client past its contract end or a quarantined or retired device is
 * refused on its next request, not when its token expires. Answers are
 * cached briefly per principal; SCIM changes proxied by this gateway forget
 * the affected user at once, and elevation decisions passing through it
 * forget the tenant's answers (elevation-plugin.ts). Other gateway instances
 * catch up within the cache lifetime.
 *
 * Identity or the device subgraph unreachable: the request is refused with
 * 503 (fail closed).
 */
import { AuthError, AuthReason } from '../lib/auth/errors';
import type { ActiveElevationGrant, TenantPrincipal } from '../lib/context';
import { HttpError } from '../lib/http';
import type { InternalClient } from './internal-client';

export interface StatusAnswer {
  active: boolean;
  reason?: string;
  /** Active just-in-time elevations of a person: added to the token's roles and scopes. */
  elevatedRoles?: string[];
  elevatedScopes?: string[];
  /** When the first of them ends (epoch ms): the answer is not reused beyond it. */
  elevationExpiresAt?: number;
  /** The same elevations one by one (id and the role or scope each grants): carried in the principal as `elevations`. */
  elevations?: ActiveElevationGrant[];
  /** The identity user the answer is about (set for SSO principals, whose id is not identity's). */
  userId?: string;
}

/** Asks the authority; rejecting refuses the request with 503. */
export type PrincipalStatusSource = (q: { id: string; tenantId: string; subjectType: 'user' | 'client' | 'device'; externalSubject?: string }) => Promise<StatusAnswer>;

export interface PrincipalStatusOptions {
  source: PrincipalStatusSource;
  /** How long an answer is reused (ms); 0 asks every time. @default 5000 */
  ttlMs?: number;
  /** Clock in ms (tests freeze it). @default Date.now */
  now?: () => number;
  /** Most answers kept; the oldest go first. @default 10000 */
  maxEntries?: number;
}

export interface PrincipalStatusCheck {
  /**
   * Resolves with the principal that may proceed — the token's, plus any
   * active just-in-time elevation of a person — or rejects with
   * PRINCIPAL_REVOKED. `externalSubject` is the IdP's `sub` for SSO principals.
   */
  check(principal: TenantPrincipal, externalSubject?: string): Promise<TenantPrincipal>;
  /** Forgets every answer about identity user `userId` (as principal or as an SSO principal's user). */
  invalidate(userId: string): void;
  /**
   * Forgets every answer about the people of tenant `tenantId` (platform and
   * SSO principals; API clients and devices carry no elevations): after a
   * just-in-time elevation decision in that tenant.
   */
  invalidateTenant(tenantId: string): void;
}

export function identityStatusSource(client: InternalClient): PrincipalStatusSource {
  return async (q) => {
    const { status, body } = await client.postJson('identity', '/internal/principal-status', q);
    if (status !== 200 || typeof body.active !== 'boolean') throw new Error(`principal status answered ${status}`);
    return body as unknown as StatusAnswer;
  };
}

/** A well-formed grant of the status answer (identity is trusted, the shape is still checked). */
function isGrant(g: unknown): g is ActiveElevationGrant {
  const v = g as Partial<ActiveElevationGrant> | null;
  return typeof v === 'object' && v !== null && typeof v.id === 'string' && (typeof v.role === 'string' || typeof v.scope === 'string');
}

/** Devices: the device subgraph owns them and says whether each is still ACTIVE. */
export function deviceStatusSource(client: InternalClient): PrincipalStatusSource {
  return async (q) => {
    const { status, body } = await client.postJson('device', '/internal/device-status', { id: q.id, tenantId: q.tenantId });
    if (status !== 200 || typeof body.active !== 'boolean') throw new Error(`device status answered ${status}`);
    return { active: body.active, ...(typeof body.reason === 'string' ? { reason: body.reason } : {}) };
  };
}

/** The platform's authorities: the device subgraph for devices, identity for everyone else. */
export function platformStatusSource(client: InternalClient): PrincipalStatusSource {
  const identity = identityStatusSource(client);
  const devices = deviceStatusSource(client);
  return (q) => (q.subjectType === 'device' ? devices(q) : identity(q));
}

export function createPrincipalStatusCheck(opts: PrincipalStatusOptions): PrincipalStatusCheck {
  const ttl = opts.ttlMs ?? 5000;
  const now = opts.now ?? Date.now;
  const max = opts.maxEntries ?? 10_000;
  const cache = new Map<string, { answer: Promise<StatusAnswer>; until: number; settled?: StatusAnswer }>();
  const keyOf = (p: TenantPrincipal) => `${p.subjectType ?? 'user'}:${p.tenantId}:${p.id}`;

  const lookup = (p: TenantPrincipal, externalSubject?: string): Promise<StatusAnswer> => {
    const key = keyOf(p);
    const hit = cache.get(key);
    if (hit && hit.until > now()) return hit.answer;
    // One question per principal at a time: concurrent requests share it.
    const answer = opts.source({ id: p.id, tenantId: p.tenantId, subjectType: p.subjectType ?? 'user', ...(externalSubject !== undefined ? { externalSubject } : {}) });
    if (ttl > 0) {
      cache.delete(key);
      if (cache.size >= max) cache.delete(cache.keys().next().value!);
      const entry: { answer: Promise<StatusAnswer>; until: number; settled?: StatusAnswer } = { answer, until: now() + ttl };
      cache.set(key, entry);
      answer.then(
        (a) => {
          entry.settled = a;
          // An elevation ends at its expiry: never serve it from the cache beyond that.
          if (a.elevationExpiresAt !== undefined) entry.until = Math.min(entry.until, a.elevationExpiresAt);
        },
        () => cache.get(key) === entry && cache.delete(key),
      );
    }
    return answer;
  };

  return {
    async check(principal, externalSubject) {
      let answer: StatusAnswer;
      try {
        answer = await lookup(principal, externalSubject);
      } catch {
        throw new HttpError(503, 'SERVICE_UNAVAILABLE', 'Service temporarily unavailable');
      }
      if (!answer.active) throw new AuthError(AuthReason.PRINCIPAL_REVOKED);
      const elevated = (principal.subjectType ?? 'user') === 'user' && (answer.elevationExpiresAt ?? Infinity) > now();
      if (!elevated || (!answer.elevatedRoles?.length && !answer.elevatedScopes?.length)) return principal;
      return {
        ...principal,
        roles: [...new Set([...principal.roles, ...(answer.elevatedRoles ?? [])])],
        scopes: [...new Set([...principal.scopes, ...(answer.elevatedScopes ?? [])])],
        // Which elevation granted what: the subgraphs see it in the internal token (a SENSITIVE reveal names it).
        ...(answer.elevations?.length ? { elevations: answer.elevations.filter(isGrant).map((g) => ({ id: g.id, ...(g.role ? { role: g.role } : {}), ...(g.scope ? { scope: g.scope } : {}) })) } : {}),
      };
    },
    invalidate(userId) {
      // Synchronous: by the time the SCIM client has its answer, the next request asks identity again.
      // Answers still in flight may be about this user: they go too.
      for (const [key, entry] of cache) if (key.endsWith(`:${userId}`) || !entry.settled || entry.settled.userId === userId) cache.delete(key);
    },
    invalidateTenant(tenantId) {
      // Answers in flight for the tenant's people go too: they may predate the decision.
      const prefix = `user:${tenantId}:`;
      for (const key of cache.keys()) if (key.startsWith(prefix)) cache.delete(key);
    },
  };
}
