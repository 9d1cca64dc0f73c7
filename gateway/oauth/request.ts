/**
 * Reads a token request: the body as `application/x-www-form-urlencoded`
 * (RFC 6749) or JSON, and the client's credentials from HTTP Basic (ids and
 * secrets form-urlencoded inside it, §2.3.1) or from `client_id` /
 * `client_secret` parameters — one method, never both.
 */
import type { IncomingMessage } from 'node:http';
import { HttpError, readBody } from '../../lib/http';
import { OAuthError } from './errors';

const MAX_BODY = 8 * 1024;

export interface TokenRequest {
  params: Record<string, string>;
  /** Client credentials, from whichever method the client used. */
  client?: { id: string; secret: string; viaBasic: boolean };
}

async function readParams(req: IncomingMessage): Promise<Record<string, string>> {
  const type = String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  let raw: string;
  try {
    raw = await readBody(req, MAX_BODY);
  } catch (err) {
    if (err instanceof HttpError) throw new OAuthError('invalid_request', 413);
    throw err;
  }
  if (type === 'application/x-www-form-urlencoded') {
    const form = new URLSearchParams(raw);
    const params: Record<string, string> = {};
    for (const key of new Set(form.keys())) {
      // Parameters must not repeat (RFC 6749 §3.2).
      if (form.getAll(key).length > 1) throw new OAuthError('invalid_request');
      params[key] = form.get(key)!;
    }
    return params;
  }
  if (type === 'application/json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw new OAuthError('invalid_request');
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new OAuthError('invalid_request');
    const params: Record<string, string> = {};
    for (const [key, value] of Object.entries(parsed)) {
      if (typeof value !== 'string') throw new OAuthError('invalid_request');
      params[key] = value;
    }
    return params;
  }
  throw new OAuthError('invalid_request', 415);
}

function basicCredentials(header: string | undefined): { id: string; secret: string } | undefined {
  if (!header) return undefined;
  const match = /^Basic ([A-Za-z0-9+/=]{1,2048})$/i.exec(header);
  if (!match) throw new OAuthError('invalid_client', 401, { 'www-authenticate': 'Basic realm="tracksafe"' });
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw new OAuthError('invalid_client', 401, { 'www-authenticate': 'Basic realm="tracksafe"' });
  const unform = (s: string) => {
    try {
      return decodeURIComponent(s.replace(/\+/g, ' '));
    } catch {
      throw new OAuthError('invalid_client', 401, { 'www-authenticate': 'Basic realm="tracksafe"' });
    }
  };
  return { id: unform(decoded.slice(0, colon)), secret: unform(decoded.slice(colon + 1)) };
}

export async function readTokenRequest(req: IncomingMessage): Promise<TokenRequest> {
  if (req.method !== 'POST') throw new OAuthError('invalid_request', 405, { allow: 'POST' });
  const basic = basicCredentials(req.headers.authorization);
  const params = await readParams(req);
  const inBody = params.client_id !== undefined || params.client_secret !== undefined;
  if (basic && inBody) throw new OAuthError('invalid_request');
  if (basic) return { params, client: { ...basic, viaBasic: true } };
  if (inBody) return { params, client: { id: params.client_id ?? '', secret: params.client_secret ?? '', viaBasic: false } };
  return { params };
}
