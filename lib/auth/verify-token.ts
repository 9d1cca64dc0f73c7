/**
 * Verifies bearer tokens at the gateway (RFC 8725): the platform's own
 * tokens and those of external OIDC issuers trusted per tenant (SSO).
 * Algorithms are allow-listed per issuer (never the header's word), `iss`,
 * `aud`, `typ`, `exp`/`nbf` (small clock tolerance) and required claims are
 * checked, keys named by `jku`/`x5u`/`jwk`/`x5c` headers are refused
 * outright, and an unknown `kid` costs at most one JWKS refetch (jose's
 * remote key set: 10 min cache, 30 s cooldown, 5 s timeout).
 */
import { createLocalJWKSet, createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { regionList, type Region, type TenantPrincipal } from '../context';
import { ACCESS_TOKEN_TYP, DEFAULT_AUDIENCE, principalFromClaims, type AccessTokenClaims } from './access-token';
import { AuthError, AuthReason, toAuthError } from './errors';
import type { KeyStore } from './keys';
import { PERSON_ROLES, scopesForRoles } from './scopes';

/** An external identity provider trusted for one tenant's people. */
export interface ExternalIssuer {
  issuer: string;
  jwksUri: string;
  /** The tenant whose users this IdP authenticates. */
  tenantId: string;
  /** Expected `aud`. */
  audience: string;
  /** @default ['RS256', 'PS256', 'ES256', 'EdDSA'] */
  algorithms?: string[];
  /** Claim holding the user's roles. @default 'roles' */
  rolesClaim?: string;
  /**
   * Data regions this IdP's people are restricted to (ABAC). @default no region restriction
   * (tenancy still applies). SSO principals never get data-tag clearances: the IdP is not
   * trusted for them, so tagged records stay invisible to them (least privilege).
   */
  dataRegions?: Region[];
}

export interface VerifierOptions {
  /** The platform's own issuer (`iss` of its tokens). */
  issuer: string;
  /** @default 'tracksafe-api' */
  audience?: string;
  keys: KeyStore;
  externalIssuers?: ExternalIssuer[];
  /** Seconds of clock skew tolerated on exp/nbf/iat. @default 30 */
  clockToleranceSeconds?: number;
  /** Clock for tests (Date). */
  currentDate?: () => Date;
}

export interface TokenVerifier {
  /** Resolves with the token's principal, or rejects with an AuthError. */
  verify(token: string): Promise<TenantPrincipal>;
}

const FORBIDDEN_HEADERS = ['jku', 'x5u', 'jwk', 'x5c'] as const;

export function createTokenVerifier(opts: VerifierOptions): TokenVerifier {
  const audience = opts.audience ?? DEFAULT_AUDIENCE;
  const tolerance = opts.clockToleranceSeconds ?? 30;
  let localVersion = -1;
  let localSet: JWTVerifyGetKey | undefined;
  const platformKeys = (): JWTVerifyGetKey => {
    if (!localSet || localVersion !== opts.keys.version) {
      localSet = createLocalJWKSet(opts.keys.jwks());
      localVersion = opts.keys.version;
    }
    return localSet;
  };
  const external = new Map(
    (opts.externalIssuers ?? []).map((e) => [
      e.issuer,
      { config: e, keys: createRemoteJWKSet(new URL(e.jwksUri), { cacheMaxAge: 600_000, cooldownDuration: 30_000, timeoutDuration: 5_000 }) },
    ]),
  );

  return {
    async verify(token) {
      try {
        const header = decodeProtectedHeader(token);
        for (const h of FORBIDDEN_HEADERS) if (h in header) throw new AuthError(AuthReason.TOKEN_INVALID);
        const unverified = decodeJwt(token);
        const common = { clockTolerance: tolerance, currentDate: opts.currentDate?.() };
        if (unverified.iss === opts.issuer) {
          const { payload } = await jwtVerify<AccessTokenClaims>(token, platformKeys(), {
            ...common,
            algorithms: ['ES256'],
            issuer: opts.issuer,
            audience,
            typ: ACCESS_TOKEN_TYP,
            requiredClaims: ['sub', 'exp', 'iat', 'jti', 'tid', 'roles', 'sub_type'],
            maxTokenAge: '16m',
          });
          return principalFromClaims(payload);
        }
        const ext = typeof unverified.iss === 'string' ? external.get(unverified.iss) : undefined;
        if (!ext) throw new AuthError(AuthReason.TOKEN_INVALID);
        const { payload } = await jwtVerify(token, ext.keys, {
          ...common,
          algorithms: ext.config.algorithms ?? ['RS256', 'PS256', 'ES256', 'EdDSA'],
          issuer: ext.config.issuer,
          audience: ext.config.audience,
          requiredClaims: ['sub', 'exp', 'iat'],
        });
        return principalFromExternal(payload, ext.config);
      } catch (err) {
        throw toAuthError(err);
      }
    },
  };
}

/** A person signed in at their tenant's IdP: roles from the configured claim, limited to person roles; data regions from the issuer's configuration; no clearances. */
function principalFromExternal(payload: JWTPayload, config: ExternalIssuer): TenantPrincipal {
  const raw = payload[config.rolesClaim ?? 'roles'];
  const roles = (Array.isArray(raw) ? raw : []).filter((r): r is string => typeof r === 'string' && (PERSON_ROLES as readonly string[]).includes(r));
  const amr = Array.isArray(payload.amr) ? payload.amr.filter((m): m is string => typeof m === 'string') : undefined;
  return {
    kind: 'user',
    id: `${config.issuer}#${String(payload.sub)}`,
    tenantId: config.tenantId,
    roles,
    scopes: scopesForRoles(roles),
    subjectType: 'user',
    ...(config.dataRegions !== undefined ? { dataRegions: regionList(config.dataRegions) } : {}),
    clearances: [],
    ...(amr ? { amr } : {}),
    ...(typeof payload.auth_time === 'number' ? { authTime: payload.auth_time } : {}),
    ...(payload.jti ? { tokenId: payload.jti } : {}),
    ...(payload.exp ? { expiresAt: payload.exp } : {}),
  };
}
