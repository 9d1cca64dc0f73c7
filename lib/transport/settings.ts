/**
 * Transport settings from the environment: TLS, CORS allow-list, body and
 * time limits, proxies, security.txt. Parsed by lib/config.ts;
 * `TRANSPORT_VARS` feeds its configuration table.
 */
import path from 'node:path';
import type { AppEnv } from '../config';

export type TlsSettings =
  /** Plain HTTP (development, or TLS terminated by a proxy in front). */
  | { mode: 'off' }
  /** HTTPS with this certificate chain and key (PEM files). */
  | { mode: 'files'; certFile: string; keyFile: string }
  /** HTTPS with a self-signed certificate generated (with openssl) into `dir`; development only. */
  | { mode: 'dev'; dir: string };

export interface SecurityTxtSettings {
  /** `Contact:` URIs (mailto: or https:), in order of preference. */
  contact: string[];
  /** `Expires:` (ISO 8601). */
  expires: string;
  /** `Preferred-Languages:` (comma-separated language tags). */
  preferredLanguages: string;
  /** `Canonical:` URL of this file. */
  canonical: string;
  /** `Policy:` URL of the disclosure policy, if any. */
  policy?: string;
}

export interface TransportSettings {
  tls: TlsSettings;
  /** Origins allowed to call from a browser; `['*']` = any (refused in production). */
  corsOrigins: string[];
  /** Largest accepted request body. @default 1 MiB */
  maxBodyBytes: number;
  /** Time to receive a whole request (Node's `server.requestTimeout`). @default 30000 */
  requestTimeoutMs: number;
  /** Time to receive the request headers (`server.headersTimeout`). @default 10000 */
  headersTimeoutMs: number;
  /** Reverse proxies in front of the gateway whose X-Forwarded-For / -Proto are trusted. @default 0 */
  trustProxyHops: number;
  securityTxt: SecurityTxtSettings;
}

/** Origins the Apollo Sandbox (embedded landing page, Studio) calls from. */
export const APOLLO_SANDBOX_ORIGINS = ['https://sandbox.embed.apollographql.com', 'https://studio.apollographql.com'];

const DAY_MS = 86_400_000;

/** security.txt should expire within a year (RFC 9116 §2.5.5): 180 days from start, at midnight UTC. */
function defaultExpires(now = Date.now()): string {
  return new Date(Math.floor((now + 180 * DAY_MS) / DAY_MS) * DAY_MS).toISOString().replace('.000Z', 'Z');
}

export const TRANSPORT_VARS: Array<{ name: string; default: string; meaning: string }> = [
  { name: 'TLS', default: 'off', meaning: 'dev: HTTPS with a self-signed certificate generated with openssl into <DATA_DIR>/tls (development only); off: plain HTTP unless TLS_CERT_FILE/TLS_KEY_FILE are set' },
  { name: 'TLS_CERT_FILE / TLS_KEY_FILE', default: '(unset)', meaning: 'PEM certificate chain and private key: the gateway serves HTTPS, TLS 1.3 only, with HSTS' },
  { name: 'CORS_ORIGINS', default: 'the Apollo Sandbox origins in development, none otherwise', meaning: 'comma-separated origins allowed to call from a browser (scheme://host[:port]); * = any, refused in production' },
  { name: 'MAX_BODY_BYTES', default: '1048576', meaning: 'largest accepted request body (413 beyond)' },
  { name: 'REQUEST_TIMEOUT_MS', default: '30000', meaning: 'time a client has to send a whole request' },
  { name: 'HEADERS_TIMEOUT_MS', default: '10000', meaning: 'time a client has to send the request headers (≤ REQUEST_TIMEOUT_MS)' },
  { name: 'TRUST_PROXY_HOPS', default: '0', meaning: 'reverse proxies in front of the gateway: client IP from X-Forwarded-For (that many from the right), HTTPS from X-Forwarded-Proto' },
  { name: 'SECURITY_CONTACT', default: 'mailto:security@tracksafe.example', meaning: 'comma-separated Contact URIs of /.well-known/security.txt (mailto: or https:)' },
  { name: 'SECURITY_TXT_EXPIRES', default: '180 days after start', meaning: 'Expires of security.txt (ISO 8601 date-time)' },
  { name: 'SECURITY_TXT_LANGUAGES', default: 'en', meaning: 'Preferred-Languages of security.txt' },
  { name: 'SECURITY_TXT_CANONICAL', default: '<PLATFORM_ISSUER>/.well-known/security.txt', meaning: 'Canonical URL of security.txt' },
  { name: 'SECURITY_POLICY_URL', default: '(unset)', meaning: 'Policy URL of security.txt (the disclosure policy)' },
];

