import { maskPersonName } from '../../../lib/pii';
import { SYSTEM, asUser, codes, demoUser, startIdentity, type GqlResult, type IdentityKit } from './kit';

let kit: IdentityKit;
beforeAll(async () => {
  kit = await startIdentity();
});
afterAll(() => kit?.close());

const TENANT = `query ($id: ID!) { tenant(id: $id) { id name kind homeRegion createdAt } }`;
const ME = `{ me { id tenantId email name roles mfaEnrolled lastLoginAt status createdAt } }`;
const USERS = `query ($first: Int, $after: String) {
  users(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id tenantId name email roles status } } }
}`;
const CLIENTS = `query ($first: Int, $after: String) {
  apiClients(first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { id tenantId name scopes contractEndsAt status allowedEventTypes createdAt } }
  }
}`;

describe('tenant(id)', () => {
  test('a user reads its own tenant', async () => {
    const [a] = kit.plan.tenants;
    const res = await kit.gql(TENANT, { id: a.id }, asUser(demoUser(kit.plan, 0, 'DRIVER')));
    expect(res.errors).toBeUndefined();
    expect(res.data!.tenant).toEqual({ id: a.id, name: a.name, kind: a.kind, homeRegion: a.homeRegion, createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/) });
  });

  test("a user of tenant B gets null for tenant A's id", async () => {
    const res = await kit.gql(TENANT, { id: kit.plan.tenants[0].id }, asUser(demoUser(kit.plan, 1, 'TENANT_ADMIN')));
    expect(res.errors).toBeUndefined();
    expect(res.data!.tenant).toBeNull();
  });

  test('a system principal reads any tenant; an unknown id is null', async () => {
    const b = kit.plan.tenants[1];
    expect((await kit.gql(TENANT, { id: b.id }, SYSTEM)).data!.tenant.name).toBe(b.name);
    expect((await kit.gql(TENANT, { id: 'ffffffffffffffffffffffff' }, SYSTEM)).data!.tenant).toBeNull();
  });
});

describe('me', () => {
  test("is the caller's user", async () => {
    const user = demoUser(kit.plan, 0, 'SECURITY_ADMIN');
    const res = await kit.gql(ME, {}, asUser(user));
    expect(res.errors).toBeUndefined();
    expect(res.data!.me).toMatchObject({ id: user.id, tenantId: user.tenantId, email: user.email, name: user.name, roles: user.roles, mfaEnrolled: true, status: 'ACTIVE' });
  });

  test('is null for a system principal', async () => {
    const res = await kit.gql(ME, {}, SYSTEM);
    expect(res.errors).toBeUndefined();
    expect(res.data!.me).toBeNull();
  });

  test("is null when a principal names another tenant's user id", async () => {
    const userA = demoUser(kit.plan, 0, 'TENANT_ADMIN');
    const forged = { kind: 'user' as const, id: userA.id, tenantId: kit.plan.tenants[1].id, roles: ['TENANT_ADMIN'], scopes: [] };
    expect((await kit.gql(ME, {}, forged)).data!.me).toBeNull();
  });
});

describe('users(first, after)', () => {
  const adminA = () => asUser(demoUser(kit.plan, 0, 'TENANT_ADMIN'));

  test("pages through the caller's tenant by id (names are encrypted: the database cannot order them), with opaque cursors", async () => {
    const tenantA = kit.plan.tenants[0].id;
    const users = kit.plan.users.filter((u) => u.tenantId === tenantA).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    // Sorted by id; other people's names masked, the caller's own not (lib/pii/masking.ts).
    const expected = users.map((u) => (u.id === adminA().id ? u.name : maskPersonName(u.name)));
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const res: GqlResult = await kit.gql(USERS, { first: 3, after }, adminA());
      expect(res.errors).toBeUndefined();
      const conn: any = res.data!.users;
      expect(conn.totalCount).toBe(expected.length);
      for (const e of conn.edges) {
        expect(e.node.tenantId).toBe(tenantA);
        // Cursors carry no personal data.
        expect(Buffer.from(e.cursor, 'base64url').toString('utf8')).not.toContain(e.node.name);
        seen.push(e.node.name);
      }
      pages++;
      if (!conn.pageInfo.hasNextPage) break;
      expect(conn.pageInfo.endCursor).toBe(conn.edges[conn.edges.length - 1].cursor);
      after = conn.pageInfo.endCursor;
    }
    expect(seen).toEqual(expected);
    expect(pages).toBe(Math.ceil(expected.length / 3));
  });

  test('first: 0 returns an empty page that says more follow', async () => {
    const res = await kit.gql(USERS, { first: 0 }, adminA());
    expect(res.data!.users).toMatchObject({ edges: [], pageInfo: { hasNextPage: true, endCursor: null } });
  });

  test('tenant B never sees tenant A users', async () => {
    const tenantB = kit.plan.tenants[1].id;
    const res = await kit.gql(USERS, { first: 100 }, asUser(demoUser(kit.plan, 1, 'AUDITOR')));
    const nodes = res.data!.users.edges.map((e: any) => e.node);
    expect(nodes.length).toBeGreaterThan(0);
    expect(nodes.every((n: any) => n.tenantId === tenantB)).toBe(true);
    expect(res.data!.users.totalCount).toBe(nodes.length);
  });

  test("a cursor of tenant A's list is refused for tenant B", async () => {
    const page = await kit.gql(USERS, { first: 1 }, adminA());
    const res = await kit.gql(USERS, { first: 1, after: page.data!.users.pageInfo.endCursor }, asUser(demoUser(kit.plan, 1, 'TENANT_ADMIN')));
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
  });

  test.each([
    ['a malformed cursor', { first: 5, after: 'not-a-cursor' }],
    ['first above 100', { first: 1000 }],
    ['a negative first', { first: -1 }],
  ])('%s is BAD_USER_INPUT', async (_what, variables) => {
    const res = await kit.gql(USERS, variables, adminA());
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
  });

  test('a wrong argument type is GRAPHQL_VALIDATION_FAILED', async () => {
    const res = await kit.gql(`{ users(first: "ten") { totalCount } }`, {}, adminA());
    expect(codes(res)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  });
});

