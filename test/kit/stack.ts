/**
 * The end-to-end test kit: the whole platform (devdb over TCP, four
 * subgraph servers, the gateway) on free ports in this process, seeded with
 * the demo plan, plus a GraphQL client that speaks real HTTP.
 */
import { scopesForRoles } from '../../lib/auth/scopes';
import { loadConfig } from '../../lib/config';
import type { TenantPrincipal } from '../../lib/context';
import { demoPlan } from '../../lib/demo';
import { createLogger, type Logger } from '../../lib/logger';
import { startPlatform, type Platform } from '../../scripts/platform';

export interface GraphQLResponse<T = Record<string, any>> {
  status: number;
  data?: T;
  errors?: Array<{ message: string; path?: Array<string | number>; extensions?: Record<string, any> }>;
  headers: Headers;
}

export interface Stack {
  platform: Platform;
  /**
   * POSTs an operation to the gateway with a freshly issued access token for
   * `principal` (default: the Northwind tenant admin); `principal: null`
   * sends no token (an anonymous caller).
   */
  gql<T = Record<string, any>>(query: string, variables?: Record<string, unknown>, opts?: { principal?: TenantPrincipal | null; url?: string; headers?: Record<string, string> }): Promise<GraphQLResponse<T>>;
  /** An access token for `principal`, as the platform issues them. */
  tokenFor(principal: TenantPrincipal): Promise<string>;
  stop(): Promise<void>;
}

export const plan = demoPlan();
export const [tenantA, tenantB] = plan.tenants;

/** The demo person of a tenant holding `role`, as a token would describe them (MFA done just now). */
export function userOf(tenantId: string, role = 'TENANT_ADMIN'): TenantPrincipal {
  const u = plan.users.find((x) => x.tenantId === tenantId && x.roles.includes(role));
  if (!u) throw new Error(`no demo user with ${role} in ${tenantId}`);
  const region = plan.tenants.find((t) => t.id === tenantId)!.homeRegion;
  return { kind: 'user', id: u.id, tenantId, region, roles: u.roles, scopes: scopesForRoles(u.roles), subjectType: 'user', amr: ['pwd', 'otp'], authTime: Math.floor(Date.now() / 1000) };
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

/**
 * Starts the platform for one test file. `opts.credentialClock` freezes the
 * clock of credential checks and the gateway's status cache (see
 * scripts/platform.ts); tokens keep real time. `opts.logger` receives every
 * log line of the gateway, the subgraphs and devdb (default: silent).
 */
export async function startStack(env: Record<string, string> = {}, opts: { credentialClock?: () => Date; logger?: Logger } = {}): Promise<Stack> {
  const config = loadConfig({ APP_ENV: 'development', SEED: 'true', LOG_LEVEL: 'silent', ...env });
  const platform = await startPlatform({ config, logger: opts.logger ?? createLogger('test', 'silent'), ephemeral: true, credentialClock: opts.credentialClock });
  const tokenFor = async (p: TenantPrincipal) => (await platform.auth.issuer.issue(p)).token;
  const defaultUser = userOf(tenantA.id);
  return {
    platform,
    tokenFor,
    gql: async (query, variables, opts = {}) => {
      const principal = opts.principal === undefined ? defaultUser : opts.principal;
      return postGraphQL(opts.url ?? platform.gatewayUrl, query, variables, {
        ...(principal ? { authorization: `Bearer ${await tokenFor(principal)}` } : {}),
        ...opts.headers,
      });
    },
    stop: () => platform.stop(),
  };
}

/** The `extensions.code` of each error, in order. */
export function codes(res: Pick<GraphQLResponse<unknown>, 'errors'>): string[] {
  return (res.errors ?? []).map((e) => String(e.extensions?.code));
}
