/**
 * CORS with an allow-list. A browser request from a listed origin gets
 * `Access-Control-Allow-Origin` for exactly that origin (never `*`, never
 * credentials: callers send bearer tokens, not cookies); a preflight is
 * answered 204; a cross-origin request from anywhere else is refused with
 * 403 CORS_ORIGIN_REFUSED before it reaches GraphQL. Same-origin requests
 * (the landing page calling its own server) and requests without an Origin
 * (servers, curl) pass untouched.
 */
import { HttpError, type HttpMiddleware } from '../http';

export const CORS_ORIGIN_REFUSED = 'CORS_ORIGIN_REFUSED';

const ALLOWED_METHODS = 'GET, POST, OPTIONS';
const ALLOWED_HEADERS = [
  'authorization',
  'content-type',
  'accept',
  'apollo-require-preflight',
  'x-apollo-operation-name',
  'apollographql-client-name',
  'apollographql-client-version',
  'x-request-id',
].join(', ');
/** Headers a browser script may read: the request id and the rate-limit state. */
const EXPOSED_HEADERS = 'x-request-id, ratelimit, ratelimit-policy, retry-after';
const PREFLIGHT_MAX_AGE = '600';

export interface Cors {
  /** Sets the CORS headers for allowed origins, refuses the others (403); run early, before rate limits. */
  headers: HttpMiddleware;
  /** Answers a preflight (OPTIONS with Access-Control-Request-Method) with 204; run after rate limits. */
  preflight: HttpMiddleware;
}

function isPreflight(method: string | undefined, headers: Record<string, unknown>): boolean {
  return method === 'OPTIONS' && headers['access-control-request-method'] !== undefined;
}

export function cors(allowedOrigins: readonly string[]): Cors {
  const any = allowedOrigins.includes('*');
  const allowed = new Set(allowedOrigins);
  return {
    headers: (req, res) => {
      const origin = req.headers.origin;
      res.setHeader('vary', 'Origin');
      if (origin === undefined) return false;
      let sameOrigin = false;
      try {
        sameOrigin = origin !== 'null' && new URL(origin).host === req.headers.host;
      } catch {
        // a malformed Origin is simply not ours
      }
      if (sameOrigin && !isPreflight(req.method, req.headers)) return false;
      if (!sameOrigin && !any && !allowed.has(origin)) throw new HttpError(403, CORS_ORIGIN_REFUSED, 'origin not allowed');
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('access-control-expose-headers', EXPOSED_HEADERS);
      if (isPreflight(req.method, req.headers)) {
        res.setHeader('access-control-allow-methods', ALLOWED_METHODS);
        res.setHeader('access-control-allow-headers', ALLOWED_HEADERS);
        res.setHeader('access-control-max-age', PREFLIGHT_MAX_AGE);
      }
      return false;
    },
    preflight: (req, res) => {
      if (!isPreflight(req.method, req.headers)) return false;
      res.writeHead(204, { 'content-length': '0' });
      res.end();
      return true;
    },
  };
}
