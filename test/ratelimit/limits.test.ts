/**
 * The rate limits in memory, with a frozen clock: points per window,
 * refusal and recovery, lockouts, headers and counters; the settings read
 * from the environment; how public-tracking lookups are counted.
 */
import { parse, type OperationDefinitionNode } from 'graphql';
import { HttpError } from '../../lib/http';
import { countRootFields, createRateLimits, defaultRateLimitSettings, rateLimitSettingsFrom, RateLimitedError, type RateLimitSettings } from '../../lib/ratelimit';

function settings(overrides: Partial<RateLimitSettings['buckets']> = {}): RateLimitSettings {
  const s = defaultRateLimitSettings('production');
  return { ...s, buckets: { ...s.buckets, ...overrides } };
}

describe('memory store, frozen clock', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: new Date('2030-01-01T00:00:00Z') });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  test('a key gets `points` requests per window, then is refused until the window ends, then recovers', async () => {
    const limits = createRateLimits({ settings: settings({ ip: { points: 3, durationSeconds: 60 } }) });
    const seen = [];
    for (let i = 0; i < 3; i++) seen.push(await limits.consume('ip', '203.0.113.7'));
    expect(seen.map((d) => [d.allowed, d.remaining])).toEqual([
      [true, 2],
      [true, 1],
      [true, 0],
    ]);
    jest.advanceTimersByTime(20_000);
    const refused = await limits.consume('ip', '203.0.113.7');
    expect(refused).toEqual({ bucket: 'ip', allowed: false, limit: 3, windowSeconds: 60, remaining: 0, resetSeconds: 40 });
    // Another client is not affected.
    expect((await limits.consume('ip', '203.0.113.8')).allowed).toBe(true);
    jest.advanceTimersByTime(40_001);
    expect(await limits.consume('ip', '203.0.113.7')).toMatchObject({ allowed: true, remaining: 2, resetSeconds: 60 });
  });

  test('a request may cost several points', async () => {
    const limits = createRateLimits({ settings: settings({ publicTracking: { points: 10, durationSeconds: 60 } }) });
    expect(await limits.consume('publicTracking', 'k', 7)).toMatchObject({ allowed: true, remaining: 3 });
    expect(await limits.consume('publicTracking', 'k', 4)).toMatchObject({ allowed: false, remaining: 0 });
    expect(await limits.consume('publicTracking', 'other', 10)).toMatchObject({ allowed: true, remaining: 0 });
  });

  test('a bucket with blockSeconds locks the key out for that long, longer than its window', async () => {
    const limits = createRateLimits({ settings: settings({ loginAccount: { points: 2, durationSeconds: 60, blockSeconds: 600 } }) });
    await limits.consume('loginAccount', 'ada@example.com');
    await limits.consume('loginAccount', 'ada@example.com');
    expect(await limits.consume('loginAccount', 'ada@example.com')).toMatchObject({ allowed: false, resetSeconds: 600 });
    jest.advanceTimersByTime(120_000);
    expect(await limits.consume('loginAccount', 'ada@example.com')).toMatchObject({ allowed: false, resetSeconds: 480 });
    jest.advanceTimersByTime(480_001);
    expect((await limits.consume('loginAccount', 'ada@example.com')).allowed).toBe(true);
  });

  test('reset forgets a key (the per-account login count after a successful login)', async () => {
    const limits = createRateLimits({ settings: settings({ loginAccount: { points: 1, durationSeconds: 900 } }) });
    await limits.consume('loginAccount', 'ada');
    expect((await limits.consume('loginAccount', 'ada')).allowed).toBe(false);
    await limits.reset('loginAccount', 'ada');
    expect((await limits.consume('loginAccount', 'ada')).allowed).toBe(true);
  });

  test('enforce throws a 429 RateLimitedError carrying Retry-After and the IETF RateLimit headers', async () => {
    const limits = createRateLimits({ settings: settings({ tokenEndpoint: { points: 1, durationSeconds: 60 } }) });
    await expect(limits.enforce('tokenEndpoint', '198.51.100.1')).resolves.toMatchObject({ allowed: true });
    jest.advanceTimersByTime(48_000);
    const err = await limits.enforce('tokenEndpoint', '198.51.100.1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitedError);
    expect(err).toBeInstanceOf(HttpError);
    const e = err as RateLimitedError;
    expect([e.status, e.code, e.extensions]).toEqual([429, 'RATE_LIMITED', { bucket: 'tokenEndpoint' }]);
    expect(e.headers).toEqual({ 'retry-after': '12', 'ratelimit-policy': '"tokenEndpoint";q=1;w=60', ratelimit: '"tokenEndpoint";r=0;t=12' });
  });

  test('counters per bucket say how many requests passed and how many were refused', async () => {
    const limits = createRateLimits({ settings: settings({ tenant: { points: 2, durationSeconds: 60 } }) });
    for (let i = 0; i < 5; i++) await limits.consume('tenant', 't1');
    await limits.consume('principal', 'p1');
    const m = limits.metrics();
    expect(m.tenant).toEqual({ consumed: 2, refused: 3, fallbacks: 0 });
    expect(m.principal).toEqual({ consumed: 1, refused: 0, fallbacks: 0 });
    expect(m.ip).toEqual({ consumed: 0, refused: 0, fallbacks: 0 });
    expect(limits.store).toBe('memory');
  });

  test('switched off (outside production), every request passes and nothing is counted', async () => {
    const limits = createRateLimits({ settings: { ...settings({ ip: { points: 1, durationSeconds: 60 } }), enabled: false } });
    for (let i = 0; i < 5; i++) expect((await limits.consume('ip', 'x')).allowed).toBe(true);
    expect(limits.metrics().ip).toEqual({ consumed: 0, refused: 0, fallbacks: 0 });
  });
});

