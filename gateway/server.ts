/**
 * Builds the gateway: @apollo/gateway on the static supergraph, Apollo
 * Server 5 on our own node:http server (graphql-ws will share the port),
 * the request context, health routes, error masking and graceful shutdown.
 * index.ts binds it to a port.
 */
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { ApolloGateway } from '@apollo/gateway';
import type { Server } from 'node:http';
import { SUBGRAPH_NAMES, loadSupergraphSdl, type SubgraphName } from '../schema';
import { errorReportingPlugin } from '../lib/apollo-plugins';
import { MemoryAuditSink, type AuditSink } from '../lib/audit';
import type { AppEnv, Config } from '../lib/config';
import type { GatewayAuth } from '../lib/auth/runtime';
import { createRequestContext, type RequestContext } from '../lib/context';
import { createFormatError } from '../lib/errors';
import { apolloLifecycle, createGraphQLHttpServer } from '../lib/http';
import { SECURITY_OFF_PRINCIPAL, assertSecurityOffAllowed } from '../lib/subgraph';
import type { IncomingMessage } from 'node:http';
import type { Logger } from '../lib/logger';
import { gatewayGuardPlugin } from '../lib/policy';
import { scalarValidationPlugin } from '../lib/validation';
import type { RateLimits, RateLimitSettings } from '../lib/ratelimit';
import type { TransportSettings } from '../lib/transport';
import { SubgraphDataSource } from './datasource';
import { dedupOperations, type InflightDedupOptions } from './inflight';
import { devTokenRoute, jwksRoute } from './auth-routes';
import { healthRoute, readinessRoute } from './health';
import { createInternalClient } from './internal-client';
import { loginRoute } from './login-route';
import { tokenRoute } from './oauth/token-route';
import { resolveGatewayPrincipal } from './principal';
import { elevationDecisionPlugin } from './elevation-plugin';
import { createPrincipalStatusCheck, platformStatusSource, type PrincipalStatusSource } from './principal-status';
import { scimProxyRoute } from './scim-proxy';
import { createGatewayEdge } from './transport';
import { createGatewayHardening, hardeningOptionsFrom, type GatewayHardeningOptions } from './hardening';

export interface GatewayOptions {
  appEnv: AppEnv;
  supergraphSdl: string;
  /** Where each subgraph is reached; overrides the URLs in the supergraph. */
  subgraphUrls: Record<SubgraphName, string>;
  /** Abort a subgraph fetch after this long. @default 10000 */
  subgraphTimeoutMs?: number;
  /** In-flight deduplication per principal (gateway/inflight.ts, INFLIGHT_DEDUP). @default both on */
  inflightDedup?: InflightDedupOptions;
  logger: Logger;
  /** @default an in-memory sink */
  audit?: AuditSink;
  /** Keys, token issuer and verifier, internal hop signer. */
  auth: GatewayAuth;
  /** The token endpoint, login, SCIM proxy and per-request status check. */
  credentials?: GatewayCredentialOptions;
  /** TLS, CORS, body and time limits, security.txt (config.transport). @default the appEnv's defaults, plain HTTP */
  transport?: TransportSettings;
  /** Rate-limit buckets and store (config.rateLimits). @default the appEnv's defaults, in memory */
  rateLimits?: RateLimitSettings;
  /** Query limits, cost budgets, trusted documents, batching (hardeningOptionsFrom(config.hardening)). @default the appEnv's defaults */
  hardening?: Omit<GatewayHardeningOptions, 'appEnv'>;
  /**
   * Benchmarks only (bench/run.ts): 'off' runs this gateway with no
   * security, to measure what it costs: every caller is a system principal
   * (no token verification, no status check), and there is no guard, no
   * query limits, cost or trusted documents, no rate limits, security
   * headers or CORS. Throws when `appEnv` or APP_ENV is production.
   * @default 'on'
   */
  security?: 'on' | 'off';
}

