/**
 * How the gateway calls a subgraph's internal routes (credential checks,
 * principal status, SCIM): plain HTTP next to /graphql, with an internal
 * token for the gateway itself (a system principal) for that subgraph
 * only, and a timeout. Subgraphs verify it like any request.
 */
import type { InternalTokenSigner } from '../lib/auth/internal-token';
import type { SystemPrincipal } from '../lib/context';
import type { SubgraphName } from '../schema';

export const GATEWAY_PRINCIPAL: SystemPrincipal = { kind: 'system', id: 'gateway' };

export interface InternalClientOptions {
  signer: InternalTokenSigner;
  /** Each subgraph's GraphQL URL; internal routes live on the same origin. */
  subgraphUrls: Record<SubgraphName, string>;
  /** @default 5000 */
  timeoutMs?: number;
}

export interface InternalClient {
  /** POSTs JSON to `path` on `subgraph`; resolves with the status and the JSON answer (an empty object when there is none). */
  postJson(subgraph: SubgraphName, path: string, body: unknown, headers?: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }>;
  /** Any request to `path` (with query) on `subgraph`, authenticated as the gateway; the raw response. */
  request(subgraph: SubgraphName, pathAndQuery: string, init: { method: string; headers?: Record<string, string>; body?: string }): Promise<Response>;
}

export function createInternalClient(opts: InternalClientOptions): InternalClient {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const request: InternalClient['request'] = async (subgraph, pathAndQuery, init) => {
    const token = await opts.signer.tokenFor(GATEWAY_PRINCIPAL, subgraph);
    return fetch(new URL(pathAndQuery, opts.subgraphUrls[subgraph]), {
      method: init.method,
      headers: { ...init.headers, authorization: `Bearer ${token}` },
      body: init.body,
      redirect: 'error',
      signal: AbortSignal.timeout(timeoutMs),
    });
  };
  return {
    request,
    async postJson(subgraph, path, body, headers = {}) {
      const res = await request(subgraph, path, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const text = await res.text();
      let parsed: unknown = {};
      try {
        parsed = text ? JSON.parse(text) : {};
      } catch {
        parsed = {};
      }
      return { status: res.status, body: parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {} };
    },
  };
}
