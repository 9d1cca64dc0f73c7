/**
 * How the gateway calls a subgraph: a keep-alive POST with a per-request
 * timeout (subgraph-fetcher.ts), carrying the request id and the caller's
 * principal as a signed internal token for that subgraph (never the
 * client's own headers).
 */
import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { RequestContext } from '../lib/context';
import type { InternalTokenSigner } from '../lib/auth/internal-token';
import { createSubgraphFetcher } from './subgraph-fetcher';

export interface SubgraphDataSourceOptions {
  /** The subgraph's name: the internal token's audience. */
  name: string;
  url: string;
  /** Abort a subgraph fetch after this long. */
  timeoutMs: number;
  signer: InternalTokenSigner;
}

export class SubgraphDataSource extends RemoteGraphQLDataSource<RequestContext> {
  private readonly subgraph: string;
  private readonly signer: InternalTokenSigner;

  constructor(opts: SubgraphDataSourceOptions) {
    super({ url: opts.url, fetcher: createSubgraphFetcher(opts.url, { subgraph: opts.name, timeoutMs: opts.timeoutMs }) });
    this.subgraph = opts.name;
    this.signer = opts.signer;
  }

  /** Runs before every subgraph fetch; throwing (or rejecting) fails that fetch only. */
  override async willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<RequestContext>): Promise<void> {
    const headers = request.http?.headers;
    if (!headers) return;
    // Health checks and other gateway-internal fetches have no request context: they go as anonymous.
    const principal = context?.principal ?? { kind: 'anonymous' as const };
    if (context?.requestId) headers.set('x-request-id', context.requestId);
    headers.set('authorization', `Bearer ${await this.signer.tokenFor(principal, this.subgraph)}`);
  }
}
