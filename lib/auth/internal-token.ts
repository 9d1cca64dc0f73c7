/**
 * The zero-trust hop from the gateway to a subgraph: the verified principal
 * travels as a short-lived token (ES256, ≤ 60 s, audience = the subgraph)
 * signed with the gateway's internal key. The gateway reuses one token per
 * principal and subgraph for most of its lifetime, so the hop costs nothing
 * per request; a subgraph refuses every request without a valid one —
 * `_service` and `_entities` included. The subgraph remembers a token that
 * verified until it expires (lib/auth/verified-cache.ts), so the reused
 * token costs one signature check there too.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT, createLocalJWKSet, createRemoteJWKSet, jwtVerify, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import type { Principal } from '../context';
import { AuthError, AuthReason } from './errors';
import type { KeyStore } from './keys';
import { createVerifiedTokenCache } from './verified-cache';

export const INTERNAL_TOKEN_TYP = 'tracksafe-internal+jwt';
export const INTERNAL_ISSUER = 'tracksafe-gateway';
/** Lifetime of an internal token (seconds). */
export const INTERNAL_TOKEN_TTL = 60;
/** Reuse a cached token while it has at least this long to live. */
const REUSE_MARGIN = 15;

export interface InternalTokenSigner {
  /** A token carrying `principal` for `audience` (a subgraph name). */
  tokenFor(principal: Principal, audience: string): Promise<string>;
}

export function createInternalTokenSigner(keys: KeyStore, now: () => number = () => Math.floor(Date.now() / 1000)): InternalTokenSigner {
  const cache = new Map<string, { token: string; exp: number }>();
  // A frozen principal (the gateway's verified-token cache hands those out) cannot change: its tokens are found by identity, without serialising it.
  const byIdentity = new WeakMap<object, Map<string, { token: string; exp: number; version: number }>>();
  return {
    async tokenFor(principal, audience) {
      const t = now();
      const frozen = Object.isFrozen(principal);
      const known = frozen ? byIdentity.get(principal)?.get(audience) : undefined;
      if (known && known.version === keys.version && known.exp - t > REUSE_MARGIN) return known.token;
      const cacheKey = `${audience}\u0000${keys.version}\u0000${JSON.stringify(principal)}`;
      const hit = cache.get(cacheKey);
      const remember = (entry: { token: string; exp: number }) => {
        if (!frozen) return;
        let perAudience = byIdentity.get(principal);
        if (!perAudience) byIdentity.set(principal, (perAudience = new Map()));
        perAudience.set(audience, { ...entry, version: keys.version });
      };
      if (hit && hit.exp - t > REUSE_MARGIN) {
        remember(hit);
        return hit.token;
      }
      // The principal's own token may expire sooner: the hop token never outlives it.
      const cap = principal.kind === 'user' && principal.expiresAt ? principal.expiresAt : t + INTERNAL_TOKEN_TTL;
      const exp = Math.min(t + INTERNAL_TOKEN_TTL, cap);
      const key = keys.current();
      const token = await new SignJWT({ p: principal })
        .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: INTERNAL_TOKEN_TYP })
        .setIssuer(INTERNAL_ISSUER)
        .setAudience(audience)
        .setIssuedAt(t)
        .setExpirationTime(exp)
        .setJti(randomUUID())
        .sign(key.privateKey);
      if (cache.size > 10_000) cache.clear();
      cache.set(cacheKey, { token, exp });
      remember({ token, exp });
      return token;
    },
  };
}

export interface InternalVerifierOptions {
  /** This subgraph's name: the only audience it accepts. */
  audience: string;
  /** The gateway's internal public keys: a key store (same process) or a JWKS URL (separate containers). */
  keys: KeyStore | { jwksUrl: string } | { jwks: JSONWebKeySet };
  /** Clock for tests. */
  currentDate?: () => Date;
  /** Verified tokens remembered until they expire. 0 verifies every request. @default 10000 */
  cacheSize?: number;
}

export interface InternalTokenVerifier {
  /** The principal the gateway vouched for; rejects with INTERNAL_TOKEN_REQUIRED otherwise. */
  verify(authorization: string | undefined): Promise<Principal>;
}

export function createInternalTokenVerifier(opts: InternalVerifierOptions): InternalTokenVerifier {
  let keySet: () => JWTVerifyGetKey;
  let keysVersion: (() => number) | undefined;
  const source = opts.keys;
  if ('jwksUrl' in source) {
    const remote = createRemoteJWKSet(new URL(source.jwksUrl), { cooldownDuration: 30_000, timeoutDuration: 5_000 });
    keySet = () => remote;
  } else if (!('current' in source)) {
    const local = createLocalJWKSet(source.jwks);
    keySet = () => local;
  } else {
    const store = source;
    keysVersion = () => store.version;
    let version = -1;
    let local: JWTVerifyGetKey | undefined;
    keySet = () => {
      if (!local || version !== store.version) {
        local = createLocalJWKSet(store.jwks());
        version = store.version;
      }
      return local;
    };
  }
  // The cache's clock follows the verifier's (tests freeze it), so a remembered token expires when jose would refuse it.
  const cache = createVerifiedTokenCache<Principal>({
    max: opts.cacheSize,
    maxAgeMs: INTERNAL_TOKEN_TTL * 1000,
    keysVersion,
    now: opts.currentDate ? () => opts.currentDate!().getTime() : Date.now,
  });
  return {
    async verify(authorization) {
      const match = /^Bearer ([A-Za-z0-9._-]{20,8192})$/.exec(authorization ?? '');
      if (!match) throw new AuthError(AuthReason.INTERNAL_TOKEN_REQUIRED);
      const hit = cache.get(match[1]);
      if (hit) return hit;
      try {
        const { payload } = await jwtVerify<{ p: Principal }>(match[1], keySet(), {
          algorithms: ['ES256'],
          issuer: INTERNAL_ISSUER,
          audience: opts.audience,
          typ: INTERNAL_TOKEN_TYP,
          requiredClaims: ['exp', 'iat', 'p'],
          maxTokenAge: `${INTERNAL_TOKEN_TTL + 5}s`,
          clockTolerance: 5,
          currentDate: opts.currentDate?.(),
        });
        return cache.set(match[1], payload.p, payload);
      } catch {
        throw new AuthError(AuthReason.INTERNAL_TOKEN_REQUIRED);
      }
    },
  };
}
