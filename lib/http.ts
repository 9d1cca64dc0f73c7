/**
 * A `node:http` server that serves one Apollo Server at /graphql plus plain
 * routes (/healthz, /readyz …). Created by hand rather than with
 * startStandaloneServer so graphql-ws can share the port later. Bodies are
 * size-limited; malformed requests get a 400 with a code, never a crash.
 */
import { HeaderMap, type ApolloServer, type BaseContext } from '@apollo/server';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TlsOptions } from 'node:tls';
import { AuthError } from './auth/errors';
import type { Logger } from './logger';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/**
 * Runs on every request before routing, in order (security headers, CORS,
 * rate limits …). Returns true when it has answered the request itself
 * (nothing after it runs); throwing answers with the error (an `HttpError`
 * with its status, headers and code).
 */
export type HttpMiddleware = (req: IncomingMessage, res: ServerResponse, url: URL) => boolean | void | Promise<boolean | void>;

export interface GraphQLHttpOptions<C extends BaseContext> {
  apollo: ApolloServer<C>;
  /** Builds the request context; throwing answers with the error's status (default 500). */
  context: (req: IncomingMessage) => Promise<C>;
  /**
   * Extra routes by exact path; a key ending in `/*` also serves every path
   * below it (`/scim/v2/Users/*` serves `/scim/v2/Users` and `/scim/v2/Users/42`).
   * Exact paths win over prefixes, longer prefixes over shorter ones.
   */
  routes?: Record<string, RouteHandler>;
  /** Largest accepted request body. @default 1 MiB */
  maxBodyBytes?: number;
  logger: Logger;
  /** Before routing, on every request (see `HttpMiddleware`). @default none */
  middleware?: HttpMiddleware[];
  /** Serve HTTPS with these options (certificate, key, TLS versions) instead of HTTP. @default plain HTTP */
  tls?: TlsOptions;
  /** Time a client has to send a whole request (`server.requestTimeout`). @default Node's (300000) */
  requestTimeoutMs?: number;
  /** Time a client has to send the request headers (`server.headersTimeout`). @default Node's (60000) */
  headersTimeoutMs?: number;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Extra response headers (e.g. Retry-After). */
    readonly headers: Record<string, string> = {},
    /** Extra `extensions` besides `code` (e.g. the rate-limit bucket). */
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** The request body as UTF-8; rejects with 413 PAYLOAD_TOO_LARGE beyond `limit` bytes. */
export function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    // The 413 closes the connection: the rest of the body is drained, not read (bounded by the request timeout).
    const tooLarge = () => new HttpError(413, 'PAYLOAD_TOO_LARGE', `request body exceeds ${limit} bytes`, { connection: 'close' });
    if (declared > limit) {
      reject(tooLarge());
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const LIST_HEADERS = new Set(['vary', 'ratelimit', 'ratelimit-policy']);

async function serveGraphQL<C extends BaseContext>(req: IncomingMessage, res: ServerResponse, url: URL, opts: GraphQLHttpOptions<C>): Promise<void> {
  const headers = new HeaderMap();
  for (const [key, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
  }
  let body: unknown;
  if (req.method === 'POST') {
    const raw = await readBody(req, opts.maxBodyBytes ?? 1024 * 1024);
    const type = headers.get('content-type') ?? '';
    if (type.includes('application/json') || type.includes('application/graphql-response+json')) {
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        throw new HttpError(400, 'BAD_REQUEST', 'request body is not valid JSON');
      }
    } else body = raw;
  }
  const context = await opts.context(req);
  const result = await opts.apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: req.method ?? 'GET', headers, search: url.search, body },
    context: async () => context,
  });
  for (const [key, value] of result.headers) {
    // List headers set before (Vary by CORS, the ip bucket's RateLimit) are extended, not replaced.
    const prev = res.getHeader(key);
    res.setHeader(key, prev !== undefined && LIST_HEADERS.has(key) ? `${String(prev)}, ${value}` : value);
  }
  res.statusCode = result.status ?? 200;
  if (result.body.kind === 'complete') {
    res.end(result.body.string);
    return;
  }
  for await (const chunk of result.body.asyncIterator) res.write(chunk);
  res.end();
}

