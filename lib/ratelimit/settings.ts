/**
 * Rate-limit settings from the environment: one `RATE_LIMIT_<BUCKET>`
 * variable per bucket (`points/seconds[/blockSeconds]`), the Redis store
 * and the switch. Parsed by lib/config.ts; `RATE_LIMIT_VARS` feeds its
 * configuration table.
 */
import type { AppEnv } from '../config';

/** Every bucket the platform limits by, and what its key is. */
export const BUCKETS = {
  /** Per client IP, before authentication, on every request. */
  ip: 'RATE_LIMIT_IP',
  /** Per authenticated principal (token subject, API client id or device id). */
  principal: 'RATE_LIMIT_PRINCIPAL',
  /** Per tenant, summed over all its principals. */
  tenant: 'RATE_LIMIT_TENANT',
  /** Per client IP on the OAuth token endpoint. */
  tokenEndpoint: 'RATE_LIMIT_TOKEN_ENDPOINT',
  /** Per client IP on the login route. */
  login: 'RATE_LIMIT_LOGIN',
  /** Per account (normalised login name) on the login route, whatever the IP. */
  loginAccount: 'RATE_LIMIT_LOGIN_ACCOUNT',
  /** Per client IP for `trackShipment` lookups (tracking-number enumeration); one point per field. */
  publicTracking: 'RATE_LIMIT_PUBLIC_TRACKING',
} as const;

export type BucketName = keyof typeof BUCKETS;
export const BUCKET_NAMES = Object.keys(BUCKETS) as BucketName[];

export interface BucketLimit {
  /** Requests (points) allowed per window. */
  points: number;
  /** Window length in seconds (fixed window, starting at the first request). */
  durationSeconds: number;
  /** Once exhausted, refuse for this long instead of until the window ends (brute-force lockout). @default 0 */
  blockSeconds?: number;
}

export interface RateLimitSettings {
  /** Off only outside production (RATE_LIMIT_ENABLED=false). @default true */
  enabled: boolean;
  buckets: Record<BucketName, BucketLimit>;
  /** Share counters between gateway replicas through Redis; unset = in-memory per process. */
  redisUrl?: string;
  /** Prefix of every Redis key. @default 'tracksafe:rl' */
  keyPrefix: string;
}

/** Production and staging defaults; development multiplies points by `DEVELOPMENT_FACTOR`. */
const DEFAULTS: Record<BucketName, BucketLimit> = {
  ip: { points: 600, durationSeconds: 60 },
  principal: { points: 1200, durationSeconds: 60 },
  tenant: { points: 6000, durationSeconds: 60 },
  tokenEndpoint: { points: 30, durationSeconds: 60 },
  login: { points: 20, durationSeconds: 900, blockSeconds: 900 },
  loginAccount: { points: 5, durationSeconds: 900, blockSeconds: 900 },
  publicTracking: { points: 30, durationSeconds: 60 },
};

/** Development (and the test suite) runs thousands of requests from 127.0.0.1. */
const DEVELOPMENT_FACTOR = 100;

const fmt = (b: BucketLimit): string => `${b.points}/${b.durationSeconds}${b.blockSeconds ? `/${b.blockSeconds}` : ''}`;

const BUCKET_MEANING: Record<BucketName, string> = {
  ip: 'per client IP, every request, before authentication',
  principal: 'per token subject / API client / device, after authentication',
  tenant: 'per tenant, all its principals together',
  tokenEndpoint: 'per client IP on the OAuth token endpoint',
  login: 'per client IP on the login route (locks out for blockSeconds)',
  loginAccount: 'per account on the login route, whatever the IP (locks out for blockSeconds)',
  publicTracking: 'per client IP, one point per trackShipment field (tracking-number enumeration)',
};

/** Rows for the configuration table in lib/config.ts and the README. */
export const RATE_LIMIT_VARS: Array<{ name: string; default: string; meaning: string }> = [
  { name: 'RATE_LIMIT_ENABLED', default: 'true', meaning: 'rate limits on the gateway; false is refused in production' },
  ...BUCKET_NAMES.map((b) => ({
    name: BUCKETS[b],
    default: `${fmt(DEFAULTS[b])} (points × ${DEVELOPMENT_FACTOR} in development)`,
    meaning: `points/seconds[/blockSeconds] for the ${b} bucket: ${BUCKET_MEANING[b]}`,
  })),
  { name: 'REDIS_URL', default: '(unset)', meaning: 'redis:// URL: rate-limit counters shared by all gateway replicas (memory fallback while Redis is down); unset: in-memory per process' },
  { name: 'RATE_LIMIT_REDIS_PREFIX', default: 'tracksafe:rl', meaning: 'prefix of the rate-limit keys in Redis' },
];

export function defaultRateLimitSettings(appEnv: AppEnv): RateLimitSettings {
  const factor = appEnv === 'development' ? DEVELOPMENT_FACTOR : 1;
  const buckets = Object.fromEntries(BUCKET_NAMES.map((b) => [b, { ...DEFAULTS[b], points: DEFAULTS[b].points * factor }])) as Record<BucketName, BucketLimit>;
  return { enabled: true, buckets, keyPrefix: 'tracksafe:rl' };
}

const LIMIT = /^(\d{1,9})\/(\d{1,7})(?:\/(\d{1,7}))?$/;

/**
 * Reads the rate-limit variables. Never throws: problems are returned for
 * lib/config.ts to report together with the others.
 */
export function rateLimitSettingsFrom(env: NodeJS.ProcessEnv, appEnv: AppEnv): { settings: RateLimitSettings; problems: string[] } {
  const problems: string[] = [];
  const settings = defaultRateLimitSettings(appEnv);
  for (const b of BUCKET_NAMES) {
    const name = BUCKETS[b];
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const m = LIMIT.exec(raw.trim());
    const [points, durationSeconds, blockSeconds] = m ? [Number(m[1]), Number(m[2]), m[3] === undefined ? 0 : Number(m[3])] : [0, 0, 0];
    if (!m || points < 1 || durationSeconds < 1) {
      problems.push(`${name} must be points/seconds[/blockSeconds] with points and seconds ≥ 1, got "${raw}"`);
      continue;
    }
    settings.buckets[b] = { points, durationSeconds, ...(blockSeconds ? { blockSeconds } : {}) };
  }
  const enabled = env.RATE_LIMIT_ENABLED;
  if (enabled !== undefined && enabled !== '') {
    if (!['true', 'false', '1', '0'].includes(enabled)) problems.push(`RATE_LIMIT_ENABLED must be true or false, got "${enabled}"`);
    settings.enabled = enabled === 'true' || enabled === '1';
    if (!settings.enabled && appEnv === 'production') problems.push('RATE_LIMIT_ENABLED=false is refused in production');
  }
  if (env.REDIS_URL) {
    try {
      const u = new URL(env.REDIS_URL);
      if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new Error();
      settings.redisUrl = env.REDIS_URL;
    } catch {
      // Never echo the value: a Redis URL may carry a password.
      problems.push('REDIS_URL must be a redis:// or rediss:// URL');
    }
  }
  if (env.RATE_LIMIT_REDIS_PREFIX) settings.keyPrefix = env.RATE_LIMIT_REDIS_PREFIX;
  return { settings, problems };
}
