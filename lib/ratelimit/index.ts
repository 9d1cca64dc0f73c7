/**
 * Rate limits (rate-limiter-flexible): named buckets, memory or Redis store
 * with a memory insurance limiter, IETF RateLimit headers, 429 refusals,
 * counters for metrics. See README.md for the buckets and variables.
 */
export { createRateLimits, type RateLimits, type RateLimitOptions, type BucketMetrics } from './limits';
export { createGatewayRateLimiting, countRootFields, type GatewayRateLimiting, type GatewayRateLimitingOptions } from './gateway';
export { RateLimitedError, RATE_LIMITED, appendRateLimitHeaders, rateLimitHeaders, refusalBody, type RateLimitDecision } from './headers';
export { BUCKETS, BUCKET_NAMES, RATE_LIMIT_VARS, defaultRateLimitSettings, rateLimitSettingsFrom, type BucketLimit, type BucketName, type RateLimitSettings } from './settings';
