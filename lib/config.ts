/**
 * Process configuration from the environment, validated once at start-up.
 * Every variable, its default and meaning is listed in the README's
 * configuration table; `CONFIG_VARS` below is that table's source.
 */
import { SUBGRAPH_NAMES, type SubgraphName } from '../schema';
import type { ExternalIssuer } from './auth/verify-token';
import { isRegion } from './context';
import { RATE_LIMIT_VARS, rateLimitSettingsFrom, type RateLimitSettings } from './ratelimit/settings';
import { TRANSPORT_VARS, transportSettingsFrom, type TransportSettings } from './transport/settings';
import { HARDENING_VARS, hardeningSettingsFrom, type HardeningSettings } from './limits/settings';
import { CRYPTO_CONFIG_VARS, loadCryptoConfig, type CryptoConfig } from './crypto/config';

export type AppEnv = 'development' | 'staging' | 'production';

export interface SubgraphEndpoint {
  port: number;
  url: string;
}

export interface Config {
  appEnv: AppEnv;
  /** Interface the HTTP servers bind. */
  host: string;
  gatewayPort: number;
  subgraphs: Record<SubgraphName, SubgraphEndpoint>;
  /** A real MongoDB; unset = `npm start` runs the embedded devdb. */
  mongodbUri?: string;
  mongodbDb: string;
  /** Git-ignored folder for devdb data and generated dev keys. */
  dataDir: string;
  devdbPort: number;
  logLevel: string;
  /** Per-request timeout of gateway → subgraph fetches. */
  subgraphTimeoutMs: number;
  /** Seed demo data into an empty database at start-up. */
  seed: boolean;
  /** `iss` of the platform's access tokens (the gateway's public URL). */
  platformIssuer: string;
  /** Folder with signing keys (`<env>/platform.json`, `<env>/internal.json`). */
  keysDir: string;
  /** External OIDC issuers trusted per tenant (SSO). */
  trustedIssuers: ExternalIssuer[];
  /** Where a subgraph running on its own fetches the gateway's internal public keys. */
  internalJwksUrl: string;
  /** The platform operator's own tenant (its admins may create tenants). */
  operatorTenantId?: string;
  /** How recent an admin's MFA must be for admin mutations (seconds). */
  stepUpWindowSeconds: number;
  /** How long the gateway trusts identity's answer that a principal is still active (ms; 0 = ask on every request). */
  principalStatusCacheMs: number;
  /**
   * In-flight deduplication per principal at the gateway (gateway/inflight.ts):
   * identical concurrent query operations share one execution (`operations`),
   * identical concurrent subgraph query fetches one request (`subgraphFetches`).
   */
  inflightDedup: { operations: boolean; subgraphFetches: boolean };
  /** How long an API client's previous secret keeps working after a rotation (seconds). */
  clientSecretOverlapSeconds: number;
  /** Progressive lockout after failed logins and client authentications. */
  lockout: { maxFailures: number; maxFailuresPerIp: number; baseSeconds: number; maxSeconds: number };
  /** Gateway rate limits: buckets, store (REDIS_URL), switch (lib/ratelimit/settings.ts). */
  rateLimits: RateLimitSettings;
  /** Gateway transport: TLS, CORS, body and time limits, proxies, security.txt (lib/transport/settings.ts). */
  transport: TransportSettings;
  /** Gateway API hardening: query limits, cost budget, trusted documents, sensitive fields (lib/limits/settings.ts). */
  hardening: HardeningSettings;
  /** Field encryption: master key provider, data key cache, rotation schedule (lib/crypto/config.ts). */
  crypto: CryptoConfig;
}

