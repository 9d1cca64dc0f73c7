/**
 * The hardening test kit: a real gateway (createGateway) in the mode under
 * test whose subgraphs all point at a closed port. A refusal carrying its
 * code therefore proves no subgraph was called — a call would have failed
 * to connect (INTERNAL_SERVER_ERROR) — and an admitted operation gets as
 * far as that connection failure. Raw HTTP helpers for the transport-level
 * attacks (GET, batches, form bodies).
 */
import { createServer } from 'node:net';
import { createGateway, type GatewayOptions, type GatewayServer } from '../../gateway/server';
import { createGatewayAuth, type GatewayAuth } from '../../lib/auth/runtime';
import type { AppEnv } from '../../lib/config';
import { loadConfig } from '../../lib/config';
import type { TenantPrincipal } from '../../lib/context';
import { createLogger } from '../../lib/logger';
import { SUBGRAPH_NAMES, loadSupergraphSdl, type SubgraphName } from '../../schema';

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body when it is JSON. */
  json?: any;
}

export interface GqlResponse {
  status: number;
  headers: Headers;
  data?: Record<string, any> | null;
  errors?: Array<{ message: string; locations?: unknown; path?: unknown; extensions?: Record<string, any> }>;
  extensions?: Record<string, unknown>;
}

export interface HardenedGateway {
  gateway: GatewayServer;
  auth: GatewayAuth;
  url: string;
  /** POSTs `{ query, variables, extensions }` as JSON; `as` issues a token for that principal. */
  gql(query: string | undefined, opts?: { variables?: Record<string, unknown>; extensions?: Record<string, unknown>; as?: TenantPrincipal; headers?: Record<string, string>; operationName?: string }): Promise<GqlResponse>;
  /** Any request to the GraphQL endpoint (`path` after the host, default /graphql). */
  raw(init: RequestInit & { path?: string }): Promise<RawResponse>;
  tokenFor(p: TenantPrincipal): Promise<string>;
  stop(): Promise<void>;
}

/** A port nothing listens on. */
export async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export const person = (roles: string[], scopes: string[], extra: Partial<TenantPrincipal> = {}): TenantPrincipal => ({
  kind: 'user',
  id: extra.id ?? `u-${roles.join('-').toLowerCase()}`,
  tenantId: 'tenant-hardening',
  roles,
  scopes,
  subjectType: 'user',
  ...extra,
});
export const ADMIN = person(['TENANT_ADMIN'], ['shipments:read', 'shipments:write', 'devices:read', 'privacy:read', 'users:read']);
export const DISPATCHER = person(['DISPATCHER'], ['shipments:read', 'shipments:write', 'devices:read']);

export async function startHardenedGateway(appEnv: AppEnv, extra: Partial<Pick<GatewayOptions, 'hardening' | 'rateLimits' | 'transport'>> = {}): Promise<HardenedGateway> {
  const dead = await closedPort();
  const subgraphUrls = Object.fromEntries(SUBGRAPH_NAMES.map((n) => [n, `http://127.0.0.1:${dead}/graphql`])) as Record<SubgraphName, string>;
  const auth = await createGatewayAuth(loadConfig({ APP_ENV: appEnv, SEED: 'false', LOG_LEVEL: 'silent' }), { ephemeral: true });
  const gateway = await createGateway({
    appEnv,
    supergraphSdl: loadSupergraphSdl(),
    subgraphUrls,
    logger: createLogger('hardening-test', 'silent'),
    subgraphTimeoutMs: 2000,
    auth,
    // Identity is unreachable here: every token counts as active until it expires.
    credentials: { statusSource: async () => ({ active: true }) },
    ...extra,
  });
  const url = `http://127.0.0.1:${await gateway.listen(0)}/graphql`;
  const tokens = new Map<TenantPrincipal, string>();
  const tokenFor = async (p: TenantPrincipal) => {
    if (!tokens.has(p)) tokens.set(p, (await auth.issuer.issue(p)).token);
    return tokens.get(p)!;
  };
  const raw = async ({ path, ...init }: RequestInit & { path?: string }): Promise<RawResponse> => {
    const res = await fetch(path ? url.replace('/graphql', path) : url, init);
    const text = await res.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  };
  return {
    gateway,
    auth,
    url,
    tokenFor,
    raw,
    async gql(query, opts = {}) {
      const headers: Record<string, string> = { 'content-type': 'application/json', ...(opts.as ? { authorization: `Bearer ${await tokenFor(opts.as)}` } : {}), ...opts.headers };
      const body = JSON.stringify({ query, variables: opts.variables, extensions: opts.extensions, operationName: opts.operationName });
      const res = await raw({ method: 'POST', headers, body });
      if (!res.json) throw new Error(`non-JSON response ${res.status}: ${res.text.slice(0, 200)}`);
      return { status: res.status, headers: res.headers, ...res.json };
    },
    stop: () => gateway.stop(),
  };
}

/** The `extensions.code` of each error, in order. */
export function codes(res: { errors?: Array<{ extensions?: Record<string, any> }> }): string[] {
  return (res.errors ?? []).map((e) => String(e.extensions?.code));
}
