/**
 * Who is calling the gateway: the principal of a verified bearer token, or
 * anonymous when there is none (only `@public` fields then). A token that
 * is present but fails verification is refused outright with 401 — it is
 * never downgraded to anonymous.
 */
import type { IncomingMessage } from 'node:http';
import type { Principal } from '../lib/context';
import { AuthError, AuthReason } from '../lib/auth/errors';
import type { TokenVerifier } from '../lib/auth/verify-token';

const BEARER = /^Bearer ([A-Za-z0-9._~+/=-]{1,8192})$/i;

export function resolveGatewayPrincipal(verifier: TokenVerifier): (req: IncomingMessage) => Promise<Principal> {
  return async (req) => {
    const header = req.headers.authorization;
    if (header === undefined || header === '') return { kind: 'anonymous' };
    const match = BEARER.exec(header);
    if (!match) throw new AuthError(AuthReason.TOKEN_INVALID);
    return verifier.verify(match[1]);
  };
}
