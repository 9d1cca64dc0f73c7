/**
 * The cost budget per client per minute: exhaustion (429, QUOTA_EXCEEDED,
 * Retry-After) and recovery on a frozen clock; one budget per principal
 * within its tenant, per IP for anonymous callers; the same budget kept in
 * any rate-limiter-flexible limiter.
 */
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { MemoryCostBudget, RateLimiterCostBudget, budgetKey } from '../../lib/limits';
import { codes, person, startHardenedGateway, type HardenedGateway } from './kit';

/** Costs 21: shipments 1 + 10 × (edge 1 + node 1). */
const Q21 = '{ shipments(first: 10) { edges { node { id } } } }';
/** Costs 51 and is public: trackShipment 1 + 50 events. */
const PUBLIC51 = '{ trackShipment(trackingNumber: "TS000000XX", token: "t") { events { status } } }';

const alice = person(['DISPATCHER'], ['shipments:read'], { id: 'alice', tenantId: 'tenant-a' });
const bob = person(['DISPATCHER'], ['shipments:read'], { id: 'bob', tenantId: 'tenant-a' });
const aliceElsewhere = person(['DISPATCHER'], ['shipments:read'], { id: 'alice', tenantId: 'tenant-b' });

describe('MemoryCostBudget', () => {
  test('spends within the window, refuses what does not fit without charging it, resets after a minute', async () => {
    let now = 1_000_000;
    const b = new MemoryCostBudget({ budget: 100, now: () => now });
    expect(await b.spend('k', 60)).toMatchObject({ allowed: true, remaining: 40, resetMs: 60_000 });
    now += 10_000;
    expect(await b.spend('k', 50)).toMatchObject({ allowed: false, remaining: 40, resetMs: 50_000 });
    expect(await b.spend('k', 40)).toMatchObject({ allowed: true, remaining: 0 });
    now += 50_000;
    expect(await b.spend('k', 100)).toMatchObject({ allowed: true, remaining: 0, resetMs: 60_000 });
  });

  test('forgets the oldest keys beyond maxKeys', async () => {
    const b = new MemoryCostBudget({ budget: 10, now: () => 0, maxKeys: 2 });
    await b.spend('a', 10);
    await b.spend('b', 10);
    await b.spend('c', 10);
    expect((await b.spend('a', 10)).allowed).toBe(true);
  });
});

describe('RateLimiterCostBudget over rate-limiter-flexible', () => {
  test('the limiter points are the budget; a refused spend is charged back', async () => {
    const b = new RateLimiterCostBudget(new RateLimiterMemory({ points: 100, duration: 60 }));
    expect(b.budget).toBe(100);
    expect(await b.spend('k', 70)).toMatchObject({ allowed: true, remaining: 30 });
    const refused = await b.spend('k', 50);
    expect(refused).toMatchObject({ allowed: false, remaining: 30 });
    expect(refused.resetMs).toBeGreaterThan(55_000);
    expect(await b.spend('k', 30)).toMatchObject({ allowed: true, remaining: 0 });
    expect(await b.spend('k', 500)).toMatchObject({ allowed: false });
  });

  test('keys: principal within its tenant, system by id, anonymous by IP', () => {
    expect(budgetKey(alice as { kind: 'user'; id: string; tenantId: string })).toBe('p:tenant-a:alice');
    expect(budgetKey({ kind: 'anonymous', ip: '203.0.113.9' })).toBe('ip:203.0.113.9');
    expect(budgetKey({ kind: 'system', id: 'seeder' })).toBe('s:seeder');
  });
});

describe('at the gateway, on a frozen clock', () => {
  let now = Date.UTC(2030, 0, 1);
  let g: HardenedGateway;

  beforeAll(async () => {
    g = await startHardenedGateway('production', {
      hardening: {
        limits: { costBudgetPerMinute: 100 },
        now: () => now,
        // Tests speak from one address: a header stands in for the client's IP.
        clientAddress: (req) => String(req.headers['x-test-ip'] ?? 'unknown'),
      },
    });
  });

  afterAll(async () => {
    await g?.stop();
  });

  test('a client that spent its budget gets 429 QUOTA_EXCEEDED with Retry-After, then recovers after the window', async () => {
    for (let i = 0; i < 4; i++) expect(codes(await g.gql(Q21, { as: alice }))).toEqual(['INTERNAL_SERVER_ERROR']); // admitted: 84 spent
    now += 15_000;
    const refused = await g.gql(Q21, { as: alice });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('45');
    expect(codes(refused)).toEqual(['QUOTA_EXCEEDED']);
    expect(refused.errors![0].extensions).toMatchObject({ cost: 21, budget: 100, remaining: 16, retryAfterSeconds: 45 });
    expect(refused.data ?? undefined).toBeUndefined();

    // Still refused a second before the window ends; admitted right after.
    now += 44_000;
    expect((await g.gql(Q21, { as: alice })).status).toBe(429);
    now += 1_000;
    expect(codes(await g.gql(Q21, { as: alice }))).toEqual(['INTERNAL_SERVER_ERROR']);
  });

  test('budgets are per principal within its tenant', async () => {
    now += 60_000;
    for (let i = 0; i < 4; i++) await g.gql(Q21, { as: alice });
    expect(codes(await g.gql(Q21, { as: alice }))).toEqual(['QUOTA_EXCEEDED']);
    expect(codes(await g.gql(Q21, { as: bob }))).toEqual(['INTERNAL_SERVER_ERROR']);
    expect(codes(await g.gql(Q21, { as: aliceElsewhere }))).toEqual(['INTERNAL_SERVER_ERROR']);
  });

  test('anonymous callers have one budget per IP', async () => {
    now += 60_000;
    const from = (ip: string) => g.gql(PUBLIC51, { headers: { 'x-test-ip': ip } });
    expect(codes(await from('198.51.100.1'))).toEqual(['INTERNAL_SERVER_ERROR']);
    const second = await from('198.51.100.1');
    expect(codes(second)).toEqual(['QUOTA_EXCEEDED']);
    expect(second.status).toBe(429);
    expect(codes(await from('198.51.100.2'))).toEqual(['INTERNAL_SERVER_ERROR']);
  });

  test('an operation refused for its cost spends nothing', async () => {
    now += 60_000;
    const tooDear = await g.gql('{ shipments(first: 100) { edges { node { events(first: 100) { edges { node { status } } } } } } }', { as: bob });
    expect(codes(tooDear)).toEqual(['COST_LIMIT_EXCEEDED']);
    for (let i = 0; i < 4; i++) expect(codes(await g.gql(Q21, { as: bob }))).toEqual(['INTERNAL_SERVER_ERROR']);
  });
});

test('the gateway takes a rate-limiter-flexible limiter as the budget store (e.g. Redis later)', async () => {
  const g = await startHardenedGateway('production', { hardening: { budget: new RateLimiterMemory({ points: 50, duration: 60, keyPrefix: 'cost' }) } });
  try {
    const carol = person(['DISPATCHER'], ['shipments:read'], { id: 'carol', tenantId: 'tenant-c' });
    expect(codes(await g.gql(Q21, { as: carol }))).toEqual(['INTERNAL_SERVER_ERROR']);
    expect(codes(await g.gql(Q21, { as: carol }))).toEqual(['INTERNAL_SERVER_ERROR']);
    const refused = await g.gql(Q21, { as: carol });
    expect(codes(refused)).toEqual(['QUOTA_EXCEEDED']);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(50);
  } finally {
    await g.stop();
  }
});
