/**
 * The gateway's authentication routes: published public keys (JWKS) and,
 * in development only, a token mint for the demo users (the route does not
 * exist in staging and production).
 */
import type { IncomingMessage } from 'node:http';
import type { TokenIssuer } from '../lib/auth/access-token';
import { scopesForRoles } from '../lib/auth/scopes';
import { demoPlan } from '../lib/demo';
import { HttpError, sendJson, type RouteHandler } from '../lib/http';

export function jwksRoute(jwks: () => unknown): RouteHandler {
  return (_req, res) => sendJson(res, 200, jwks(), { 'cache-control': 'public, max-age=300' });
}

async function readJson(req: IncomingMessage, limit = 4096): Promise<Record<string, unknown>> {
  let raw = '';
  for await (const chunk of req) {
    raw += chunk;
    if (raw.length > limit) throw new HttpError(413, 'PAYLOAD_TOO_LARGE', 'request body too large');
  }
  try {
    const parsed = JSON.parse(raw || '{}');
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error();
    return parsed as Record<string, unknown>;
  } catch {
    throw new HttpError(400, 'BAD_REQUEST', 'body must be a JSON object');
  }
}

/**
 * POST /dev/token {"user": "<demo email or id>"} → an access token for that
 * demo user (development only; MFA shown as done so admin actions work).
 */
export function devTokenRoute(issuer: TokenIssuer): RouteHandler {
  const plan = demoPlan();
  return async (req, res) => {
    if (req.method !== 'POST') throw new HttpError(405, 'METHOD_NOT_ALLOWED', 'use POST');
    const body = await readJson(req);
    const who = String(body.user ?? '');
    const user = plan.users.find((u) => u.email === who || u.id === who);
    if (!user) {
      sendJson(res, 404, { error: 'unknown demo user', users: plan.users.map((u) => u.email) });
      return;
    }
    const tenant = plan.tenants.find((t) => t.id === user.tenantId)!;
    const now = Math.floor(Date.now() / 1000);
    const { token, expiresAt } = await issuer.issue({
      kind: 'user',
      id: user.id,
      tenantId: user.tenantId,
      region: tenant.homeRegion,
      roles: user.roles,
      scopes: scopesForRoles(user.roles),
      subjectType: 'user',
      amr: ['pwd', 'otp', 'mfa'],
      authTime: now,
    });
    sendJson(res, 200, { access_token: token, token_type: 'Bearer', expires_in: expiresAt - now });
  };
}
