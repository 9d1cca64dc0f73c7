/**
 * How the gateway calls a subgraph: a keep-alive POST with a per-request
 * timeout (subgraph-fetcher.ts), carrying the request id and the caller's
 * principal as a signed internal token for that subgraph (never the
 * client's own headers).
 *
 * Identical concurrent query fetches of one principal share one HTTP
 * request (inflight.ts says what may share and why); each request parses
 * its own copy of the answer, since the gateway merges into what it parsed.
 *
 * `process` is RemoteGraphQLDataSource's, minus what the gateway never
 * uses here (automatic persisted queries, didReceiveResponse) and minus the
 * node-fetch Headers and Request objects it built for every fetch.
 */
import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { GraphQLDataSourceRequestKind } from '@apollo/gateway/dist/datasources/types';
import type { FetcherResponse } from '@apollo/utils.fetcher';
import type { RequestContext } from '../lib/context';
import type { InternalTokenSigner } from '../lib/auth/internal-token';
import { Inflight, isQueryDocument, principalKey } from './inflight';
import { createSubgraphFetcher } from './subgraph-fetcher';

type ProcessResult = Awaited<ReturnType<RemoteGraphQLDataSource['process']>>;
/** GraphQLDataSourceRequestKind.INCOMING_OPERATION (the enum's value is not exported). */
const INCOMING_OPERATION = 'incoming operation' as GraphQLDataSourceRequestKind.INCOMING_OPERATION;

export interface SubgraphDataSourceOptions {
  /** The subgraph's name: the internal token's audience. */
  name: string;
  url: string;
  /** Abort a subgraph fetch after this long. */
  timeoutMs: number;
  signer: InternalTokenSigner;
  /** Identical concurrent query fetches of one principal share one request. @default true */
  dedup?: boolean;
}

export class SubgraphDataSource extends RemoteGraphQLDataSource<RequestContext> {
  private readonly subgraph: string;
  private readonly signer: InternalTokenSigner;
  /** Fetches in flight that an identical one may join; undefined when deduplication is off. */
  readonly inflight?: Inflight<FetcherResponse>;

  constructor(opts: SubgraphDataSourceOptions) {
    super({ url: opts.url, fetcher: createSubgraphFetcher(opts.url, { subgraph: opts.name, timeoutMs: opts.timeoutMs }) });
    this.subgraph = opts.name;
    this.signer = opts.signer;
    if (opts.dedup !== false) this.inflight = new Inflight();
  }

  /** One subgraph fetch; throwing (or rejecting) fails that fetch only. */
  override async process(options: GraphQLDataSourceProcessOptions<RequestContext>): Promise<ProcessResult> {
    const { request } = options;
    if (!request.query) throw new Error('Missing query');
    const context = options.kind === INCOMING_OPERATION ? (options.context as RequestContext | undefined) : undefined;
    // Health checks and other gateway-internal fetches have no request context: they go as anonymous.
    const principal = context?.principal ?? { kind: 'anonymous' as const };
    const headers: Record<string, string> = {};
    if (request.http?.headers) for (const [name, value] of request.http.headers) headers[name.toLowerCase()] = value;
    headers['content-type'] = 'application/json';
    if (context?.requestId) headers['x-request-id'] = context.requestId;
    headers.authorization = `Bearer ${await this.signer.tokenFor(principal, this.subgraph)}`;
    const body = JSON.stringify({ query: request.query, variables: request.variables, operationName: request.operationName, extensions: request.extensions });
    const init = { method: 'POST', headers, body };
    const who = this.inflight && context ? principalKey(principal) : null;
    const response =
      who !== null && isQueryDocument(request.query)
        ? // The key holds the whole body: same operation, same variables (the representations included).
          (await this.inflight!.run(`${who}\u0000${body}`, () => this.fetcher(this.url, init))).clone()
        : await this.fetcher(this.url, init);
    if (!response.ok) throw await this.errorFromResponse(response);
    const parsed = await this.parseBody(response);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`Expected JSON response body, but received: ${String(parsed)}`);
    if (options.kind === INCOMING_OPERATION && this.honorSubgraphCacheControlHeader) restrictCachePolicy(options.incomingRequestContext.overallCachePolicy, response.headers.get('cache-control'));
    return { ...(parsed as object), http: response } as ProcessResult;
  }
}

/** What RemoteGraphQLDataSource does with a subgraph's Cache-Control header: the operation's cache policy is at most as long and as public. */
function restrictCachePolicy(policy: unknown, header: string | null): void {
  if (!policy || typeof policy !== 'object' || !('restrict' in policy) || typeof policy.restrict !== 'function') return;
  const hint: { maxAge: number; scope?: 'PRIVATE' | 'PUBLIC' } = { maxAge: 0 };
  const cc: Record<string, string | true> = {};
  for (const part of (header ?? '').trim().split(/\s*,\s*/)) {
    if (!part) continue;
    const [k, v] = part.split(/\s*=\s*/, 2);
    cc[k] = v === undefined ? true : v.replace(/^"|"$/g, '');
  }
  const maxAge = cc['max-age'];
  if (typeof maxAge === 'string' && /^[0-9]+$/.test(maxAge)) hint.maxAge = Number(maxAge);
  if (cc.private === true) hint.scope = 'PRIVATE';
  // Both: public wins, as in RemoteGraphQLDataSource.
  if (cc.public === true) hint.scope = 'PUBLIC';
  (policy.restrict as (h: typeof hint) => void)(hint);
}
