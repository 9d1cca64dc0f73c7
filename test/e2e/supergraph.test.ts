/**
 * The supergraph end to end: real HTTP from a client to the gateway, from
 * the gateway to the four subgraph servers, and from them to devdb over the
 * MongoDB wire protocol.
 */
import { codes, startStack, tenantA, tenantB, userOf, plan, type Stack } from '../kit/stack';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

const SPANNING = /* GraphQL */ `
  query Spanning($first: Int, $after: String) {
    shipments(first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges {
        cursor
        node {
          id
          trackingNumber
          status
          carrier
          events(first: 3) { edges { node { status occurredAt location { city countryIso3 } } } }
          latestEvent { status }
          devices { id kind status }
          latestReading { type value unit }
          tenant { id name homeRegion }
          recipientPrivacy { subjectId notificationChannels dataSharing { analytics marketing partners } }
        }
      }
    }
  }
`;

describe('a query spanning all four subgraphs', () => {
  test('returns each shipment with its events, devices, readings, tenant and recipient privacy settings', async () => {
    const res = await stack.gql(SPANNING, { first: 25 });
    expect(res.errors).toBeUndefined();
    const conn = res.data!.shipments;
    expect(conn.totalCount).toBe(plan.shipments.filter((s) => s.tenantId === tenantA.id).length);
    expect(conn.edges).toHaveLength(25);
    for (const { node } of conn.edges) {
      expect(node.tenant).toEqual({ id: tenantA.id, name: tenantA.name, homeRegion: tenantA.homeRegion });
      expect(node.events.edges.length).toBeGreaterThan(0);
      expect(node.latestEvent.status).toBe(node.status === 'PENDING' ? node.latestEvent.status : node.latestEvent.status);
      expect(node.devices.length).toBeGreaterThan(0);
      expect(node.recipientPrivacy.notificationChannels).toEqual(expect.any(Array));
    }
  });

  test('runs at most one database read per collection and plan level (no N+1)', async () => {
    const devdb = stack.platform.devdb!;
    devdb.resetStats();
    const res = await stack.gql(SPANNING, { first: 25 });
    expect(res.errors).toBeUndefined();
    const reads = Object.entries(devdb.stats().byCollection).filter(([k]) => k.startsWith('find:') || k.startsWith('aggregate:'));
    expect(reads.length).toBeGreaterThan(3);
    // Each collection is read a small, fixed number of times however many shipments there are.
    for (const [key, count] of reads) expect({ key, count: count <= 2 }).toEqual({ key, count: true });
  });
});

describe('pagination', () => {
  test('pages through every shipment of the tenant without overlap', async () => {
    const seen = new Set<string>();
    let after: string | undefined;
    let pages = 0;
    for (;;) {
      const res = await stack.gql<{ shipments: any }>(`query($after: String) { shipments(first: 10, after: $after) { pageInfo { hasNextPage endCursor } edges { node { id } } } }`, { after });
      expect(res.errors).toBeUndefined();
      for (const e of res.data!.shipments.edges) {
        expect(seen.has(e.node.id)).toBe(false);
        seen.add(e.node.id);
      }
      pages++;
      if (!res.data!.shipments.pageInfo.hasNextPage) break;
      after = res.data!.shipments.pageInfo.endCursor;
    }
    expect(seen.size).toBe(plan.shipments.filter((s) => s.tenantId === tenantA.id).length);
    expect(pages).toBe(3);
  });
});

describe('tenancy', () => {
  test("a user of another tenant sees only that tenant's shipments", async () => {
    const res = await stack.gql(`{ shipments(first: 100) { edges { node { id tenant { id } } } } }`, undefined, { principal: userOf(tenantB.id) });
    expect(res.errors).toBeUndefined();
    const ids = res.data!.shipments.edges.map((e: any) => e.node.tenant.id);
    expect(ids.length).toBeGreaterThan(0);
    expect(new Set(ids)).toEqual(new Set([tenantB.id]));
  });

  test("another tenant's shipment id reads as null", async () => {
    const theirs = plan.shipments.find((s) => s.tenantId === tenantA.id)!;
    const res = await stack.gql(`query($id: ID!) { shipment(id: $id) { id } }`, { id: theirs.id }, { principal: userOf(tenantB.id) });
    expect(res.errors).toBeUndefined();
    expect(res.data!.shipment).toBeNull();
  });
});

describe('refusals carry a stable code', () => {
  test('an unknown id is null, not an error', async () => {
    const res = await stack.gql(`{ shipment(id: "000000000000000000000000") { id } }`);
    expect(res.errors).toBeUndefined();
    expect(res.data!.shipment).toBeNull();
  });

  test('a malformed cursor is BAD_USER_INPUT', async () => {
    const res = await stack.gql(`{ shipments(first: 5, after: "not-a-cursor") { edges { cursor } } }`);
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
  });

  test('first: 1000 is BAD_USER_INPUT', async () => {
    const res = await stack.gql(`{ shipments(first: 1000) { edges { cursor } } }`);
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
  });

  test('an argument of the wrong type fails validation', async () => {
    const res = await stack.gql(`{ shipments(first: "ten") { edges { cursor } } }`);
    expect(res.status).toBe(400);
    expect(codes(res)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  });

  test('a field that does not exist fails validation', async () => {
    const res = await stack.gql(`{ shipments(first: 1) { edges { node { nope } } } }`);
    expect(codes(res)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  });

  test('malformed JSON is a 400 with BAD_REQUEST', async () => {
    const r = await fetch(stack.platform.gatewayUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": ' });
    expect(r.status).toBe(400);
    expect(((await r.json()) as any).errors[0].extensions.code).toBe('BAD_REQUEST');
  });

  test('every error carries the request id', async () => {
    const res = await stack.gql(`{ shipments(first: 1000) { edges { cursor } } }`, undefined, { headers: { 'x-request-id': 'test-request-0001' } });
    expect(res.errors![0].extensions!.requestId).toBe('test-request-0001');
  });
});

describe('health', () => {
  test('/healthz is alive and /readyz sees every subgraph and the database', async () => {
    const base = stack.platform.gatewayUrl.replace('/graphql', '');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as any).subgraphs).toEqual({ shipment: 'ready', device: 'ready', identity: 'ready', privacy: 'ready' });
  });
});
