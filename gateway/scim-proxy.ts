/**
 * `/scim/v2/Users…` at the gateway, proxied to identity, which owns users
 * and checks the tenant's SCIM bearer token (forwarded as
 * `x-scim-authorization`; `authorization` carries the gateway's own
 * internal token). When a change to a user succeeds (PATCH, PUT, DELETE)
 * the gateway forgets that user's cached status before it answers, so a
 * deprovisioning takes effect on the user's very next request.
 */
import { requestIdFrom } from '../lib/context';
import { readBody, sendJson, type RouteHandler } from '../lib/http';
import type { InternalClient } from './internal-client';
import type { PrincipalStatusCheck } from './principal-status';

const MAX_BODY = 64 * 1024;
/** The only paths forwarded: the collection and one user. The hop carries the gateway's own token, so nothing else may ride on it. */
const SCIM_PATH = /^\/scim\/v2\/Users(?:\/([A-Za-z0-9_-]{1,64}))?$/;
const FORWARDED_RESPONSE_HEADERS = ['content-type', 'location', 'etag', 'www-authenticate'];

export interface ScimProxyOptions {
  internal: InternalClient;
  status?: PrincipalStatusCheck;
  /** Public base of the SCIM API (`<issuer>/scim/v2`), for `meta.location`. */
  publicBaseUrl: string;
}

export function scimProxyRoute(opts: ScimProxyOptions): RouteHandler {
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://gateway');
    const path = SCIM_PATH.exec(url.pathname);
    if (!path) {
      sendJson(res, 404, { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '404', detail: 'Resource not found' });
      return;
    }
    const method = req.method ?? 'GET';
    const body = ['POST', 'PUT', 'PATCH'].includes(method) ? await readBody(req, MAX_BODY) : undefined;
    const headers: Record<string, string> = { 'x-request-id': requestIdFrom(req), 'x-scim-base-url': opts.publicBaseUrl, accept: 'application/scim+json' };
    if (typeof req.headers.authorization === 'string') headers['x-scim-authorization'] = req.headers.authorization;
    if (body !== undefined) headers['content-type'] = 'application/scim+json';
    const upstream = await opts.internal.request('identity', url.pathname + url.search, { method, headers, body });
    const text = await upstream.text();
    const id = path[1];
    if (id && upstream.ok && ['PATCH', 'PUT', 'DELETE'].includes(method)) opts.status?.invalidate(id);
    if (upstream.status >= 500) {
      sendJson(res, 502, { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '502', detail: 'Upstream error' });
      return;
    }
    const out: Record<string, string> = { 'cache-control': 'no-store' };
    for (const h of FORWARDED_RESPONSE_HEADERS) {
      const v = upstream.headers.get(h);
      if (v) out[h] = v;
    }
    res.writeHead(upstream.status, out);
    res.end(text);
  };
}