/** The configuration table: name, default, meaning. */
export const CONFIG_VARS: Array<{ name: string; default: string; meaning: string }> = [
  { name: 'APP_ENV', default: 'development', meaning: 'development, staging or production: error detail, introspection, landing page' },
  { name: 'HOST', default: '127.0.0.1', meaning: 'interface the gateway and subgraphs bind (0.0.0.0 in containers)' },
  { name: 'GATEWAY_PORT', default: '4000', meaning: 'gateway HTTP port (GraphQL at /graphql, health at /healthz and /readyz)' },
  { name: 'SHIPMENT_PORT / DEVICE_PORT / IDENTITY_PORT / PRIVACY_PORT', default: '4001 / 4002 / 4003 / 4004', meaning: 'subgraph HTTP ports' },
  { name: 'SHIPMENT_URL / DEVICE_URL / IDENTITY_URL / PRIVACY_URL', default: 'http://127.0.0.1:<port>/graphql', meaning: 'where the gateway reaches each subgraph' },
  { name: 'MONGODB_URI', default: '(unset)', meaning: 'MongoDB connection string; unset: `npm start` runs the embedded devdb, a standalone service refuses to start' },
  { name: 'MONGODB_DB', default: 'tracksafe', meaning: 'database name' },
  { name: 'DATA_DIR', default: '.data', meaning: 'git-ignored folder for devdb data and generated development keys' },
  { name: 'DEVDB_PORT', default: '27027', meaning: 'port of the embedded devdb started by `npm start`' },
  { name: 'LOG_LEVEL', default: 'info', meaning: 'pino log level (trace … fatal, silent)' },
  { name: 'SUBGRAPH_TIMEOUT_MS', default: '10000', meaning: 'gateway → subgraph request timeout' },
  { name: 'SEED', default: 'true in development', meaning: 'seed demo tenants, users, devices and shipments into an empty database' },
  { name: 'PLATFORM_ISSUER', default: 'http://127.0.0.1:<GATEWAY_PORT>', meaning: '`iss` of the access tokens the platform issues (its public URL)' },
  { name: 'KEYS_DIR', default: '<DATA_DIR>/keys', meaning: 'signing keys per environment; generated there in development, required in staging and production' },
  { name: 'TRUSTED_ISSUERS', default: '[]', meaning: 'JSON list of tenant SSO issuers: { issuer, jwksUri, tenantId, audience, algorithms?, rolesClaim?, dataRegions? }' },
  { name: 'PLATFORM_OPERATOR_TENANT_ID', default: '(unset)', meaning: "the operator's own tenant: its SECURITY_ADMINs may create tenants (the demo sets Northwind in development)" },
  { name: 'STEP_UP_WINDOW_SECONDS', default: '900', meaning: 'admin mutations need an MFA login at most this old (STEP_UP_REQUIRED otherwise)' },
  { name: 'PRINCIPAL_STATUS_CACHE_MS', default: '5000', meaning: 'how long the gateway caches "this user / API client is still active" (0-60000; SCIM changes through the gateway invalidate at once)' },
  { name: 'INFLIGHT_DEDUP', default: 'on', meaning: "in-flight deduplication per principal at the gateway (gateway/inflight.ts): on — identical concurrent queries of the same authenticated principal (same grants and login; never across users, tenants or scopes, never anonymous, never mutations) run once, and identical concurrent subgraph query fetches share one request; subgraph — only the latter; off — neither. A request that joins another has passed every gateway check itself; the subgraphs see the first request's x-request-id" },
  { name: 'CLIENT_SECRET_OVERLAP_HOURS', default: '24', meaning: "how long an API client's previous secret keeps working after a rotation (0-720)" },
  { name: 'LOCKOUT_MAX_FAILURES', default: '5', meaning: 'failed logins per account (or client authentications per client id and IP) before a lockout' },
  { name: 'LOCKOUT_MAX_FAILURES_PER_IP', default: '20', meaning: 'failed logins or client authentications per IP before a lockout' },
  { name: 'LOCKOUT_BASE_SECONDS', default: '60', meaning: 'first lockout; each further lockout within a day doubles it' },
  { name: 'LOCKOUT_MAX_SECONDS', default: '3600', meaning: 'longest lockout' },
  { name: 'INTERNAL_JWKS_URL', default: 'http://127.0.0.1:<GATEWAY_PORT>/.well-known/internal-jwks.json', meaning: "where a standalone subgraph fetches the gateway's internal token keys" },
  ...RATE_LIMIT_VARS,
  ...TRANSPORT_VARS,
  ...HARDENING_VARS,
  ...CRYPTO_CONFIG_VARS,
];

