/**
 * The gateway's edge, everything between the socket and GraphQL: TLS 1.3,
 * security headers and HSTS, CORS, rate limits (ip before authentication;
 * principal and tenant after; publicTracking per trackShipment lookup),
 * CSRF-safe content types, body and time limits, security.txt.
 * gateway/server.ts spreads `server` into lib/http.ts's options, adds
 * `routes` and `plugins`, and calls `afterAuthentication` in its context
 * function. Routes with their own buckets (token endpoint, login) use
 * `limits.enforce(bucket, key)` with `clientIp(req)`.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import type { IncomingMessage } from 'node:http';
import type { TlsOptions } from 'node:tls';
import type { AppEnv } from '../../lib/config';
import type { RequestContext } from '../../lib/context';
import type { HttpMiddleware, RouteHandler } from '../../lib/http';
import type { Logger } from '../../lib/logger';
import { createGatewayRateLimiting, createRateLimits, defaultRateLimitSettings, type RateLimits, type RateLimitSettings } from '../../lib/ratelimit';
import {
  SECURITY_TXT_PATH,
  clientIp,
  cors,
  defaultTransportSettings,
  loadTls,
  refuseFormBodies,
  securityHeaders,
  securityTxtRoute,
  tlsServerOptions,
  type TransportSettings,
} from '../../lib/transport';

export interface GatewayEdgeOptions {
  appEnv: AppEnv;
  /** @default defaultTransportSettings(appEnv): plain HTTP, 1 MiB bodies, Sandbox origins in development */
  transport?: TransportSettings;
  /** @default defaultRateLimitSettings(appEnv): in memory, generous in development */
  rateLimits?: RateLimitSettings;
  logger: Logger;
}

export interface GatewayEdge {
  /** 'https' when a certificate is configured (TLS 1.3 only). */
  protocol: 'http' | 'https';
  limits: RateLimits;
  /** The client address key, aware of trusted proxies (for route-level buckets). */
  clientIp(req: IncomingMessage): string;
  /** Options for `createGraphQLHttpServer` (lib/http.ts). */
  server: {
    middleware: HttpMiddleware[];
    maxBodyBytes: number;
    tls?: TlsOptions;
    requestTimeoutMs: number;
    headersTimeoutMs: number;
  };
  /** Routes the edge serves itself (security.txt). */
  routes: Record<string, RouteHandler>;
  plugins: ApolloServerPlugin<RequestContext>[];
  /** Call in the context function once the principal is known; throws a 429 `RateLimitedError` when over a limit. */
  afterAuthentication(req: IncomingMessage, context: RequestContext): Promise<void>;
  /** Closes the rate limits' Redis connection. */
  close(): Promise<void>;
}

/**
 * Builds the edge. Throws `TlsSetupError` when the configured certificate
 * cannot be used (unreadable, key mismatch, expired; `TLS=dev` without
 * openssl), so the process refuses to start rather than serve plain HTTP.
 */
export function createGatewayEdge(opts: GatewayEdgeOptions): GatewayEdge {
  const transport = opts.transport ?? defaultTransportSettings(opts.appEnv);
  const tls = loadTls(transport.tls);
  const limits = createRateLimits({ settings: opts.rateLimits ?? defaultRateLimitSettings(opts.appEnv), logger: opts.logger });
  const ipOf = (req: IncomingMessage) => clientIp(req, transport.trustProxyHops);
  const rate = createGatewayRateLimiting<RequestContext>({ limits, clientIp: ipOf });
  const corsPolicy = cors(transport.corsOrigins);
  return {
    protocol: tls ? 'https' : 'http',
    limits,
    clientIp: ipOf,
    server: {
      // Order matters: headers first so every answer (429, 403, 415, 404 …) carries them; CORS before the
      // rate limit so a browser can read a 429; the preflight answer after the rate limit so preflights count.
      middleware: [
        securityHeaders({ sandboxLandingPage: opts.appEnv !== 'production', trustProxyHops: transport.trustProxyHops }),
        corsPolicy.headers,
        rate.ipLimit,
        corsPolicy.preflight,
        refuseFormBodies(['/graphql']),
      ],
      maxBodyBytes: transport.maxBodyBytes,
      ...(tls ? { tls: tlsServerOptions(tls) } : {}),
      requestTimeoutMs: transport.requestTimeoutMs,
      headersTimeoutMs: transport.headersTimeoutMs,
    },
    routes: { [SECURITY_TXT_PATH]: securityTxtRoute(transport.securityTxt) },
    plugins: [rate.plugin],
    afterAuthentication: (req, context) => rate.afterAuthentication(req, context),
    close: () => limits.close(),
  };
}
