/**
 * The gateway's fetcher for subgraph calls (`RemoteGraphQLDataSource`'s
 * `fetcher`): a POST through node:http(s) with a keep-alive agent and a
 * timeout for the whole exchange, answering with the little of the fetch
 * Response interface the data source reads.
 *
 * Why not a fetch implementation: @apollo/gateway's default stack
 * (make-fetch-happen, minipass-fetch, agent-base) took about 19 % of the
 * gateway's CPU; Node's own fetch (undici's WHATWG layer, plus a
 * transferable AbortSignal per request for the timeout) still cost more
 * than this (bench/README.md has the profiles).
 */
import type { Fetcher, FetcherHeaders, FetcherRequestInit, FetcherResponse } from '@apollo/utils.fetcher';
import { Agent as HttpAgent, STATUS_CODES, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export interface SubgraphFetcherOptions {
  /** Named in the timeout error. */
  subgraph: string;
  /** Fail the call when the whole response has not arrived after this long. */
  timeoutMs: number;
}

/** The subgraph did not answer in time: that fetch fails (the gateway answers with an error for it). */
export class SubgraphTimeoutError extends Error {
  constructor(subgraph: string, ms: number) {
    super(`subgraph ${subgraph} did not answer within ${ms} ms`);
    this.name = 'SubgraphTimeoutError';
  }
}

/** Response headers, read-only. */
class ResponseHeaders implements FetcherHeaders {
  constructor(private readonly raw: IncomingHttpHeaders) {}
  get(name: string): string | null {
    const v = this.raw[name.toLowerCase()];
    return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
  }
  has(name: string): boolean {
    return this.raw[name.toLowerCase()] !== undefined;
  }
  append(): void {
    throw new TypeError('response headers are read-only');
  }
  delete(): void {
    throw new TypeError('response headers are read-only');
  }
  set(): void {
    throw new TypeError('response headers are read-only');
  }
  *entries(): IterableIterator<[string, string]> {
    for (const name of Object.keys(this.raw)) yield [name, this.get(name)!];
  }
  *keys(): IterableIterator<string> {
    yield* Object.keys(this.raw);
  }
  *values(): IterableIterator<string> {
    for (const [, v] of this.entries()) yield v;
  }
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
}

class SubgraphResponse implements FetcherResponse {
  readonly redirected = false;
  readonly ok: boolean;
  readonly statusText: string;
  readonly headers: FetcherHeaders;
  bodyUsed = false;
  constructor(
    readonly url: string,
    readonly status: number,
    private readonly rawHeaders: IncomingHttpHeaders,
    private readonly body: Buffer,
  ) {
    this.ok = status >= 200 && status < 300;
    this.statusText = STATUS_CODES[status] ?? '';
    this.headers = new ResponseHeaders(rawHeaders);
  }
  async text(): Promise<string> {
    this.bodyUsed = true;
    return this.body.toString('utf8');
  }
  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }
  async arrayBuffer(): Promise<ArrayBuffer> {
    this.bodyUsed = true;
    return this.body.buffer.slice(this.body.byteOffset, this.body.byteOffset + this.body.byteLength) as ArrayBuffer;
  }
  /** The same answer, unread: requests sharing one fetch (gateway/inflight.ts) each read their own clone. */
  clone(): FetcherResponse {
    return new SubgraphResponse(this.url, this.status, this.rawHeaders, this.body);
  }
}

/** A fetcher for one subgraph's URL (one keep-alive agent per subgraph). */
export function createSubgraphFetcher(url: string, opts: SubgraphFetcherOptions): Fetcher {
  const https = new URL(url).protocol === 'https:';
  const send = https ? httpsRequest : httpRequest;
  // Keep-alive and no socket cap, as undici's default pool; idle sockets close before a Node server's 5 s keep-alive timeout would.
  const agentOptions = { keepAlive: true, scheduling: 'lifo' as const, timeout: 4000 };
  const agent = https ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
  return (target: string, init: FetcherRequestInit = {}) =>
    new Promise<FetcherResponse>((resolve, reject) => {
      const body = init.body ?? '';
      const headers = { ...init.headers, 'content-length': String(Buffer.byteLength(body)) };
      const req = send(target, { method: init.method ?? 'POST', agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          clearTimeout(timer);
          resolve(new SubgraphResponse(target, res.statusCode ?? 0, res.headers, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
        });
        res.on('error', fail);
      });
      const timer = setTimeout(() => req.destroy(new SubgraphTimeoutError(opts.subgraph, opts.timeoutMs)), opts.timeoutMs);
      function fail(err: Error) {
        clearTimeout(timer);
        reject(err);
      }
      req.on('error', fail);
      req.end(body);
    });
}
