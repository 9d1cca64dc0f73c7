/**
 * The platform's rate limits: one rate-limiter-flexible limiter per named
 * bucket, in memory by default or in Redis (shared by all gateway replicas)
 * with a memory insurance limiter that takes over while Redis is down.
 * Counters per bucket (consumed, refused, fallbacks) for metrics.
 */
import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Logger } from '../logger';
import { RateLimitedError, type RateLimitDecision } from './headers';
import { BUCKET_NAMES, type BucketLimit, type BucketName, type RateLimitSettings } from './settings';

export interface RateLimitOptions {
  /** Limits per bucket, store and switch (lib/config.ts reads them from the environment). */
  settings: RateLimitSettings;
  /**
   * The Redis client to use instead of connecting to `settings.redisUrl`
   * (tests, or a client shared with other features). Not closed by `close()`.
   */
  redis?: Redis;
  /** Where Redis failures are reported (once per outage, not per request). @default silent */
  logger?: Pick<Logger, 'warn' | 'info'>;
}

export interface BucketMetrics {
  /** Requests let through. */
  consumed: number;
  /** Requests refused with 429. */
  refused: number;
  /** Decisions taken by the memory insurance limiter because Redis failed. */
  fallbacks: number;
}

export interface RateLimits {
  readonly enabled: boolean;
  /** 'memory' or 'redis'. */
  readonly store: 'memory' | 'redis';
  /** The configured limit of a bucket. */
  policy(bucket: BucketName): BucketLimit;
  /**
   * Takes `points` (default 1) from `key`'s allowance in `bucket` and says
   * whether the request may go on. Never throws for a refusal; rejects only
   * when the store fails and no insurance limiter answers (not the case
   * for the stores built here).
   */
  consume(bucket: BucketName, key: string, points?: number): Promise<RateLimitDecision>;
  /** Like `consume`, but throws `RateLimitedError` (429, headers, RATE_LIMITED) when refused. */
  enforce(bucket: BucketName, key: string, points?: number): Promise<RateLimitDecision>;
  /** Forgets `key`'s count in `bucket` (e.g. the per-account login count after a successful login). */
  reset(bucket: BucketName, key: string): Promise<void>;
  /**
   * A limiter of its own on the same store (Redis with the memory insurance
   * limiter, or memory), keys under `<prefix>:<name>`: for other budgets
   * such as the per-client cost quota (lib/limits/quota.ts). Not counted in
   * `metrics()`; `name` must not be a bucket name.
   */
  limiter(name: string, limit: BucketLimit): RateLimiterAbstract;
  /** Counters since start, per bucket (a copy). */
  metrics(): Record<BucketName, BucketMetrics>;
  /**
   * Resolves true once the store can take requests (at once for memory;
   * for Redis when connected), false after `timeoutMs`: requests are
   * limited either way (in memory until Redis is there).
   */
  ready(timeoutMs?: number): Promise<boolean>;
  /** Closes the Redis connection this created (not one passed in). */
  close(): Promise<void>;
}

/** A memory limiter that counts how often it stands in for Redis. */
class InsuranceLimiter extends RateLimiterMemory {
  constructor(
    opts: ConstructorParameters<typeof RateLimiterMemory>[0],
    private readonly onUse: () => void,
  ) {
    super(opts);
  }
  override consume(key: string | number, points?: number, options?: { [key: string]: any }): Promise<RateLimiterRes> {
    this.onUse();
    return super.consume(key, points, options);
  }
}

function limiterOptions(name: string, limit: BucketLimit, prefix: string) {
  return { keyPrefix: `${prefix}:${name}`, points: limit.points, duration: limit.durationSeconds, blockDuration: limit.blockSeconds ?? 0 };
}

/**
 * Builds the limiters. With `settings.redisUrl` (or `redis`) the counters
 * live in Redis; each Redis limiter has:
 * - `insuranceLimiter`: a memory limiter with the same limits, used per
 *   request whenever Redis errors or is not connected, so limiting goes on
 *   (per process) during an outage;
 * - `inMemoryBlockOnConsumed`: once a key is over its limit, it is refused
 *   from memory until the window ends, so a flood never reaches Redis.
 */
