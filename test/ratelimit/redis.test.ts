/**
 * The Redis store against a real redis-server (started here on a free port,
 * killed after): two gateway replicas share their counters; a flood stays
 * in memory once a key is over its limit; a lockout reaches every replica;
 * when Redis dies the memory insurance limiter keeps limiting.
 */
import { Redis } from 'ioredis';
import { createRateLimits, defaultRateLimitSettings, type RateLimits, type RateLimitSettings } from '../../lib/ratelimit';
import { redisServerBinary, startRedisServer, type RedisServer } from './redis-server';

const binary = redisServerBinary();
const MISSING = 'redis-server is not installed (apt-get install -y redis-server)';
if (!binary && process.env.TRACKSAFE_REQUIRE_REDIS) {
  // CI installs it (.ci/run): there, a missing binary is a failure, not a skip.
  test('redis-server is installed', () => {
    throw new Error(MISSING);
  });
} else if (!binary) {
  console.warn(`Skipping the Redis rate-limit tests: ${MISSING}.`);
}
const describeRedis = binary ? describe : describe.skip;

function settings(url: string, prefix: string, buckets: Partial<RateLimitSettings['buckets']>): RateLimitSettings {
  const s = defaultRateLimitSettings('production');
  return { ...s, redisUrl: url, keyPrefix: prefix, buckets: { ...s.buckets, ...buckets } };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeRedis('rate limits in Redis', () => {
  let server: RedisServer;
  let admin: Redis;
  const open: RateLimits[] = [];
  let prefixes = 0;

  /** Two replicas of the gateway: separate limiters and connections, one Redis. */
  async function replicas(buckets: Partial<RateLimitSettings['buckets']>, count = 2): Promise<{ prefix: string; gateways: RateLimits[] }> {
    const prefix = `test${++prefixes}`;
    const gateways = Array.from({ length: count }, () => createRateLimits({ settings: settings(server.url, prefix, buckets) }));
    open.push(...gateways);
    // Connected first, so these requests go to Redis and not to the insurance limiter.
    expect(await Promise.all(gateways.map((g) => g.ready()))).toEqual(gateways.map(() => true));
    return { prefix, gateways };
  }

  beforeAll(async () => {
    server = await startRedisServer(binary!);
    admin = new Redis(server.url, { disconnectTimeout: 100 });
  });

  afterAll(async () => {
    await Promise.all(open.map((g) => g.close()));
    admin?.disconnect();
    await server?.kill();
  });

  test('two gateway replicas share one allowance per key', async () => {
    const { gateways: [a, b] } = await replicas({ ip: { points: 5, durationSeconds: 60 } });
    const order = [a, b, a, b, a];
    for (const g of order) expect((await g.consume('ip', '203.0.113.9')).allowed).toBe(true);
    expect(await b.consume('ip', '203.0.113.9')).toMatchObject({ allowed: false, remaining: 0 });
    expect((await a.consume('ip', '203.0.113.9')).allowed).toBe(false);
    expect(a.store).toBe('redis');
    expect(a.metrics().ip.fallbacks + b.metrics().ip.fallbacks).toBe(0);
  });

  test('exhausted, a key is refused until its window ends, then recovers (a 1-second window)', async () => {
    const { gateways: [a, b] } = await replicas({ principal: { points: 2, durationSeconds: 1 } });
    await a.consume('principal', 'p');
    await b.consume('principal', 'p');
    const refused = await a.consume('principal', 'p');
    expect(refused).toMatchObject({ allowed: false, resetSeconds: 1 });
    await sleep(1100);
    expect(await b.consume('principal', 'p')).toMatchObject({ allowed: true, remaining: 1 });
  });

  test('once a key is over its limit, the replica refuses it from memory: a flood does not reach Redis', async () => {
    const { prefix, gateways: [a] } = await replicas({ ip: { points: 3, durationSeconds: 60 } });
    for (let i = 0; i < 4; i++) await a.consume('ip', 'flood');
    const key = `${prefix}:ip:flood`;
    expect(await admin.get(key)).toBe('4');
    for (let i = 0; i < 50; i++) expect((await a.consume('ip', 'flood')).allowed).toBe(false);
    expect(await admin.get(key)).toBe('4');
    expect(a.metrics().ip).toEqual({ consumed: 3, refused: 51, fallbacks: 0 });
  });

  test('a login lockout on one replica holds on the other', async () => {
    const { gateways: [a, b] } = await replicas({ loginAccount: { points: 2, durationSeconds: 60, blockSeconds: 300 } });
    await a.consume('loginAccount', 'ada');
    await a.consume('loginAccount', 'ada');
    expect(await a.consume('loginAccount', 'ada')).toMatchObject({ allowed: false, resetSeconds: 300 });
    const onB = await b.consume('loginAccount', 'ada');
    expect(onB.allowed).toBe(false);
    expect(onB.resetSeconds).toBeGreaterThan(290);
  });

  test('when Redis dies, the memory insurance limiter keeps limiting each replica', async () => {
    const { gateways: [a] } = await replicas({ tenant: { points: 3, durationSeconds: 60 } });
    expect((await a.consume('tenant', 't1')).allowed).toBe(true);
    expect(a.metrics().tenant.fallbacks).toBe(0);

    await server.kill();
    await sleep(50);

    // The memory limiter starts its own count: 3 more pass, the 4th is refused — no outage, no free-for-all.
    const during = [];
    for (let i = 0; i < 4; i++) during.push((await a.consume('tenant', 't1')).allowed);
    expect(during).toEqual([true, true, true, false]);
    expect(a.metrics().tenant.fallbacks).toBe(4);
    expect(a.metrics().tenant.refused).toBe(1);
  });
});
