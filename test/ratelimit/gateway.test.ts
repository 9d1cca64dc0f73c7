/**
 * Rate limits at the gateway over real HTTP, in production mode (refusals
 * must survive error masking): per IP before authentication, per principal
 * and per tenant after, per IP for public tracking lookups; 429 with
 * Retry-After and the IETF RateLimit headers; counters. Then the whole
 * stack: real trackShipment lookups until the bucket is empty.
 */
import { codes, startStack, tenantA, tenantB, userOf, plan, type Stack } from '../kit/stack';
import { post, startEdgeGateway, type EdgeGateway } from '../transport/gateway-kit';

const TYPENAME = { query: '{ __typename }' };
const track = (n: number) => ({ query: `{ ${Array.from({ length: n }, (_, i) => `t${i}: trackShipment(trackingNumber: "TS${i}", token: "x") { status }`).join(' ')} }` });

describe('the ip bucket: every request, before authentication', () => {
  let g: EdgeGateway;
  beforeAll(async () => {
    g = await startEdgeGateway('production', { RATE_LIMIT_IP: '3/60' });
  });
  afterAll(() => g.stop());

  test('3 requests pass with RateLimit headers; the 4th gets 429 RATE_LIMITED with Retry-After, on any route', async () => {
    const ok = [await post(g.base, TYPENAME), await fetch(`${g.base}/healthz`), await post(g.base, TYPENAME, { authorization: 'Bearer not-even-verified' })];
    expect(ok.map((r) => r.status)).toEqual([200, 200, 401]);
    expect(ok[0].headers.get('ratelimit-policy')).toBe('"ip";q=3;w=60');
    expect(ok[0].headers.get('ratelimit')).toMatch(/^"ip";r=2;t=(60|59)$/);

    const refused = await post(g.base, TYPENAME);
    expect(refused.status).toBe(429);
    expect(refused.json).toEqual({ errors: [{ message: 'Too many requests; retry later', extensions: { code: 'RATE_LIMITED', bucket: 'ip' } }] });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(59);
    expect(refused.headers.get('ratelimit-policy')).toBe('"ip";q=3;w=60');
    expect(refused.headers.get('ratelimit')).toMatch(/^"ip";r=0;t=\d+$/);
    // Security headers on the refusal too.
    expect(refused.headers.get('x-content-type-options')).toBe('nosniff');

    const health = await fetch(`${g.base}/healthz`);
    expect(health.status).toBe(429);
    expect(g.gw.rateLimits.metrics().ip).toMatchObject({ consumed: 3, refused: 2 });
  });
});

describe('the principal and tenant buckets: after authentication', () => {
  let g: EdgeGateway;
  beforeAll(async () => {
    g = await startEdgeGateway('production', { RATE_LIMIT_PRINCIPAL: '2/60', RATE_LIMIT_TENANT: '3/60' });
  });
  afterAll(() => g.stop());

  const as = async (tenantId: string, role: string) => ({ authorization: `Bearer ${await g.tokenFor(userOf(tenantId, role))}` });

  test('one principal gets 2 requests; its tenant 3 across its principals; other tenants and anonymous callers are not affected', async () => {
    const admin = await as(tenantA.id, 'TENANT_ADMIN');
    const dispatcher = await as(tenantA.id, 'DISPATCHER');
    const auditor = await as(tenantA.id, 'AUDITOR');
    const first = await post(g.base, TYPENAME, admin);
    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit-policy')).toBe('"ip";q=600;w=60, "principal";q=2;w=60, "tenant";q=3;w=60');
    expect(first.headers.get('ratelimit')).toMatch(/^"ip";r=\d+;t=\d+, "principal";r=1;t=\d+, "tenant";r=2;t=\d+$/);
    expect((await post(g.base, TYPENAME, admin)).status).toBe(200);

    const third = await post(g.base, TYPENAME, admin);
    expect([third.status, third.json.errors[0].extensions]).toEqual([429, { code: 'RATE_LIMITED', bucket: 'principal' }]);
    expect(third.headers.get('retry-after')).toMatch(/^\d+$/);

    // The tenant has one request left: the dispatcher takes it, the auditor is refused by the tenant bucket.
    expect((await post(g.base, TYPENAME, dispatcher)).status).toBe(200);
    const tenantFull = await post(g.base, TYPENAME, auditor);
    expect([tenantFull.status, tenantFull.json.errors[0].extensions.bucket]).toEqual([429, 'tenant']);
    expect(tenantFull.headers.get('ratelimit-policy')).toBe('"tenant";q=3;w=60');

    expect((await post(g.base, TYPENAME, await as(tenantB.id, 'TENANT_ADMIN'))).status).toBe(200);
    expect((await post(g.base, TYPENAME)).status).toBe(200);
    const m = g.gw.rateLimits.metrics();
    // The auditor's request passed its own bucket and was refused by the tenant's.
    expect(m.principal).toMatchObject({ consumed: 5, refused: 1 });
    expect(m.tenant).toMatchObject({ consumed: 4, refused: 1 });
  });
});

