/**
 * The platform's own access tokens (RFC 9068 `at+jwt`, ES256, at most 15
 * minutes): what they carry and how a principal becomes one. Verification
 * lives in verify-token.ts.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT, type JWTPayload } from 'jose';
import { dataTagList, regionList, type DataTag, type Region, type TenantPrincipal } from '../context';
import type { KeyStore } from './keys';

export const ACCESS_TOKEN_TYP = 'at+jwt';
/** Longest lifetime of an access token (seconds). */
export const MAX_ACCESS_TOKEN_TTL = 15 * 60;

/** Claims beyond the registered ones. */
export interface AccessTokenClaims extends JWTPayload {
  tid: string;
  roles: string[];
  /** Space-separated, as in OAuth. */
  scope: string;
  sub_type: 'user' | 'client' | 'device';
  region?: Region;
  amr?: string[];
  auth_time?: number;
  partner_of?: string[];
  shift?: { start: string; end: string; timeZone: string };
  /** Data regions the principal is restricted to (absent: no region restriction). */
  data_regions?: Region[];
  /** Data tags the principal is cleared for (absent: none). */
  clearances?: DataTag[];
}

export interface IssuerOptions {
  /** `iss` of every token, e.g. the gateway's public URL. */
  issuer: string;
  /** `aud` of every token. @default 'tracksafe-api' */
  audience?: string;
  keys: KeyStore;
  /** Seconds; capped at 15 minutes. @default 900 */
  ttlSeconds?: number;
  /** Clock (seconds since epoch), frozen in tests. */
  now?: () => number;
}

export interface TokenIssuer {
  readonly issuer: string;
  readonly audience: string;
  /** Signs an access token for `principal`; resolves with the token and its expiry (epoch s). */
  issue(principal: TenantPrincipal, ttlSeconds?: number): Promise<{ token: string; expiresAt: number }>;
}

export const DEFAULT_AUDIENCE = 'tracksafe-api';

export function createTokenIssuer(opts: IssuerOptions): TokenIssuer {
  const audience = opts.audience ?? DEFAULT_AUDIENCE;
  const now = opts.now ?? (() => Math.floor(Date.now() / 1000));
  return {
    issuer: opts.issuer,
    audience,
    async issue(p, ttlSeconds = opts.ttlSeconds ?? MAX_ACCESS_TOKEN_TTL) {
      if (ttlSeconds <= 0 || ttlSeconds > MAX_ACCESS_TOKEN_TTL) throw new Error(`access tokens live at most ${MAX_ACCESS_TOKEN_TTL} s`);
      const key = opts.keys.current();
      const iat = now();
      const claims: AccessTokenClaims = {
        tid: p.tenantId,
        roles: p.roles,
        scope: p.scopes.join(' '),
        sub_type: p.subjectType ?? 'user',
        ...(p.region ? { region: p.region } : {}),
        ...(p.amr ? { amr: p.amr } : {}),
        ...(p.authTime ? { auth_time: p.authTime } : {}),
        ...(p.partnerOf ? { partner_of: p.partnerOf } : {}),
        ...(p.shift ? { shift: p.shift } : {}),
        ...(p.dataRegions !== undefined ? { data_regions: regionList(p.dataRegions) } : {}),
        ...(p.clearances?.length ? { clearances: dataTagList(p.clearances) } : {}),
      };
      const expiresAt = iat + ttlSeconds;
      const token = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: ACCESS_TOKEN_TYP })
        .setIssuer(opts.issuer)
        .setAudience(audience)
        .setSubject(p.id)
        .setJti(randomUUID())
        .setIssuedAt(iat)
        .setNotBefore(iat)
        .setExpirationTime(expiresAt)
        .sign(key.privateKey);
      return { token, expiresAt };
    },
  };
}

/** The principal an access token's verified claims describe. */
export function principalFromClaims(c: AccessTokenClaims & JWTPayload): TenantPrincipal {
  return {
    kind: 'user',
    id: String(c.sub),
    tenantId: c.tid,
    roles: [...c.roles],
    scopes: c.scope ? c.scope.split(' ').filter(Boolean) : [],
    subjectType: c.sub_type,
    ...(c.region ? { region: c.region } : {}),
    ...(c.amr ? { amr: [...c.amr] } : {}),
    ...(c.auth_time ? { authTime: c.auth_time } : {}),
    ...(c.partner_of ? { partnerOf: [...c.partner_of] } : {}),
    ...(c.shift ? { shift: c.shift } : {}),
    // A claim that is present but not a list restricts to nothing known: never read as "unrestricted".
    ...(c.data_regions !== undefined ? { dataRegions: regionList(c.data_regions) } : {}),
    ...(c.clearances !== undefined ? { clearances: dataTagList(c.clearances) } : {}),
    ...(c.jti ? { tokenId: c.jti } : {}),
    ...(c.exp ? { expiresAt: c.exp } : {}),
  };
}