describe('settings from the environment', () => {
  test('production defaults are strict, development multiplies points by 100', () => {
    const prod = rateLimitSettingsFrom({}, 'production').settings;
    const dev = rateLimitSettingsFrom({}, 'development').settings;
    expect(prod.buckets.ip).toEqual({ points: 600, durationSeconds: 60 });
    expect(prod.buckets.loginAccount).toEqual({ points: 5, durationSeconds: 900, blockSeconds: 900 });
    expect(dev.buckets.ip.points).toBe(60_000);
    expect(prod.redisUrl).toBeUndefined();
    expect(prod.enabled).toBe(true);
  });

  test('RATE_LIMIT_<BUCKET> is points/seconds[/blockSeconds]; REDIS_URL picks the Redis store', () => {
    const { settings: s, problems } = rateLimitSettingsFrom(
      { RATE_LIMIT_IP: '100/60', RATE_LIMIT_LOGIN: '5/300/900', REDIS_URL: 'redis://cache:6379/0', RATE_LIMIT_REDIS_PREFIX: 'ts' },
      'staging',
    );
    expect(problems).toEqual([]);
    expect(s.buckets.ip).toEqual({ points: 100, durationSeconds: 60 });
    expect(s.buckets.login).toEqual({ points: 5, durationSeconds: 300, blockSeconds: 900 });
    expect([s.redisUrl, s.keyPrefix]).toEqual(['redis://cache:6379/0', 'ts']);
  });

  test('malformed values are reported, a password in REDIS_URL is never echoed, and production refuses RATE_LIMIT_ENABLED=false', () => {
    const { problems } = rateLimitSettingsFrom({ RATE_LIMIT_IP: '100', RATE_LIMIT_TENANT: '0/60', REDIS_URL: 'http://user:s3cret@x', RATE_LIMIT_ENABLED: 'false' }, 'production');
    expect(problems).toHaveLength(4);
    expect(problems.join('\n')).not.toContain('s3cret');
    expect(problems).toContain('RATE_LIMIT_ENABLED=false is refused in production');
    expect(rateLimitSettingsFrom({ RATE_LIMIT_ENABLED: 'false' }, 'development').problems).toEqual([]);
  });
});

describe('public tracking lookups are counted per trackShipment root field', () => {
  const count = (q: string) => {
    const doc = parse(q);
    return countRootFields(doc.definitions.find((d) => d.kind === 'OperationDefinition') as OperationDefinitionNode, doc, ['trackShipment']);
  };

  test('each alias is a lookup, also through fragments; other fields and mutations are not', () => {
    expect(count('{ trackShipment(trackingNumber: "a", token: "t") { status } }')).toBe(1);
    expect(count('{ a: trackShipment(trackingNumber: "a", token: "t") { status } b: trackShipment(trackingNumber: "b", token: "t") { status } me { id } }')).toBe(2);
    expect(count('query { ...F ... on Query { c: trackShipment(trackingNumber: "c", token: "t") { status } } } fragment F on Query { d: trackShipment(trackingNumber: "d", token: "t") { status } }')).toBe(2);
    expect(count('{ shipments { totalCount } }')).toBe(0);
    expect(count('mutation { trackShipment }')).toBe(0);
  });
});