describe('the publicTracking bucket: trackShipment lookups per IP', () => {
  let g: EdgeGateway;
  beforeAll(async () => {
    g = await startEdgeGateway('production', { RATE_LIMIT_PUBLIC_TRACKING: '3/60' });
  });
  afterAll(() => g.stop());

  test('each aliased lookup counts: 2 + 1 pass, the next is refused with 429 before any subgraph is asked, unmasked in production', async () => {
    const two = await post(g.base, track(2));
    // Allowed: it reaches the (dead) subgraph and fails there, masked.
    expect(two.status).toBe(200);
    expect(codes({ errors: two.json.errors })).toContain('INTERNAL_SERVER_ERROR');
    expect(two.headers.get('ratelimit-policy')).toBe('"ip";q=600;w=60, "publicTracking";q=3;w=60');
    expect(two.headers.get('ratelimit')).toMatch(/, "publicTracking";r=1;t=\d+$/);
    expect((await post(g.base, track(1))).status).toBe(200);

    const refused = await post(g.base, track(1));
    expect(refused.status).toBe(429);
    expect(refused.json.errors).toEqual([expect.objectContaining({ message: 'Too many requests; retry later', extensions: expect.objectContaining({ code: 'RATE_LIMITED', bucket: 'publicTracking' }) })]);
    expect(refused.json.data).toBeUndefined();
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused.headers.get('ratelimit')).toMatch(/"publicTracking";r=0;t=\d+/);

    // Other operations from the same IP are not affected.
    expect((await post(g.base, TYPENAME)).status).toBe(200);
    expect(g.gw.rateLimits.metrics().publicTracking).toMatchObject({ consumed: 2, refused: 1 });
  });
});

describe('on the whole stack', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ RATE_LIMIT_PUBLIC_TRACKING: '2/60' });
  }, 60_000);
  afterAll(() => stack?.stop());

  test('real public tracking lookups pass until the bucket is empty; the default limits leave everything else alone', async () => {
    const shipment = plan.shipments[0];
    const q = `query($n: String!) { trackShipment(trackingNumber: $n, token: "wrong") { status } }`;
    const a = await stack.gql(q, { n: shipment.trackingNumber }, { principal: null });
    const b = await stack.gql(q, { n: shipment.trackingNumber }, { principal: null });
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(a.data).toEqual({ trackShipment: null });
    const c = await stack.gql(q, { n: shipment.trackingNumber }, { principal: null });
    expect([c.status, codes(c)]).toEqual([429, ['RATE_LIMITED']]);
    const other = await stack.gql(`{ shipments(first: 1) { totalCount } }`);
    expect(other.errors).toBeUndefined();
    expect(stack.platform.gateway.rateLimits.store).toBe('memory');
  });
});