/** The handler of `pathname`: an exact route, else the longest `/*` prefix route covering it. */
export function findRoute(routes: Record<string, RouteHandler> | undefined, pathname: string): RouteHandler | undefined {
  if (!routes) return undefined;
  if (Object.hasOwn(routes, pathname)) return routes[pathname];
  let best: string | undefined;
  for (const key of Object.keys(routes)) {
    if (!key.endsWith('/*')) continue;
    const base = key.slice(0, -2);
    if ((pathname === base || pathname.startsWith(`${base}/`)) && (!best || key.length > best.length)) best = key;
  }
  return best ? routes[best] : undefined;
}

async function runMiddleware(req: IncomingMessage, res: ServerResponse, url: URL, middleware: HttpMiddleware[]): Promise<boolean> {
  for (const m of middleware) if ((await m(req, res, url)) === true) return true;
  return false;
}

export function createGraphQLHttpServer<C extends BaseContext>(opts: GraphQLHttpOptions<C>): Server {
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      sendJson(res, 400, { error: { code: 'BAD_REQUEST', message: 'malformed URL' } });
      return;
    }
    const route = findRoute(opts.routes, url.pathname);
    const work = runMiddleware(req, res, url, opts.middleware ?? []).then((answered) => {
      if (answered) return;
      return route ? route(req, res) : url.pathname === '/graphql' ? serveGraphQL(req, res, url, opts) : Promise.reject(new HttpError(404, 'NOT_FOUND', 'no such route'));
    });
    work.catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof HttpError) {
        sendJson(res, err.status, { errors: [{ message: err.message, extensions: { code: err.code, ...err.extensions } }] }, err.headers);
        return;
      }
      // A credential that fails verification refuses the whole request: 401, fixed message, stable reason.
      if (err instanceof AuthError) {
        sendJson(res, 401, { errors: [{ message: err.message, extensions: err.extensions }] }, { 'www-authenticate': 'Bearer error="invalid_token"' });
        return;
      }
      opts.logger.error({ err }, 'request failed');
      sendJson(res, 500, { errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
    });
  };
  const timeouts = {
    ...(opts.requestTimeoutMs !== undefined ? { requestTimeout: opts.requestTimeoutMs } : {}),
    ...(opts.headersTimeoutMs !== undefined ? { headersTimeout: opts.headersTimeoutMs } : {}),
    // Node checks those timeouts every 30 s by default: a slow client would get up to 30 s more.
    ...(opts.requestTimeoutMs !== undefined || opts.headersTimeoutMs !== undefined ? { connectionsCheckingInterval: 1000 } : {}),
  };
  // An https.Server is an http.Server with TLS underneath: same events, timeouts and listen().
  return opts.tls ? createHttpsServer({ ...opts.tls, ...timeouts }, handler) : createServer(timeouts, handler);
}

/** Listens and resolves with the bound port (0 picks a free one). */
export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

/**
 * Start/stop of an Apollo Server behind its HTTP server, shared by the
 * gateway and the subgraphs: `listen` starts Apollo once, then binds;
 * `stop` stops taking connections, lets in-flight requests finish, then
 * stops Apollo.
 */
export function apolloLifecycle(apollo: { start(): Promise<void>; stop(): Promise<void> }, server: Server): { listen(port: number, host?: string): Promise<number>; stop(): Promise<void> } {
  let started = false;
  return {
    async listen(port, host = '127.0.0.1') {
      if (!started) {
        await apollo.start();
        started = true;
      }
      return listen(server, port, host);
    },
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      if (started) await apollo.stop();
    },
  };
}
