/**
 * Security headers on every response (GraphQL, health, errors, 404s): helmet
 * with a CSP for a JSON API (nothing may load, nothing may frame us), a CSP
 * the Apollo Sandbox landing page can run under where that page is served,
 * and HSTS on HTTPS requests only (browsers ignore it over HTTP, and a
 * development server on http://localhost must not pin itself to HTTPS).
 */
import helmet from 'helmet';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpMiddleware } from '../http';
import { isSecureRequest } from './client-ip';

/** One year (the HSTS preload minimum), subdomains included. */
export const HSTS_VALUE = 'max-age=31536000; includeSubDomains';

/** Nothing to load, nothing may frame the response: an API serves data, not pages. */
const API_CSP = { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] };

const APOLLO_CDN = ['https://apollo-server-landing-page.cdn.apollographql.com', 'https://embeddable-sandbox.cdn.apollographql.com', 'https://embeddable-explorer.cdn.apollographql.com'];

/**
 * What Apollo's landing page loads (its own <meta> CSP narrows scripts and
 * styles further with a nonce; a header CSP cannot know that nonce, hence
 * 'unsafe-inline' here).
 */
const SANDBOX_CSP = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'", "'unsafe-inline'", ...APOLLO_CDN],
  styleSrc: ["'self'", "'unsafe-inline'", 'https://fonts.googleapis.com', ...APOLLO_CDN],
  fontSrc: ["'self'", 'https://fonts.gstatic.com', 'data:'],
  imgSrc: ["'self'", 'data:', 'https://apollo-server-landing-page.cdn.apollographql.com'],
  manifestSrc: ['https://apollo-server-landing-page.cdn.apollographql.com'],
  frameSrc: ['https://sandbox.embed.apollographql.com', 'https://explorer.embed.apollographql.com'],
  connectSrc: ["'self'", 'https://*.apollographql.com'],
  frameAncestors: ["'none'"],
  objectSrc: ["'none'"],
  baseUri: ["'self'"],
  formAction: ["'self'"],
};

export interface SecurityHeadersOptions {
  /** Serve the Sandbox CSP on browser GETs of `graphqlPath` (the landing page). @default false */
  sandboxLandingPage?: boolean;
  /** @default '/graphql' */
  graphqlPath?: string;
  /** Reverse proxies whose X-Forwarded-Proto is trusted for HSTS. @default 0 */
  trustProxyHops?: number;
}

type Helmet = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

function run(h: Helmet, req: IncomingMessage, res: ServerResponse): Promise<void> {
  return new Promise((resolve, reject) => h(req, res, (err) => (err ? reject(err) : resolve())));
}

/** Sets the headers and lets the request go on; never answers. */
export function securityHeaders(opts: SecurityHeadersOptions = {}): HttpMiddleware {
  const common = { strictTransportSecurity: false, referrerPolicy: { policy: 'no-referrer' as const }, xFrameOptions: { action: 'deny' as const } };
  const api: Helmet = helmet({ ...common, contentSecurityPolicy: { useDefaults: false, directives: API_CSP } });
  const sandbox: Helmet = helmet({ ...common, contentSecurityPolicy: { useDefaults: false, directives: SANDBOX_CSP } });
  const graphqlPath = opts.graphqlPath ?? '/graphql';
  return async (req, res, url) => {
    const landing = opts.sandboxLandingPage === true && req.method === 'GET' && url.pathname === graphqlPath && String(req.headers.accept ?? '').includes('text/html');
    await run(landing ? sandbox : api, req, res);
    if (isSecureRequest(req, opts.trustProxyHops)) res.setHeader('strict-transport-security', HSTS_VALUE);
    return false;
  };
}
