/**
 * `POST /oauth/token`, the platform's OAuth 2.0 token endpoint. The gateway
 * holds the signing keys but no credentials: identity checks client
 * secrets, the device subgraph checks device key assertions, and the
 * gateway signs what they vouch for.
 *
 * - `client_credentials` (partner API clients): a PARTNER token for the
 *   client's tenant with the requested scopes (a subset of the granted
 *   ones; none asked = all), `partner_of` = its contracted tenants, 15 min
 *   at most and never past the contract end.
 * - `urn:ietf:params:oauth:grant-type:jwt-bearer` (devices, RFC 7523): a
 *   DEVICE token bound to the device and its tenant, 5 min.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuditSink } from '../../lib/audit';
import { MAX_ACCESS_TOKEN_TTL, type TokenIssuer } from '../../lib/auth/access-token';
import type { TenantPrincipal } from '../../lib/context';
import { HttpError, sendJson, type RouteHandler } from '../../lib/http';
import { requestIdFrom } from '../../lib/context';
import type { InternalClient } from '../internal-client';
import { NO_STORE, OAuthError, sendOAuthError } from './errors';
import { readTokenRequest, type TokenRequest } from './request';

export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** Lifetime of device tokens (seconds). */
export const DEVICE_TOKEN_TTL = 5 * 60;
export const DEVICE_SCOPES = ['readings:write', 'events:write'];

export interface TokenEndpointOptions {
  issuer: TokenIssuer;
  internal: InternalClient;
  audit: AuditSink;
  /** This endpoint's public URL: the `aud` device assertions must carry. */
  endpointUrl: string;
  /** The caller's address, for lockouts. */
  clientIp: (req: IncomingMessage) => string;
}

interface Grant {
  principal: TenantPrincipal;
  ttl: number;
}

const BASIC_CHALLENGE = { 'www-authenticate': 'Basic realm="tracksafe"' };

async function clientCredentials(opts: TokenEndpointOptions, req: IncomingMessage, tr: TokenRequest, requestId: string): Promise<Grant> {
  const challenge = tr.client?.viaBasic ? BASIC_CHALLENGE : {};
  if (!tr.client || !tr.client.id || !tr.client.secret) throw new OAuthError('invalid_client', 401, challenge);
  const { status, body } = await opts.internal.postJson(
    'identity',
    '/internal/oauth/client-credentials',
    { clientId: tr.client.id.slice(0, 256), clientSecret: tr.client.secret.slice(0, 512), scope: tr.params.scope, ip: opts.clientIp(req) },
    { 'x-request-id': requestId },
  );
  if (status === 200) {
    const maxTtl = typeof body.maxTtlSeconds === 'number' ? body.maxTtlSeconds : MAX_ACCESS_TOKEN_TTL;
    if (maxTtl < 1) throw new OAuthError('invalid_client', 401, challenge);
    return { principal: body.principal as TenantPrincipal, ttl: Math.min(MAX_ACCESS_TOKEN_TTL, maxTtl) };
  }
  if (status === 429) {
    const retryAfter = String(typeof body.retryAfter === 'number' ? body.retryAfter : 60);
    throw new OAuthError('invalid_client', 429, { 'retry-after': retryAfter }, 'Too many failed attempts; try again later');
  }
  if (status === 401) throw new OAuthError('invalid_client', 401, challenge);
  if (status === 400 && body.error === 'invalid_scope') throw new OAuthError('invalid_scope');
  throw new HttpError(503, 'SERVICE_UNAVAILABLE', 'Service temporarily unavailable');
}

async function deviceAssertion(opts: TokenEndpointOptions, tr: TokenRequest, requestId: string): Promise<Grant> {
  const assertion = tr.params.assertion;
  if (!assertion || assertion.length > 4096) throw new OAuthError('invalid_request');
  const requested = tr.params.scope?.split(' ').filter(Boolean) ?? [];
  if (requested.some((s) => !DEVICE_SCOPES.includes(s))) throw new OAuthError('invalid_scope');
  const { status, body } = await opts.internal.postJson('device', '/internal/device-assertion', { assertion, audience: opts.endpointUrl }, { 'x-request-id': requestId });
  if (status === 400) throw new OAuthError('invalid_grant');
  if (status !== 200 || typeof body.deviceId !== 'string' || typeof body.tenantId !== 'string') throw new HttpError(503, 'SERVICE_UNAVAILABLE', 'Service temporarily unavailable');
  return {
    principal: { kind: 'user', id: body.deviceId, tenantId: body.tenantId, roles: ['DEVICE'], scopes: requested.length ? [...new Set(requested)] : DEVICE_SCOPES, subjectType: 'device' },
    ttl: DEVICE_TOKEN_TTL,
  };
}

export function tokenRoute(opts: TokenEndpointOptions): RouteHandler {
  return async (req: IncomingMessage, res: ServerResponse) => {
    const requestId = requestIdFrom(req);
    try {
      const tr = await readTokenRequest(req);
      const grantType = tr.params.grant_type;
      if (!grantType) throw new OAuthError('invalid_request');
      let grant: Grant;
      if (grantType === 'client_credentials') grant = await clientCredentials(opts, req, tr, requestId);
      else if (grantType === JWT_BEARER) grant = await deviceAssertion(opts, tr, requestId);
      else throw new OAuthError('unsupported_grant_type');
      const { token } = await opts.issuer.issue(grant.principal, grant.ttl);
      const p = grant.principal;
      await opts.audit.record({ type: 'oauth.token_issued', actor: `${p.subjectType}:${p.id}`, tenantId: p.tenantId, requestId, details: { grantType, scopes: p.scopes, ttl: grant.ttl } });
      sendJson(res, 200, { access_token: token, token_type: 'Bearer', expires_in: grant.ttl, scope: p.scopes.join(' ') }, NO_STORE);
    } catch (err) {
      if (err instanceof OAuthError) return sendOAuthError(res, err);
      throw err;
    }
  };
}
