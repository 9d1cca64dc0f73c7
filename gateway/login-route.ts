/**
 * `POST /auth/login { email, password, totp, tenantId? }` — development
 * only (the gateway does not mount it elsewhere, and identity serves its
 * half only in development too). Identity checks the password and the TOTP
 * code and applies lockouts; the gateway signs a 15-minute token with
 * `amr: ['pwd', 'otp', 'mfa']` and `auth_time` = now. Refusals are the
 * usual 401 UNAUTHENTICATED (reason LOGIN_FAILED), or 429 with Retry-After
 * (reason LOCKED_OUT).
 */
import type { IncomingMessage } from 'node:http';
import type { AuditSink } from '../lib/audit';
import type { TokenIssuer } from '../lib/auth/access-token';
import { AuthError, AuthReason } from '../lib/auth/errors';
import { requestIdFrom, type TenantPrincipal } from '../lib/context';
import { HttpError, sendJson, type RouteHandler } from '../lib/http';
import { readJson, stringField } from '../lib/internal-route';
import type { InternalClient } from './internal-client';
import { NO_STORE } from './oauth/errors';

export interface LoginRouteOptions {
  issuer: TokenIssuer;
  internal: InternalClient;
  audit: AuditSink;
  clientIp: (req: IncomingMessage) => string;
}

export function loginRoute(opts: LoginRouteOptions): RouteHandler {
  return async (req, res) => {
    if (req.method !== 'POST') throw new HttpError(405, 'METHOD_NOT_ALLOWED', 'use POST');
    const requestId = requestIdFrom(req);
    const body = await readJson(req, 4096);
    const field = (name: string, max: number) => {
      const value = stringField(body, name, max);
      if (!value) throw new HttpError(400, 'BAD_REQUEST', 'email, password and totp are required');
      return value;
    };
    const credentials = { email: field('email', 254), password: field('password', 1024), totp: field('totp', 16), tenantId: stringField(body, 'tenantId', 64) };
    const answer = await opts.internal.postJson('identity', '/internal/login', { ...credentials, ip: opts.clientIp(req) }, { 'x-request-id': requestId });
    if (answer.status === 429) {
      const err = new AuthError(AuthReason.LOCKED_OUT);
      const retryAfter = String(typeof answer.body.retryAfter === 'number' ? answer.body.retryAfter : 60);
      sendJson(res, 429, { errors: [{ message: err.message, extensions: err.extensions }] }, { 'retry-after': retryAfter, ...NO_STORE });
      return;
    }
    if (answer.status === 401) throw new AuthError(AuthReason.LOGIN_FAILED);
    if (answer.status !== 200) throw new HttpError(503, 'SERVICE_UNAVAILABLE', 'Service temporarily unavailable');
    const authTime = Math.floor(Date.now() / 1000);
    const principal: TenantPrincipal = { ...(answer.body.principal as TenantPrincipal), amr: ['pwd', 'otp', 'mfa'], authTime };
    const { token, expiresAt } = await opts.issuer.issue(principal);
    await opts.audit.record({ type: 'oauth.token_issued', actor: `user:${principal.id}`, tenantId: principal.tenantId, requestId, details: { grantType: 'password_totp', amr: principal.amr } });
    sendJson(res, 200, { access_token: token, token_type: 'Bearer', expires_in: expiresAt - authTime }, NO_STORE);
  };
}