export interface GatewayCredentialOptions {
  /** How long identity's "still active" answer is reused per principal (ms). @default 5000 */
  statusCacheMs?: number;
  /** Clock of the status cache in ms (tests freeze it). @default Date.now */
  now?: () => number;
  /** Who answers "still active?". @default identity's /internal/principal-status, the device subgraph's /internal/device-status for devices */
  statusSource?: PrincipalStatusSource;
  /** The caller's address for lockouts. @default the socket's remote address (no proxy trusted) */
  clientIp?: (req: IncomingMessage) => string;
}

export interface GatewayServer {
  server: Server;
  apollo: ApolloServer<RequestContext>;
  /** 'https' when a certificate is configured (TLS 1.3 only). */
  protocol: 'http' | 'https';
  /** The rate limits (routes call `rateLimits.enforce(bucket, key)`; `metrics()` for counters). */
  rateLimits: RateLimits;
  listen(port: number, host?: string): Promise<number>;
  /** Stops taking requests, lets in-flight ones finish, then stops. */
  stop(): Promise<void>;
}

/**
 * The options a process's configuration decides (environment, supergraph,
 * timeouts, status cache, transport, rate limits, hardening); callers add
 * the subgraph URLs, logger and auth — and whatever they override.
 */
export function gatewayOptionsFrom(config: Config): Pick<GatewayOptions, 'appEnv' | 'supergraphSdl' | 'subgraphTimeoutMs' | 'inflightDedup' | 'credentials' | 'transport' | 'rateLimits' | 'hardening'> {
  return {
    appEnv: config.appEnv,
    supergraphSdl: loadSupergraphSdl(),
    subgraphTimeoutMs: config.subgraphTimeoutMs,
    inflightDedup: config.inflightDedup,
    credentials: { statusCacheMs: config.principalStatusCacheMs },
    transport: config.transport,
    rateLimits: config.rateLimits,
    hardening: hardeningOptionsFrom(config.hardening),
  };
}

