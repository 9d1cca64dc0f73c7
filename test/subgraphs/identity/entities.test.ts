import { SYSTEM, asUser, codes, demoUser, startIdentity, type IdentityKit } from './kit';

let kit: IdentityKit;
beforeAll(async () => {
  kit = await startIdentity();
});
afterAll(() => kit?.close());

const ENTITIES = `query ($r: [_Any!]!) {
  _entities(representations: $r) {
    __typename
    ... on Tenant { id name kind homeRegion createdAt }
    ... on User { id tenantId email userName: name roles status }
    ... on Shipment { id tenant { id name kind homeRegion createdAt } }
  }
}`;

const shipmentRefs = () => kit.plan.shipments.map((s) => ({ __typename: 'Shipment', id: s.id, tenantId: s.tenantId }));

describe('_entities: Tenant and User references', () => {
  test('resolve in order, with null for unknown ids', async () => {
    const [a] = kit.plan.tenants;
    const user = demoUser(kit.plan, 0, 'DISPATCHER');
    const res = await kit.gql(ENTITIES, { r: [{ __typename: 'User', id: user.id }, { __typename: 'Tenant', id: 'ffffffffffffffffffffffff' }, { __typename: 'Tenant', id: a.id }] }, asUser(user));
    expect(res.errors).toBeUndefined();
    expect(res.data!._entities).toEqual([
      { __typename: 'User', id: user.id, tenantId: a.id, email: user.email, userName: user.name, roles: user.roles, status: 'ACTIVE' },
      null,
      { __typename: 'Tenant', id: a.id, name: a.name, kind: a.kind, homeRegion: a.homeRegion, createdAt: expect.any(String) },
    ]);
  });

  test("another tenant's Tenant and User resolve to null", async () => {
    const userA = demoUser(kit.plan, 0, 'TENANT_ADMIN');
    const res = await kit.gql(ENTITIES, { r: [{ __typename: 'Tenant', id: kit.plan.tenants[0].id }, { __typename: 'User', id: userA.id }] }, asUser(demoUser(kit.plan, 1, 'TENANT_ADMIN')));
    expect(res.errors).toBeUndefined();
    expect(res.data!._entities).toEqual([null, null]);
  });

  test.each([
    ['an operator object as id', { __typename: 'User', id: { $ne: null } }],
    ['a missing id', { __typename: 'Tenant' }],
    ['an over-long id', { __typename: 'Tenant', id: 'x'.repeat(500) }],
  ])('%s is BAD_USER_INPUT for that item only', async (_what, ref) => {
    const tenantA = kit.plan.tenants[0];
    kit.devdb.resetStats();
    const res = await kit.gql(ENTITIES, { r: [ref, { __typename: 'Tenant', id: tenantA.id }] }, SYSTEM);
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors![0].path).toEqual(['_entities', 0]);
    expect(res.data!._entities).toEqual([null, expect.objectContaining({ id: tenantA.id })]);
    expect(kit.devdb.stats().byCollection).toEqual({ 'find:tenants': 1 });
  });

  test('an anonymous caller is UNAUTHENTICATED', async () => {
    const good = { __typename: 'Tenant', id: kit.plan.tenants[0].id };
    const res = await kit.gql(ENTITIES, { r: [good, good] });
    expect(codes(res)).toEqual(['UNAUTHENTICATED', 'UNAUTHENTICATED']);
    expect(res.data!._entities).toEqual([null, null]);
  });
});

describe('_entities: Shipment.tenant (@requires tenantId)', () => {
  test("resolves each shipment's tenant from its tenantId", async () => {
    const [s] = kit.plan.shipments;
    const res = await kit.gql(ENTITIES, { r: [{ __typename: 'Shipment', id: s.id, tenantId: s.tenantId }] }, asUser(demoUser(kit.plan, 0, 'DRIVER')));
    expect(res.errors).toBeUndefined();
    expect(res.data!._entities[0]).toMatchObject({ __typename: 'Shipment', id: s.id, tenant: { id: s.tenantId, name: kit.plan.tenants[0].name } });
  });

  test("50 shipments of 2 tenants cost one tenants query and nothing else", async () => {
    const refs = shipmentRefs();
    expect(refs).toHaveLength(50);
    expect(new Set(refs.map((r) => r.tenantId)).size).toBe(2);
    kit.devdb.resetStats();
    const res = await kit.gql(ENTITIES, { r: refs }, SYSTEM);
    const stats = kit.devdb.stats().byCollection;
    expect(res.errors).toBeUndefined();
    expect(res.data!._entities.map((e: any) => e.tenant.id)).toEqual(refs.map((r) => r.tenantId));
    expect(stats).toEqual({ 'find:tenants': 1 });
  });

  // The Shipment type guard (@policy tenantOrPartner) refuses the representation before Shipment.tenant runs.
  test('a tenant B user is refused (FORBIDDEN, not tenant A) for a representation carrying tenant A', async () => {
    const a = kit.plan.tenants[0];
    const forged = { __typename: 'Shipment', id: kit.plan.shipments.find((s) => s.tenantId !== a.id)!.id, tenantId: a.id };
    kit.devdb.resetStats();
    const res = await kit.gql(ENTITIES, { r: [forged] }, asUser(demoUser(kit.plan, 1, 'DISPATCHER')));
    expect(new Set(codes(res))).toEqual(new Set(['FORBIDDEN']));
    expect(res.errors!.every((e) => e.message === 'Forbidden' && e.extensions!.reason === undefined)).toBe(true);
    expect(kit.devdb.stats().byCollection).toEqual({});
    expect(res.data!._entities).toEqual([null]);
    expect(JSON.stringify(res)).not.toContain(a.name);
  });

  test('a user sees its own shipments resolved and the other tenant refused, still in one query', async () => {
    const refs = shipmentRefs();
    const tenantB = kit.plan.tenants[1];
    kit.devdb.resetStats();
    const res = await kit.gql(ENTITIES, { r: refs }, asUser(demoUser(kit.plan, 1, 'SUPPORT_AGENT')));
    expect(kit.devdb.stats().byCollection).toEqual({ 'find:tenants': 1 });
    const entities = res.data!._entities as Array<{ tenant: { id: string } } | null>;
    refs.forEach((r, i) => {
      if (r.tenantId === tenantB.id) expect(entities[i]!.tenant.id).toBe(tenantB.id);
      else expect(entities[i]).toBeNull();
    });
    // Refused by the Shipment type guard (tenantOrPartner), never reaching the tenants query.
    expect(new Set(codes(res))).toEqual(new Set(['FORBIDDEN']));
  });

  test.each([
    ['without tenantId', { __typename: 'Shipment', id: 'abc' }],
    ['with an operator object as tenantId', { __typename: 'Shipment', id: 'abc', tenantId: { $gt: '' } }],
  ])('a representation %s is BAD_USER_INPUT', async (_what, ref) => {
    kit.devdb.resetStats();
    const res = await kit.gql(ENTITIES, { r: [ref] }, SYSTEM);
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.data!._entities).toEqual([null]);
    expect(kit.devdb.stats().byCollection).toEqual({});
  });
});

test('50 user references cost one users query', async () => {
  const refs = kit.plan.users.map((u) => ({ __typename: 'User', id: u.id }));
  kit.devdb.resetStats();
  const res = await kit.gql(ENTITIES, { r: refs }, SYSTEM);
  expect(res.errors).toBeUndefined();
  expect(res.data!._entities.every((e: any) => e !== null)).toBe(true);
  expect(kit.devdb.stats().byCollection).toEqual({ 'find:users': 1 });
});