export function defaultTransportSettings(appEnv: AppEnv, opts: { dataDir?: string; publicUrl?: string } = {}): TransportSettings {
  return {
    tls: { mode: 'off' },
    corsOrigins: appEnv === 'development' ? [...APOLLO_SANDBOX_ORIGINS] : [],
    maxBodyBytes: 1024 * 1024,
    requestTimeoutMs: 30_000,
    headersTimeoutMs: 10_000,
    trustProxyHops: 0,
    securityTxt: {
      contact: ['mailto:security@tracksafe.example'],
      expires: defaultExpires(),
      preferredLanguages: 'en',
      canonical: `${(opts.publicUrl ?? 'http://127.0.0.1:4000').replace(/\/$/, '')}/.well-known/security.txt`,
    },
  };
}

function origin(value: string, appEnv: AppEnv): string {
  const u = new URL(value);
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('not http(s)');
  if (u.origin !== value.replace(/\/$/, '')) throw new Error('an origin has no path, query or credentials');
  if (appEnv === 'production' && u.protocol !== 'https:') throw new Error('production origins must be https');
  return u.origin;
}

/**
 * Reads the transport variables. Never throws: problems are returned for
 * lib/config.ts to report together with the others.
 */
export function transportSettingsFrom(env: NodeJS.ProcessEnv, appEnv: AppEnv, opts: { dataDir: string; publicUrl: string }): { settings: TransportSettings; problems: string[] } {
  const problems: string[] = [];
  const s = defaultTransportSettings(appEnv, opts);
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return n;
  };

  const certFile = env.TLS_CERT_FILE || undefined;
  const keyFile = env.TLS_KEY_FILE || undefined;
  const tls = env.TLS || 'off';
  if (!['off', 'dev'].includes(tls)) problems.push(`TLS must be off or dev, got "${tls}"`);
  if (Boolean(certFile) !== Boolean(keyFile)) problems.push('TLS_CERT_FILE and TLS_KEY_FILE must be set together');
  else if (certFile && keyFile) {
    if (tls === 'dev') problems.push('TLS=dev and TLS_CERT_FILE/TLS_KEY_FILE exclude each other');
    s.tls = { mode: 'files', certFile, keyFile };
  } else if (tls === 'dev') {
    if (appEnv !== 'development') problems.push('TLS=dev (a self-signed certificate) is allowed only with APP_ENV=development');
    s.tls = { mode: 'dev', dir: path.join(opts.dataDir, 'tls') };
  }

  if (env.CORS_ORIGINS !== undefined) {
    const list = env.CORS_ORIGINS.split(',').map((o) => o.trim()).filter(Boolean);
    const origins: string[] = [];
    for (const o of list) {
      if (o === '*') {
        if (appEnv === 'production') problems.push('CORS_ORIGINS=* (any origin) is refused in production: list the origins');
        origins.push('*');
        continue;
      }
      try {
        origins.push(origin(o, appEnv));
      } catch (err) {
        problems.push(`CORS_ORIGINS: "${o}" is not an allowed origin (${(err as Error).message})`);
      }
    }
    s.corsOrigins = origins;
  }

  s.maxBodyBytes = int('MAX_BODY_BYTES', s.maxBodyBytes, 1024, 64 * 1024 * 1024);
  s.requestTimeoutMs = int('REQUEST_TIMEOUT_MS', s.requestTimeoutMs, 1000, 600_000);
  s.headersTimeoutMs = int('HEADERS_TIMEOUT_MS', s.headersTimeoutMs, 1000, 600_000);
  if (s.headersTimeoutMs > s.requestTimeoutMs) problems.push(`HEADERS_TIMEOUT_MS (${s.headersTimeoutMs}) must not exceed REQUEST_TIMEOUT_MS (${s.requestTimeoutMs})`);
  s.trustProxyHops = int('TRUST_PROXY_HOPS', 0, 0, 10);

  const txt = s.securityTxt;
  if (env.SECURITY_CONTACT) {
    txt.contact = env.SECURITY_CONTACT.split(',').map((c) => c.trim()).filter(Boolean);
    for (const c of txt.contact) if (!/^(mailto:[^@\s]+@[^@\s]+|https:\/\/\S+|tel:\+?[0-9-]+)$/.test(c)) problems.push(`SECURITY_CONTACT: "${c}" must be a mailto:, https: or tel: URI`);
  }
  if (env.SECURITY_TXT_EXPIRES) {
    const t = Date.parse(env.SECURITY_TXT_EXPIRES);
    if (Number.isNaN(t)) problems.push(`SECURITY_TXT_EXPIRES must be an ISO 8601 date-time, got "${env.SECURITY_TXT_EXPIRES}"`);
    else txt.expires = new Date(t).toISOString().replace('.000Z', 'Z');
  }
  if (env.SECURITY_TXT_LANGUAGES) txt.preferredLanguages = env.SECURITY_TXT_LANGUAGES;
  for (const [name, key] of [['SECURITY_TXT_CANONICAL', 'canonical'], ['SECURITY_POLICY_URL', 'policy']] as const) {
    const raw = env[name];
    if (!raw) continue;
    try {
      const u = new URL(raw);
      if (u.protocol !== 'https:' && !(appEnv !== 'production' && u.protocol === 'http:')) throw new Error();
      txt[key] = u.href;
    } catch {
      problems.push(`${name} must be an https URL, got "${raw}"`);
    }
  }
  return { settings: s, problems };
}
