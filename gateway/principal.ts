/**
 * Who is calling the gateway: the principal of a verified bearer token, or
 * anonymous when there is none (only `@public` fields then). A token that
 * is present but fails verification is refused outright with 401 — it is
 * never downgraded to anonymous. A verified token whose user or API client
 * is no longer active is refused too (PRINCIPAL_REVOKED, see
 * principal-status.ts).
 *
 * A token that verified is remembered until it expires (lib/auth/verified-cache.ts),
 * so each client's token costs one signature check, not one per request;
 * the status check still runs on every request.
 */
import type { IncomingMessage } from 'node:http';
import { decodeJwt } from 'jose';
import type { Principal, TenantPrincipal } from '../lib/context';
import { AuthError, AuthReason } from '../lib/auth/errors';
import type { TokenVerifier } from '../lib/auth/verify-token';
import { createVerifiedTokenCache } from '../lib/auth/verified-cache';
import type { PrincipalStatusCheck } from './principal-status';

const BEARER = /^Bearer ([A-Za-z0-9._~+/=-]{1,8192})$/i;

export interface PrincipalResolverOptions {
  /** Per-request revocation check; without it tokens count until they expire. */
  status?: PrincipalStatusCheck;
  /** `iss` of the platform's own tokens: any other (verified) issuer is a tenant's SSO. */
  platformIssuer?: string;
  /** Verified tokens remembered (until each expires, 16 minutes after issue at most). 0 verifies every request. @default 10000 */
  cacheSize?: number;
  /** Changes when the verification keys change: the remembered tokens are forgotten. @default never */
  keysVersion?: () => number;
  /** Clock of the cache in ms. @default Date.now */
  now?: () => number;
}

/** What a verified token is remembered as: its principal, and the IdP's `sub` of an SSO token. */
interface Verified {
  principal: TenantPrincipal;
  externalSubject?: string;
}

/** The platform's tokens are refused 16 minutes after issue (verify-token.ts's maxTokenAge); the cache never keeps one longer. */
const MAX_CACHED_AGE_MS = 16 * 60 * 1000;

export function resolveGatewayPrincipal(verifier: TokenVerifier, opts: PrincipalResolverOptions = {}): (req: IncomingMessage) => Promise<Principal> {
  const cache = createVerifiedTokenCache<Verified>({ max: opts.cacheSize, maxAgeMs: MAX_CACHED_AGE_MS, keysVersion: opts.keysVersion, now: opts.now });
  const verify = async (token: string): Promise<Verified> => {
    const hit = cache.get(token);
    if (hit) return hit;
    const principal = await verifier.verify(token);
    // Verified above: decoding again tells our own tokens from an SSO IdP's, and says how long to remember it.
    const claims = decodeJwt(token);
    const external = claims.iss !== opts.platformIssuer;
    return cache.set(token, { principal, ...(external ? { externalSubject: String(claims.sub) } : {}) }, claims);
  };
  return async (req) => {
    const header = req.headers.authorization;
    if (header === undefined || header === '') return { kind: 'anonymous' };
    const match = BEARER.exec(header);
    if (!match) throw new AuthError(AuthReason.TOKEN_INVALID);
    const { principal, externalSubject } = await verify(match[1]);
    if (opts.status) return opts.status.check(principal, externalSubject);
    return principal;
  };
}
