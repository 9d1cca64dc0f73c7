/**
 * The end-to-end test kit: the whole platform (devdb over TCP, four
 * subgraph servers, the gateway) on free ports in this process, seeded with
 * the demo plan, plus a GraphQL client that speaks real HTTP.
 */
import { loadConfig } from '../../lib/config';
import type { Principal } from '../../lib/context';
import { demoPlan } from '../../lib/demo';
import { encodePrincipal } from '../../lib/principal';
import { createLogger } from '../../lib/logger';
import { DEV_PRINCIPAL_HEADER } from '../../gateway/principal';
import { startPlatform, type Platform } from '../../scripts/platform';

export interface GraphQLResponse<T = Record<string, any>> {
  status: number;
  data?: T;
  errors?: Array<{ message: string; path?: Array<string | number>; extensions?: Record<string, any> }>;
  headers: Headers;
}

export interface Stack {
  platform: Platform;
  /** POSTs an operation to the gateway as `principal` (default: the Northwind tenant admin). */
  gql<T = Record<string, any>>(query: string, variables?: Record<string, unknown>, opts?: { principal?: Principal; url?: string; headers?: Record<string, string> }): Promise<GraphQLResponse<T>>;
  stop(): Promise<void>;
}

export const plan = demoPlan();
export const [tenantA, tenantB] = plan.tenants;

export function userOf(tenantId: string, role = 'TENANT_ADMIN'): Principal {
  const u = plan.users.find((x) => x.tenantId === tenantId && x.roles.includes(role));
  if (!u) throw new Error(`no demo user with ${role} in ${tenantId}`);
  const region = plan.tenants.find((t) => t.id === tenantId)!.homeRegion;
  return { kind: 'user', id: u.id, tenantId, region, roles: u.roles, scopes: ['shipments:read', 'shipments:write', 'events:write'] };
}

export async function postGraphQL<T>(url: string, query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}): Promise<GraphQLResponse<T>> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables }) });
  const text = await res.text();
  let body: { data?: T; errors?: GraphQLResponse['errors'] } = {};
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`non-JSON response ${res.status}: ${text.slice(0, 200)}`);
  }
  return { status: res.status, data: body.data ?? undefined, errors: body.errors, headers: res.headers };
}

export async function startStack(env: Record<string, string> = {}): Promise<Stack> {
  const config = loadConfig({ APP_ENV: 'development', SEED: 'true', LOG_LEVEL: 'silent', ...env });
  const platform = await startPlatform({ config, logger: createLogger('test', 'silent'), ephemeral: true });
  return {
    platform,
    gql: (query, variables, opts = {}) =>
      postGraphQL(opts.url ?? platform.gatewayUrl, query, variables, {
        ...(opts.principal ? { [DEV_PRINCIPAL_HEADER]: encodePrincipal(opts.principal) } : {}),
        ...opts.headers,
      }),
    stop: () => platform.stop(),
  };
}

/** The `extensions.code` of each error, in order. */
export function codes(res: Pick<GraphQLResponse<unknown>, 'errors'>): string[] {
  return (res.errors ?? []).map((e) => String(e.extensions?.code));
}
