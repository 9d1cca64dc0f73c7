/**
 * A `node:http` server that serves one Apollo Server at /graphql plus plain
 * routes (/healthz, /readyz …). Created by hand rather than with
 * startStandaloneServer so graphql-ws can share the port later. Bodies are
 * size-limited; malformed requests get a 400 with a code, never a crash.
 */
import { HeaderMap, type ApolloServer, type BaseContext } from '@apollo/server';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { AuthError } from './auth/errors';
import type { Logger } from './logger';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface GraphQLHttpOptions<C extends BaseContext> {
  apollo: ApolloServer<C>;
  /** Builds the request context; throwing answers with the error's status (default 500). */
  context: (req: IncomingMessage) => Promise<C>;
  /** Extra routes by exact path. */
  routes?: Record<string, RouteHandler>;
  /** Largest accepted request body. @default 1 MiB */
  maxBodyBytes?: number;
  logger: Logger;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      reject(new HttpError(413, 'PAYLOAD_TOO_LARGE', `request body exceeds ${limit} bytes`));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new HttpError(413, 'PAYLOAD_TOO_LARGE', `request body exceeds ${limit} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

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
  for (const [key, value] of result.headers) res.setHeader(key, value);
  res.statusCode = result.status ?? 200;
  if (result.body.kind === 'complete') {
    res.end(result.body.string);
    return;
  }
  for await (const chunk of result.body.asyncIterator) res.write(chunk);
  res.end();
}

export function createGraphQLHttpServer<C extends BaseContext>(opts: GraphQLHttpOptions<C>): Server {
  return createServer((req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      sendJson(res, 400, { error: { code: 'BAD_REQUEST', message: 'malformed URL' } });
      return;
    }
    const route = opts.routes?.[url.pathname];
    const work = route ? Promise.resolve(route(req, res)) : url.pathname === '/graphql' ? serveGraphQL(req, res, url, opts) : Promise.reject(new HttpError(404, 'NOT_FOUND', 'no such route'));
    work.catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof HttpError) {
        sendJson(res, err.status, { errors: [{ message: err.message, extensions: { code: err.code } }] });
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
  });
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
