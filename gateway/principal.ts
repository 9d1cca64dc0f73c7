/**
 * Who is calling the gateway: the principal of a verified bearer token, or
 * anonymous when there is none (only `@public` fields then). A token that
 * is present but fails verification is refused outright with 401 — it is
 * never downgraded to anonymous. A verified token whose user or API client
 * is no longer active is refused too (PRINCIPAL_REVOKED, see
 * principal-status.ts).
 */
import type { IncomingMessage } from 'node:http';
import { decodeJwt } from 'jose';
import type { Principal } from '../lib/context';
import { AuthError, AuthReason } from '../lib/auth/errors';
import type { TokenVerifier } from '../lib/auth/verify-token';
import type { PrincipalStatusCheck } from './principal-status';

const BEARER = /^Bearer ([A-Za-z0-9._~+/=-]{1,8192})$/i;

export interface PrincipalResolverOptions {
  /** Per-request revocation check; without it tokens count until they expire. */
  status?: PrincipalStatusCheck;
  /** `iss` of the platform's own tokens: any other (verified) issuer is a tenant's SSO. */
  platformIssuer?: string;
}

export function resolveGatewayPrincipal(verifier: TokenVerifier, opts: PrincipalResolverOptions = {}): (req: IncomingMessage) => Promise<Principal> {
  return async (req) => {
    const header = req.headers.authorization;
    if (header === undefined || header === '') return { kind: 'anonymous' };
    const match = BEARER.exec(header);
    if (!match) throw new AuthError(AuthReason.TOKEN_INVALID);
    const principal = await verifier.verify(match[1]);
    if (opts.status) {
      // Verified above: decoding again only tells our own tokens from an SSO IdP's.
      const claims = decodeJwt(match[1]);
      const external = claims.iss !== opts.platformIssuer;
      return opts.status.check(principal, external ? String(claims.sub) : undefined);
    }
    return principal;
  };
}