export function createRateLimits(options: RateLimitOptions): RateLimits {
  const { settings } = options;
  const logger = options.logger;
  const counters = Object.fromEntries(BUCKET_NAMES.map((b) => [b, { consumed: 0, refused: 0, fallbacks: 0 }])) as Record<BucketName, BucketMetrics>;
  let ownClient: Redis | undefined;
  let client = options.redis;
  if (!client && settings.redisUrl) {
    // No offline queue and rejectIfRedisNotReady: while Redis is away every call fails at once and the insurance limiter answers.
    ownClient = client = new Redis(settings.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000, disconnectTimeout: 200 });
  }
  if (client) {
    let down = false;
    client.on('error', (err: Error) => {
      if (down) return;
      down = true;
      logger?.warn({ err: err.message }, 'rate limits: Redis unavailable, limiting from memory per process');
    });
    client.on('ready', () => {
      if (down) logger?.info({}, 'rate limits: Redis back');
      down = false;
    });
  }
  const build = (name: string, limit: BucketLimit, onFallback: () => void): RateLimiterAbstract => {
    const base = limiterOptions(name, limit, settings.keyPrefix);
    return client
      ? new RateLimiterRedis({
          ...base,
          storeClient: client,
          rejectIfRedisNotReady: true,
          inMemoryBlockOnConsumed: limit.points + 1,
          // With a lockout, Redis must record the block too (so every replica sees it): block in memory for as long.
          ...(limit.blockSeconds ? { inMemoryBlockDuration: limit.blockSeconds } : {}),
          insuranceLimiter: new InsuranceLimiter(base, onFallback),
        })
      : new RateLimiterMemory(base);
  };
  const limiters = Object.fromEntries(BUCKET_NAMES.map((b) => [b, build(b, settings.buckets[b], () => counters[b].fallbacks++)])) as Record<BucketName, RateLimiterAbstract>;

  const decision = (bucket: BucketName, allowed: boolean, res: RateLimiterRes): RateLimitDecision => {
    const limit = settings.buckets[bucket];
    const ms = Math.max(0, res.msBeforeNext);
    return {
      bucket,
      allowed,
      limit: limit.points,
      windowSeconds: limit.durationSeconds,
      remaining: allowed ? Math.max(0, res.remainingPoints) : 0,
      resetSeconds: allowed ? Math.ceil(ms / 1000) : Math.max(1, Math.ceil(ms / 1000)),
    };
  };

  const consume = async (bucket: BucketName, key: string, points = 1): Promise<RateLimitDecision> => {
    const limit = settings.buckets[bucket];
    if (!settings.enabled) return { bucket, allowed: true, limit: limit.points, windowSeconds: limit.durationSeconds, remaining: limit.points, resetSeconds: limit.durationSeconds };
    try {
      const res = await limiters[bucket].consume(key, points);
      counters[bucket].consumed++;
      return decision(bucket, true, res);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      counters[bucket].refused++;
      return decision(bucket, false, err);
    }
  };

  return {
    enabled: settings.enabled,
    store: client ? 'redis' : 'memory',
    policy: (bucket) => ({ ...settings.buckets[bucket] }),
    consume,
    async enforce(bucket, key, points) {
      const d = await consume(bucket, key, points);
      if (!d.allowed) throw new RateLimitedError(d);
      return d;
    },
    async reset(bucket, key) {
      await limiters[bucket].delete(key).catch(() => undefined);
    },
    limiter(name, limit) {
      if ((BUCKET_NAMES as string[]).includes(name)) throw new Error(`"${name}" is a bucket of the rate limits; pick another name`);
      return build(name, limit, () => undefined);
    },
    metrics: () => Object.fromEntries(BUCKET_NAMES.map((b) => [b, { ...counters[b] }])) as Record<BucketName, BucketMetrics>,
    async ready(timeoutMs = 2000) {
      if (!client || client.status === 'ready') return true;
      const c = client;
      return new Promise<boolean>((resolve) => {
        const done = (ok: boolean) => {
          clearTimeout(timer);
          c.off('ready', onReady);
          resolve(ok);
        };
        const onReady = () => done(true);
        const timer = setTimeout(() => done(false), timeoutMs);
        c.on('ready', onReady);
      });
    },
    async close() {
      if (!ownClient) return;
      // A clean QUIT only when connected; otherwise stop reconnecting at once.
      if (ownClient.status === 'ready' && (await ownClient.quit().then(() => true, () => false))) return;
      ownClient.disconnect();
    },
  };
}
