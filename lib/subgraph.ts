/**
 * Builds one subgraph process: its SDL from schema/, its resolvers, the
 * request context, health routes and error masking. Each subgraph's
 * server.ts calls this; index.ts binds it to a port.
 */
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginInlineTraceDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import type { IncomingMessage, Server } from 'node:http';
import { loadSubgraphTypeDefs, type SubgraphName } from '../schema';
import type { AuditSink } from './audit';
import type { AppEnv } from './config';
import { createRequestContext, type DataScope, type Principal, type RequestContext } from './context';
import type { DataStores } from './db';
import { errorReportingPlugin, noStorePlugin } from './apollo-plugins';
import { createFormatError } from './errors';
import { apolloLifecycle, createGraphQLHttpServer, sendJson, type RouteHandler } from './http';
import type { Logger } from './logger';
import type { CredentialSettings } from './auth/credential-settings';
import { applyMasking } from './pii';
import { applyRules, type PolicyOptions } from './policy';
import { applyLengthLimits, scalarResolversFor } from './validation';

export interface SubgraphOptions<Loaders> {
  name: SubgraphName;
  appEnv: AppEnv;
  resolvers: GraphQLResolverMap<RequestContext<Loaders>>;
  stores: DataStores;
  logger: Logger;
  audit: AuditSink;
  /** Per-request DataLoaders, created fresh for every request. */
  createLoaders: (scope: DataScope) => Loaders;
  /** Who is calling: verifies the gateway's internal token (rejecting refuses the request with 401). */
  resolvePrincipal: (req: IncomingMessage) => Principal | Promise<Principal>;
  /** Options of the authorization rules compiled from the SDL (operator tenant, step-up window, clock). */
  policy?: PolicyOptions;
  /**
   * Plain HTTP routes besides /graphql (keys as in lib/http.ts, `/*` for a
   * prefix). They bypass the GraphQL context: each handler must check the
   * caller itself, e.g. with `systemRoute` (lib/internal-route.ts). They
   * cannot replace /healthz or /readyz.
   */
  routes?: Record<string, RouteHandler>;
  /**
   * Benchmarks only (bench/run.ts): 'off' answers every caller as a system
   * principal without reading its internal token and applies no
   * authorization rules, so peer gateways can be measured on the same
   * subgraphs. Throws at boot when `appEnv` or APP_ENV is production.
   * @default 'on'
   */
  security?: 'on' | 'off';
}

/** The principal of every request to a subgraph built with `security: 'off'`. */
export const SECURITY_OFF_PRINCIPAL: Principal = { kind: 'system', id: 'bench:security-off' };

/**
 * Throws unless `security: 'off'` may be used here: never in production
 * (neither `appEnv` nor the process's APP_ENV). `what` names the server.
 */
export function assertSecurityOffAllowed(appEnv: AppEnv, what: string): void {
  if (appEnv === 'production' || process.env.APP_ENV === 'production') throw new Error(`${what}: security 'off' is for benchmarks and is refused in production`);
}

/**
 * What every subgraph builder needs from its process (the registry in
 * subgraphs/index.ts passes exactly this); each builder's own options
 * extend it with what only that subgraph takes (a clock, an alarm rule …).
 */
export interface SubgraphDeps {
  stores: DataStores;
  logger: Logger;
  audit: AuditSink;
  appEnv: AppEnv;
  /** Verifies the gateway's internal token: the only way in. */
  resolvePrincipal: (req: IncomingMessage) => Principal | Promise<Principal>;
  /** Options of the directive-compiled rules (operator tenant, step-up window, clock). */
  policy?: PolicyOptions;
  /** Benchmarks only: see `SubgraphOptions.security`. @default 'on' */
  security?: 'on' | 'off';
  /** Credential checks (identity: secrets, lockouts, SCIM; device: key assertions) and their clock. */
  credentials?: CredentialSettings;
}

export interface SubgraphServer {
  server: Server;
  apollo: ApolloServer<RequestContext<unknown>>;
  /** Starts Apollo and listens; resolves with the bound port. */
  listen(port: number, host?: string): Promise<number>;
  /** Drains in-flight requests, then closes. */
  stop(): Promise<void>;
}

export async function createSubgraphServer<Loaders>(opts: SubgraphOptions<Loaders>): Promise<SubgraphServer> {
  const securityOff = opts.security === 'off';
  if (securityOff) assertSecurityOffAllowed(opts.appEnv, `${opts.name} subgraph`);
  const typeDefs = loadSubgraphTypeDefs(opts.name);
  // Every scalar the SDL declares gets its parser from lib/validation (the boot fails for one without);
  // the @length checks wrap the resolvers, inside the authorization rules applied next.
  const built = applyLengthLimits(buildSubgraphSchema({ typeDefs, resolvers: { ...opts.resolvers, ...scalarResolversFor(typeDefs) } as never }));
  // Masked by default: every @pii output field shows its masked value unless the record came from an audited
  // reveal or an exemption applies (lib/pii/masking.ts); also inside the rules. Throws at boot for a @pii
  // output field without a masking rule. Benchmarks with security off measure peers without it.
  const masked = securityOff ? built : applyMasking(built);
  // Throws at boot when a field has no authorization rule (coverage must be 100 %).
  const schema = securityOff ? masked : applyRules(masked, typeDefs, opts.policy);
  const contextDeps = securityOff ? { ...opts, resolvePrincipal: () => SECURITY_OFF_PRINCIPAL } : opts;
  const apollo = new ApolloServer<RequestContext<Loaders>>({
    schema,
    introspection: opts.appEnv !== 'production',
    includeStacktraceInErrorResponses: opts.appEnv === 'development',
    formatError: createFormatError(opts.appEnv),
    logger: opts.logger,
    // Our entry points own the signals and drain in order; Apollo's own handler would stop twice and hang.
    stopOnTerminationSignals: false,
    // No inline traces: callers must not get timing and resolver detail from a subgraph.
    // No cache-control plugin: no field has a cache hint (every answer is `no-store`), and its per-field hook made
    // Apollo Server wrap every resolver for every request (≈ 3 % of a subgraph's CPU on a list); noStorePlugin keeps the header.
    plugins: [ApolloServerPluginLandingPageDisabled(), ApolloServerPluginInlineTraceDisabled(), ApolloServerPluginCacheControlDisabled(), noStorePlugin(), errorReportingPlugin()],
  });
  const server = createGraphQLHttpServer({
    apollo,
    logger: opts.logger,
    context: async (req) => createRequestContext(req, contextDeps),
    routes: {
      ...opts.routes,
      '/healthz': (_req, res) => sendJson(res, 200, { status: 'ok', service: opts.name }),
      '/readyz': async (_req, res) => {
        try {
          await opts.stores.ping();
          sendJson(res, 200, { status: 'ready', service: opts.name });
        } catch {
          sendJson(res, 503, { status: 'unavailable', service: opts.name, reason: 'database unreachable' });
        }
      },
    },
  });
  return {
    server,
    apollo: apollo as unknown as ApolloServer<RequestContext<unknown>>,
    ...apolloLifecycle(apollo, server),
  };
}
