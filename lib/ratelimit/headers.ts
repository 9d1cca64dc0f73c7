/**
 * How a rate-limit decision is written on the wire: IETF
 * draft-ietf-httpapi-ratelimit-headers (`RateLimit-Policy: "ip";q=100;w=60`,
 * `RateLimit: "ip";r=0;t=12`), `Retry-After` on a refusal, and the error
 * body `{ errors: [{ message, extensions: { code: 'RATE_LIMITED', bucket } }] }`.
 */
import type { OutgoingMessage } from 'node:http';
import { HttpError } from '../http';
import type { BucketName } from './settings';

/** The outcome of consuming points from one bucket. */
export interface RateLimitDecision {
  bucket: BucketName;
  allowed: boolean;
  /** Points per window (the policy's quota). */
  limit: number;
  /** Window length in seconds. */
  windowSeconds: number;
  /** Points left in the current window. */
  remaining: number;
  /** Seconds until the window resets (or the block ends); at least 1 on a refusal. */
  resetSeconds: number;
}

export const RATE_LIMITED = 'RATE_LIMITED';

export function policyItem(d: RateLimitDecision): string {
  return `"${d.bucket}";q=${d.limit};w=${d.windowSeconds}`;
}

export function limitItem(d: RateLimitDecision): string {
  return `"${d.bucket}";r=${d.remaining};t=${d.resetSeconds}`;
}

/** The headers for one decision (a refusal adds `Retry-After`). */
export function rateLimitHeaders(d: RateLimitDecision): Record<string, string> {
  return {
    'ratelimit-policy': policyItem(d),
    ratelimit: limitItem(d),
    ...(d.allowed ? {} : { 'retry-after': String(Math.max(1, d.resetSeconds)) }),
  };
}

/**
 * Adds a decision to a response's RateLimit headers. Several buckets apply
 * to one request (ip, principal, tenant …): the draft's headers are lists,
 * so each adds its item instead of replacing the others.
 */
export function appendRateLimitHeaders(res: OutgoingMessage, d: RateLimitDecision): void {
  for (const [name, value] of Object.entries(rateLimitHeaders(d))) {
    const prev = res.getHeader(name);
    res.setHeader(name, prev === undefined || name === 'retry-after' ? value : `${String(prev)}, ${value}`);
  }
}

/**
 * A refused request: 429 with the headers above. Thrown from a route or the
 * request pipeline; lib/http.ts answers it like any `HttpError`.
 */
export class RateLimitedError extends HttpError {
  static readonly code = RATE_LIMITED;
  constructor(readonly decision: RateLimitDecision) {
    super(429, RATE_LIMITED, 'Too many requests; retry later', rateLimitHeaders(decision), { bucket: decision.bucket });
  }
}

/** The GraphQL-shaped body of a refusal, for paths that answer without `HttpError` (the Apollo plugin). */
export function refusalBody(d: RateLimitDecision): { errors: Array<{ message: string; extensions: { code: string; bucket: BucketName } }> } {
  return { errors: [{ message: 'Too many requests; retry later', extensions: { code: RATE_LIMITED, bucket: d.bucket } }] };
}