describe('apiClients(first, after)', () => {
  const tenantA = () => kit.plan.tenants[0].id;
  // Older than the seeded demo client, so it stays the newest.
  const base = Date.parse('2024-06-01T00:00:00Z');

  beforeAll(async () => {
    // Four more clients for tenant A (two sharing a timestamp: the id breaks the tie) and one for tenant B.
    const at = (days: number) => new Date(base + days * 86_400_000);
    await kit.models.ApiClient.insertMany([
      { _id: 'a00000000000000000000001', tenantId: tenantA(), name: 'Carrier one', scopes: ['shipments:read'], status: 'ACTIVE', createdAt: at(1) },
      { _id: 'a00000000000000000000002', tenantId: tenantA(), name: 'Carrier two', scopes: ['shipments:read'], status: 'SUSPENDED', createdAt: at(2) },
      { _id: 'a00000000000000000000003', tenantId: tenantA(), name: 'Carrier three', scopes: [], status: 'EXPIRED', createdAt: at(2) },
      { _id: 'a00000000000000000000004', tenantId: tenantA(), name: 'Carrier four', scopes: [], status: 'REVOKED', createdAt: at(3) },
      { _id: 'b00000000000000000000001', tenantId: kit.plan.tenants[1].id, name: 'Pacific partner', scopes: [], status: 'ACTIVE', createdAt: at(4) },
    ]);
  });

  test("lists the caller's clients newest first, paging with cursors", async () => {
    const as = asUser(demoUser(kit.plan, 0, 'SECURITY_ADMIN'));
    const first = await kit.gql(CLIENTS, { first: 2 }, as);
    expect(first.errors).toBeUndefined();
    expect(first.data!.apiClients.totalCount).toBe(5);
    expect(first.data!.apiClients.pageInfo.hasNextPage).toBe(true);
    const rest = await kit.gql(CLIENTS, { first: 10, after: first.data!.apiClients.pageInfo.endCursor }, as);
    expect(rest.data!.apiClients.pageInfo.hasNextPage).toBe(false);
    const ids = [...first.data!.apiClients.edges, ...rest.data!.apiClients.edges].map((e: any) => e.node.id);
    expect(ids).toEqual([kit.plan.apiClient.id, 'a00000000000000000000004', 'a00000000000000000000003', 'a00000000000000000000002', 'a00000000000000000000001']);
  });

  test('exposes the demo client without any secret', async () => {
    const res = await kit.gql(CLIENTS, { first: 1 }, asUser(demoUser(kit.plan, 0, 'AUDITOR')));
    const node = res.data!.apiClients.edges[0].node;
    expect(node).toMatchObject({ id: kit.plan.apiClient.id, tenantId: tenantA(), scopes: kit.plan.apiClient.scopes, status: 'ACTIVE' });
    expect(node.allowedEventTypes.length).toBeGreaterThan(0);
    expect(Date.parse(node.contractEndsAt)).toBeGreaterThan(Date.now());
    const schemaFields = await kit.gql(`{ _service { sdl } }`, {}, SYSTEM);
    expect(schemaFields.data!._service.sdl).not.toMatch(/secret\s*:/i);
  });

  test('tenant B sees only its own client', async () => {
    const res = await kit.gql(CLIENTS, { first: 100 }, asUser(demoUser(kit.plan, 1, 'TENANT_ADMIN')));
    expect(res.data!.apiClients.edges.map((e: any) => e.node.id)).toEqual(['b00000000000000000000001']);
    expect(res.data!.apiClients.totalCount).toBe(1);
  });

  test('a cursor of the users list is refused here', async () => {
    const users = await kit.gql(USERS, { first: 1 }, asUser(demoUser(kit.plan, 0, 'TENANT_ADMIN')));
    const res = await kit.gql(CLIENTS, { after: users.data!.users.pageInfo.endCursor }, asUser(demoUser(kit.plan, 0, 'TENANT_ADMIN')));
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
  });

  test('first above 100 is BAD_USER_INPUT', async () => {
    expect(codes(await kit.gql(CLIENTS, { first: 101 }, SYSTEM))).toEqual(['BAD_USER_INPUT']);
  });
});

describe('an anonymous caller', () => {
  test.each([
    ['me', ME, {}],
    ['tenant', TENANT, { id: 'x' }],
    ['users', USERS, {}],
    ['apiClients', CLIENTS, {}],
  ])('is refused by %s with UNAUTHENTICATED', async (_field, query, variables) => {
    const res = await kit.gql(query, variables);
    expect(codes(res)).toEqual(['UNAUTHENTICATED']);
  });
});

test('serves /healthz and /readyz', async () => {
  const base = kit.url.replace(/\/graphql$/, '');
  expect(await (await fetch(`${base}/healthz`)).json()).toMatchObject({ status: 'ok', service: 'identity' });
  expect(await (await fetch(`${base}/readyz`)).json()).toMatchObject({ status: 'ready', service: 'identity' });
});
