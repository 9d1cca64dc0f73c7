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
import { SUBGRAPH_NAMES, type SubgraphName } from '../schema';
import { errorReportingPlugin } from '../lib/apollo-plugins';
import { MemoryAuditSink, type AuditSink } from '../lib/audit';
import type { AppEnv } from '../lib/config';
import type { GatewayAuth } from '../lib/auth/runtime';
import { createRequestContext, type RequestContext } from '../lib/context';
import { createFormatError } from '../lib/errors';
import { createGraphQLHttpServer, listen } from '../lib/http';
import type { Logger } from '../lib/logger';
import { gatewayGuardPlugin } from '../lib/policy';
import { SubgraphDataSource } from './datasource';
import { devTokenRoute, jwksRoute } from './auth-routes';
import { healthRoute, readinessRoute } from './health';
import { resolveGatewayPrincipal } from './principal';

export interface GatewayOptions {
  appEnv: AppEnv;
  supergraphSdl: string;
  /** Where each subgraph is reached; overrides the URLs in the supergraph. */
  subgraphUrls: Record<SubgraphName, string>;
  /** Abort a subgraph fetch after this long. @default 10000 */
  subgraphTimeoutMs?: number;
  logger: Logger;
  /** @default an in-memory sink */
  audit?: AuditSink;
  /** Keys, token issuer and verifier, internal hop signer. */
  auth: GatewayAuth;
}

export interface GatewayServer {
  server: Server;
  apollo: ApolloServer<RequestContext>;
  listen(port: number, host?: string): Promise<number>;
  /** Stops taking requests, lets in-flight ones finish, then stops. */
  stop(): Promise<void>;
}

export async function createGateway(opts: GatewayOptions): Promise<GatewayServer> {
  const gateway = new ApolloGateway({
    supergraphSdl: opts.supergraphSdl,
    buildService: ({ name, url }) =>
      new SubgraphDataSource({ name, url: opts.subgraphUrls[name as SubgraphName] ?? url ?? '', timeoutMs: opts.subgraphTimeoutMs ?? 10_000, signer: opts.auth.internalSigner }),
  });
  const development = opts.appEnv === 'development';
  const apollo = new ApolloServer<RequestContext>({
    gateway,
    introspection: opts.appEnv !== 'production',
    includeStacktraceInErrorResponses: development,
    formatError: createFormatError(opts.appEnv),
    csrfPrevention: true,
    logger: opts.logger,
    // index.ts owns the signals and drains in order; Apollo's own handler would stop twice and hang.
    stopOnTerminationSignals: false,
    plugins: [
      opts.appEnv === 'production' ? ApolloServerPluginLandingPageDisabled() : ApolloServerPluginLandingPageLocalDefault({ embed: true }),
      errorReportingPlugin(),
      // Refuses missing roles and scopes before any subgraph is called (defence in depth; subgraphs check again).
      gatewayGuardPlugin(),
    ],
  });
  const audit = opts.audit ?? new MemoryAuditSink();
  const resolvePrincipal = resolveGatewayPrincipal(opts.auth.verifier);
  const server = createGraphQLHttpServer({
    apollo,
    logger: opts.logger,
    context: async (req) => createRequestContext(req, { logger: opts.logger, audit, createLoaders: () => ({}), resolvePrincipal }),
    routes: {
      '/healthz': healthRoute(),
      '/.well-known/jwks.json': jwksRoute(() => opts.auth.platformKeys.jwks()),
      '/.well-known/internal-jwks.json': jwksRoute(() => opts.auth.internalKeys.jwks()),
      ...(development ? { '/dev/token': devTokenRoute(opts.auth.issuer) } : {}),
      '/readyz': readinessRoute(Object.fromEntries(SUBGRAPH_NAMES.map((n) => [n, opts.subgraphUrls[n]]))),
    },
  });
  let started = false;
  return {
    server,
    apollo,
    async listen(port, host = '127.0.0.1') {
      if (!started) {
        await apollo.start();
        started = true;
      }
      return listen(server, port, host);
    },
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      if (started) await apollo.stop();
    },
  };
}