function cryptoSettings(env: NodeJS.ProcessEnv, appEnv: AppEnv, keysDir: string, problems: string[]): CryptoConfig {
  try {
    return loadCryptoConfig(env, { appEnv, keysDir });
  } catch (err) {
    problems.push(...(err as Error).message.split('\n  - ').slice(1));
    return undefined as never;
  }
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

const DEFAULT_PORTS: Record<SubgraphName, number> = { shipment: 4001, device: 4002, identity: 4003, privacy: 4004 };

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const port = (name: string, fallback: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0 || n > 65535) problems.push(`${name} must be a TCP port (0-65535), got "${raw}"`);
    return n;
  };
  const appEnv = (env.APP_ENV ?? 'development') as AppEnv;
  if (!['development', 'staging', 'production'].includes(appEnv)) problems.push(`APP_ENV must be development, staging or production, got "${env.APP_ENV}"`);
  const host = env.HOST || '127.0.0.1';
  const subgraphs = {} as Record<SubgraphName, SubgraphEndpoint>;
  for (const name of SUBGRAPH_NAMES) {
    const upper = name.toUpperCase();
    const p = port(`${upper}_PORT`, DEFAULT_PORTS[name]);
    const url = env[`${upper}_URL`] || `http://127.0.0.1:${p}/graphql`;
    try {
      const u = new URL(url);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error();
    } catch {
      problems.push(`${upper}_URL must be an http(s) URL, got "${url}"`);
    }
    subgraphs[name] = { port: p, url };
  }
  const timeout = Number(env.SUBGRAPH_TIMEOUT_MS ?? 10_000);
  if (!Number.isInteger(timeout) || timeout <= 0) problems.push(`SUBGRAPH_TIMEOUT_MS must be a positive integer, got "${env.SUBGRAPH_TIMEOUT_MS}"`);
  const seedRaw = env.SEED;
  if (seedRaw !== undefined && !['true', 'false', '1', '0'].includes(seedRaw)) problems.push(`SEED must be true or false, got "${seedRaw}"`);
  let trustedIssuers: ExternalIssuer[] = [];
  try {
    const parsed: unknown = JSON.parse(env.TRUSTED_ISSUERS || '[]');
    if (!Array.isArray(parsed)) throw new Error('not a list');
    for (const e of parsed as ExternalIssuer[]) {
      if (!e || typeof e.issuer !== 'string' || typeof e.jwksUri !== 'string' || typeof e.tenantId !== 'string' || typeof e.audience !== 'string') throw new Error('each needs issuer, jwksUri, tenantId, audience');
      if (!e.jwksUri.startsWith('https://') && appEnv === 'production') throw new Error(`jwksUri must be https in production: ${e.jwksUri}`);
      if (e.dataRegions !== undefined && (!Array.isArray(e.dataRegions) || !e.dataRegions.every(isRegion))) throw new Error(`dataRegions must be a list of EU, US, APAC: ${e.issuer}`);
    }
    trustedIssuers = parsed as ExternalIssuer[];
  } catch (err) {
    problems.push(`TRUSTED_ISSUERS must be a JSON list of issuers (${(err as Error).message})`);
  }
  const gatewayPort = port('GATEWAY_PORT', 4000);
  const stepUp = Number(env.STEP_UP_WINDOW_SECONDS ?? 900);
  if (!Number.isInteger(stepUp) || stepUp <= 0 || stepUp > 86_400) problems.push(`STEP_UP_WINDOW_SECONDS must be 1-86400, got "${env.STEP_UP_WINDOW_SECONDS}"`);
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) problems.push(`${name} must be an integer ${min}-${max}, got "${raw}"`);
    return n;
  };
  const dedup = env.INFLIGHT_DEDUP || 'on';
  if (!['on', 'subgraph', 'off'].includes(dedup)) problems.push(`INFLIGHT_DEDUP must be on, subgraph or off, got "${env.INFLIGHT_DEDUP}"`);
  const dataDir = env.DATA_DIR || '.data';
  const rateLimits = rateLimitSettingsFrom(env, appEnv);
  const transport = transportSettingsFrom(env, appEnv, { dataDir, publicUrl: env.PLATFORM_ISSUER || `http://127.0.0.1:${gatewayPort}` });
  problems.push(...rateLimits.problems, ...transport.problems);
  const config: Config = {
    appEnv,
    host,
    gatewayPort,
    subgraphs,
    mongodbUri: env.MONGODB_URI || undefined,
    mongodbDb: env.MONGODB_DB || 'tracksafe',
    dataDir,
    devdbPort: port('DEVDB_PORT', 27027),
    logLevel: env.LOG_LEVEL || 'info',
    subgraphTimeoutMs: timeout,
    seed: seedRaw === undefined ? appEnv === 'development' : seedRaw === 'true' || seedRaw === '1',
    platformIssuer: env.PLATFORM_ISSUER || `http://127.0.0.1:${gatewayPort}`,
    keysDir: env.KEYS_DIR || `${dataDir}/keys`,
    trustedIssuers,
    internalJwksUrl: env.INTERNAL_JWKS_URL || `http://127.0.0.1:${gatewayPort}/.well-known/internal-jwks.json`,
    operatorTenantId: env.PLATFORM_OPERATOR_TENANT_ID || undefined,
    stepUpWindowSeconds: stepUp,
    principalStatusCacheMs: int('PRINCIPAL_STATUS_CACHE_MS', 5000, 0, 60_000),
    inflightDedup: dedup === 'off' ? { operations: false, subgraphFetches: false } : { operations: dedup === 'on', subgraphFetches: true },
    clientSecretOverlapSeconds: int('CLIENT_SECRET_OVERLAP_HOURS', 24, 0, 720) * 3600,
    lockout: {
      maxFailures: int('LOCKOUT_MAX_FAILURES', 5, 1, 1000),
      maxFailuresPerIp: int('LOCKOUT_MAX_FAILURES_PER_IP', 20, 1, 100_000),
      baseSeconds: int('LOCKOUT_BASE_SECONDS', 60, 1, 86_400),
      maxSeconds: int('LOCKOUT_MAX_SECONDS', 3600, 1, 7 * 86_400),
    },
    rateLimits: rateLimits.settings,
    transport: transport.settings,
    hardening: hardeningSettingsFrom(env, appEnv, problems),
    crypto: cryptoSettings(env, appEnv, env.KEYS_DIR || `${dataDir}/keys`, problems),
  };
  // Demo data has published credentials (e.g. derivable tracking tokens): development only.
  if (config.seed && appEnv !== 'development') problems.push('SEED=true is allowed only with APP_ENV=development');
  if (problems.length) throw new ConfigError(problems);
  return config;
}
