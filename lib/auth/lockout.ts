/**
 * Progressive lockout after failed credential checks (rate-limiter-flexible,
 * in memory): each key — an account, a client id with its IP, an IP — may
 * fail `maxFailures` times within `windowSeconds`; the failure that reaches
 * the limit locks the key for `baseSeconds`, and every further lockout of
 * the same key within a day doubles that, up to `maxSeconds`. A success
 * clears the account's failures (never the IP's).
 *
 * In memory means per process: behind several identity instances an
 * attacker gets the limit once per instance. The Redis store of the same
 * library drops in here when identity runs replicated.
 */
import { RateLimiterMemory } from 'rate-limiter-flexible';

export interface LockoutOptions {
  /** Failures of one key before it is locked. @default 5 */
  maxFailures?: number;
  /** Failures are forgotten this long after the first of them (seconds). @default 900 */
  windowSeconds?: number;
  /** The first lockout (seconds); doubles with each further one within a day. @default 60 */
  baseSeconds?: number;
  /** The longest lockout (seconds). @default 3600 */
  maxSeconds?: number;
}

export interface Lockout {
  /** Seconds until `key` may try again; 0 when it is not locked. */
  retryAfter(key: string): Promise<number>;
  /** Records a failure; resolves with the lockout it caused in seconds (0 when none). */
  fail(key: string): Promise<number>;
  /** Forgets the failures of `key` (its lockout history stays, so the next lockout still doubles). */
  clear(key: string): Promise<void>;
}

const DAY = 86_400;

export function createLockout(options: LockoutOptions = {}): Lockout {
  const maxFailures = options.maxFailures ?? 5;
  const base = options.baseSeconds ?? 60;
  const max = options.maxSeconds ?? 3600;
  const failures = new RateLimiterMemory({ points: maxFailures, duration: options.windowSeconds ?? 900 });
  const lockouts = new RateLimiterMemory({ points: Number.MAX_SAFE_INTEGER, duration: DAY });
  return {
    async retryAfter(key) {
      const res = await failures.get(key);
      // block() stores points + 1: consumed beyond the limit means locked.
      return res && res.consumedPoints > maxFailures && res.msBeforeNext > 0 ? Math.ceil(res.msBeforeNext / 1000) : 0;
    },
    async fail(key) {
      const res = await failures.penalty(key);
      if (res.consumedPoints < maxFailures) return 0;
      const nth = (await lockouts.penalty(key)).consumedPoints;
      const seconds = Math.min(base * 2 ** Math.min(nth - 1, 30), max);
      await failures.block(key, seconds);
      return seconds;
    },
    async clear(key) {
      await failures.delete(key);
    },
  };
}