export async function createGateway(opts: GatewayOptions): Promise<GatewayServer> {
  const securityOff = opts.security === 'off';
  if (securityOff) assertSecurityOffAllowed(opts.appEnv, 'gateway');
  const dedup = { operations: opts.inflightDedup?.operations ?? true, subgraphFetches: opts.inflightDedup?.subgraphFetches ?? true };
  const apolloGateway = new ApolloGateway({
    supergraphSdl: opts.supergraphSdl,
    // Through our logger, so the gateway's own lines are redacted like every other.
    logger: opts.logger,
    buildService: ({ name, url }) =>
      new SubgraphDataSource({
        name,
        url: opts.subgraphUrls[name as SubgraphName] ?? url ?? '',
        timeoutMs: opts.subgraphTimeoutMs ?? 10_000,
        signer: opts.auth.internalSigner,
        dedup: dedup.subgraphFetches,
      }),
  });
  // Identical concurrent queries of one principal run once (only authenticated principals; never mutations).
  const gateway = dedup.operations ? dedupOperations(apolloGateway) : apolloGateway;
  const development = opts.appEnv === 'development';
  // TLS, security headers, CORS, rate limits, body and time limits (gateway/transport); throws on an unusable certificate.
  const edge = createGatewayEdge({ appEnv: opts.appEnv, transport: opts.transport, rateLimits: opts.rateLimits, logger: opts.logger });
  // Query limits, cost and budgets, trusted documents, batching, introspection per environment, error hygiene (gateway/hardening).
  const hardening = createGatewayHardening<RequestContext>({ clientAddress: edge.clientIp, ...opts.hardening, appEnv: opts.appEnv });
  const cred = opts.credentials ?? {};
  const internal = createInternalClient({ signer: opts.auth.internalSigner, subgraphUrls: opts.subgraphUrls, timeoutMs: opts.subgraphTimeoutMs });
  // Still active? Identity for people and API clients, the device subgraph for devices; cached briefly.
  const status = createPrincipalStatusCheck({ source: cred.statusSource ?? platformStatusSource(internal), ttlMs: cred.statusCacheMs, now: cred.now });
  const apollo = new ApolloServer<RequestContext>({
    gateway,
    introspection: opts.appEnv !== 'production',
    includeStacktraceInErrorResponses: development,
    formatError: securityOff ? createFormatError(opts.appEnv) : hardening.formatError(createFormatError(opts.appEnv)),
    ...(securityOff ? {} : hardening.apolloConfig),
    csrfPrevention: true,
    logger: opts.logger,
    // index.ts owns the signals and drains in order; Apollo's own handler would stop twice and hang.
    stopOnTerminationSignals: false,
    plugins: [
      opts.appEnv === 'production' ? ApolloServerPluginLandingPageDisabled() : ApolloServerPluginLandingPageLocalDefault({ embed: true }),
      errorReportingPlugin(),
      // Malformed emails, phone numbers, countries, dates… refused before planning (lib/validation/gateway.ts).
      scalarValidationPlugin<RequestContext>(),
      // Refuses missing roles and scopes before any subgraph is called (defence in depth; subgraphs check again).
      ...(securityOff ? [] : [gatewayGuardPlugin<RequestContext>(), ...edge.plugins, ...hardening.plugins]),
      // An elevation approved or denied here counts from the requester's very next request (elevation-plugin.ts).
      ...(securityOff ? [] : [elevationDecisionPlugin<RequestContext>(status)]),
    ],
  });
  const audit = opts.audit ?? new MemoryAuditSink();
  const resolvePrincipal = securityOff ? () => SECURITY_OFF_PRINCIPAL : resolveGatewayPrincipal(opts.auth.verifier, { status, platformIssuer: opts.auth.issuer.issuer, keysVersion: () => opts.auth.platformKeys.version });
  const clientIp = cred.clientIp ?? ((req: IncomingMessage) => req.socket.remoteAddress ?? 'unknown');
  const issuerUrl = opts.auth.issuer.issuer.replace(/\/$/, '');
  const server = createGraphQLHttpServer({
    apollo,
    logger: opts.logger,
    ...(securityOff ? { maxBodyBytes: edge.server.maxBodyBytes } : edge.server),
    context: async (req) => {
      const context = await createRequestContext(req, { logger: opts.logger, audit, createLoaders: () => ({}), resolvePrincipal });
      if (securityOff) return context;
      // Per principal and per tenant, once the token is verified: 429 before any GraphQL work.
      await edge.afterAuthentication(req, context);
      return hardening.bindClient(req, context);
    },
    routes: {
      ...edge.routes,
      '/healthz': healthRoute(),
      '/.well-known/jwks.json': jwksRoute(() => opts.auth.platformKeys.jwks()),
      '/.well-known/internal-jwks.json': jwksRoute(() => opts.auth.internalKeys.jwks()),
      '/oauth/token': tokenRoute({ issuer: opts.auth.issuer, internal, audit, endpointUrl: `${issuerUrl}/oauth/token`, clientIp }),
      '/scim/v2/Users/*': scimProxyRoute({ internal, status, publicBaseUrl: `${issuerUrl}/scim/v2` }),
      ...(development ? { '/dev/token': devTokenRoute(opts.auth.issuer), '/auth/login': loginRoute({ issuer: opts.auth.issuer, internal, audit, clientIp }) } : {}),
      '/readyz': readinessRoute(Object.fromEntries(SUBGRAPH_NAMES.map((n) => [n, opts.subgraphUrls[n]]))),
    },
  });
  const lifecycle = apolloLifecycle(apollo, server);
  return {
    server,
    apollo,
    protocol: edge.protocol,
    rateLimits: edge.limits,
    listen: lifecycle.listen,
    async stop() {
      await lifecycle.stop();
      await edge.close();
    },
  };
}
