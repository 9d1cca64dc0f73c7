import { SYSTEM, asUser, codes, demoUser, officer, reasons, startPrivacy, type PrivacyKit } from './kit';

let kit: PrivacyKit;
beforeAll(async () => {
  kit = await startPrivacy();
});
afterAll(() => kit?.close());

const SETTINGS = 'subjectId notificationChannels dataSharing { analytics marketing partners } updatedAt';
const ENTITIES = `query ($r: [_Any!]!) {
  _entities(representations: $r) {
    __typename
    ... on User { id privacySettings { ${SETTINGS} } }
    ... on Shipment { id recipientPrivacy { ${SETTINGS} } }
  }
}`;
const DEFAULTS = { notificationChannels: [], dataSharing: { analytics: false, marketing: false, partners: false }, updatedAt: null };

const shipmentRef = (i: number) => {
  const s = kit.plan.shipments[i];
  return { __typename: 'Shipment', id: s.id, recipientSubjectId: s.recipientSubjectId };
};

describe('_entities: Shipment.recipientPrivacy (@requires recipientSubjectId)', () => {
  test("resolves each recipient's settings, the defaults when they never chose, in order", async () => {
    const [s0, s1] = kit.plan.shipments;
    const res = await kit.gql(ENTITIES, { r: [shipmentRef(0), shipmentRef(1)] }, officer(kit.plan, 0));
    expect(res.errors).toBeUndefined();
    expect(res.data!._entities).toEqual([
      {
        __typename: 'Shipment',
        id: s0.id,
        recipientPrivacy: { subjectId: s0.recipientSubjectId, notificationChannels: ['EMAIL'], dataSharing: { analytics: true, marketing: false, partners: false }, updatedAt: expect.any(String) },
      },
      { __typename: 'Shipment', id: s1.id, recipientPrivacy: { subjectId: s1.recipientSubjectId, ...DEFAULTS } },
    ]);
  });

  test('a shipment without a recipient subject has no recipientPrivacy', async () => {
    const res = await kit.gql(ENTITIES, { r: [{ __typename: 'Shipment', id: kit.plan.shipments[0].id, recipientSubjectId: null }] }, officer(kit.plan, 0));
    expect(res.errors).toBeUndefined();
    expect(res.data!._entities).toEqual([{ __typename: 'Shipment', id: kit.plan.shipments[0].id, recipientPrivacy: null }]);
  });

  test("another tenant's shipment never shows its recipient's stored settings", async () => {
    const res = await kit.gql(ENTITIES, { r: [shipmentRef(0)] }, officer(kit.plan, 1));
    expect(res.errors).toBeUndefined();
    expect(res.data!._entities[0].recipientPrivacy).toEqual({ subjectId: kit.plan.shipments[0].recipientSubjectId, ...DEFAULTS });
  });
});

describe('_entities: User.privacySettings', () => {
  test("resolves a user's own settings, and the defaults for a user who never chose", async () => {
    const [u0, u1] = kit.plan.users;
    const res = await kit.gql(ENTITIES, { r: [{ __typename: 'User', id: u0.id }, { __typename: 'User', id: u1.id }] }, asUser(u0));
    expect(res.errors).toBeUndefined();
    expect(res.data!._entities).toEqual([
      { __typename: 'User', id: u0.id, privacySettings: { subjectId: u0.id, notificationChannels: ['SMS', 'PUSH'], dataSharing: { analytics: false, marketing: false, partners: false }, updatedAt: expect.any(String) } },
      { __typename: 'User', id: u1.id, privacySettings: { subjectId: u1.id, ...DEFAULTS } },
    ]);
  });

  test("tenant B never sees a tenant A user's stored settings", async () => {
    const u0 = kit.plan.users[0];
    const res = await kit.gql(ENTITIES, { r: [{ __typename: 'User', id: u0.id }] }, officer(kit.plan, 1));
    expect(res.errors).toBeUndefined();
    expect(res.data!._entities[0].privacySettings).toEqual({ subjectId: u0.id, ...DEFAULTS });
  });

  test('a system principal reads every tenant', async () => {
    const res = await kit.gql(ENTITIES, { r: [{ __typename: 'User', id: kit.plan.users[0].id }, shipmentRef(0)] }, SYSTEM);
    expect(res.errors).toBeUndefined();
    expect(res.data!._entities[0].privacySettings.notificationChannels).toEqual(['SMS', 'PUSH']);
    expect(res.data!._entities[1].recipientPrivacy.notificationChannels).toEqual(['EMAIL']);
  });
});

describe('_entities: refusals', () => {
  test.each([
    ['an operator object as recipientSubjectId', { __typename: 'Shipment', id: 'x', recipientSubjectId: { $ne: null } }],
    ['an operator object as user id', { __typename: 'User', id: { $gt: '' } }],
    ['a missing shipment id', { __typename: 'Shipment', recipientSubjectId: 'abc' }],
    ['an over-long user id', { __typename: 'User', id: 'x'.repeat(500) }],
  ])('%s is BAD_USER_INPUT (INVALID_REPRESENTATION)', async (_what, ref) => {
    const res = await kit.gql(ENTITIES, { r: [ref] }, SYSTEM);
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(reasons(res)).toEqual(['INVALID_REPRESENTATION']);
    expect(res.data!._entities).toEqual([null]);
  });

  test('an anonymous caller is UNAUTHENTICATED', async () => {
    const res = await kit.gql(ENTITIES, { r: [shipmentRef(0), { __typename: 'User', id: kit.plan.users[0].id }] });
    expect(codes(res)).toEqual(['UNAUTHENTICATED', 'UNAUTHENTICATED']);
  });
});

describe('no N+1', () => {
  test('50 shipments and 14 users with every privacy field cost one query on privacy_settings and nothing else', async () => {
    const refs = [...kit.plan.shipments.map((_, i) => shipmentRef(i)), ...kit.plan.users.map((u) => ({ __typename: 'User', id: u.id }))];
    expect(kit.plan.shipments).toHaveLength(50);
    kit.devdb.resetStats();
    const res = await kit.gql(ENTITIES, { r: refs }, SYSTEM);
    expect(res.errors).toBeUndefined();
    expect(res.data!._entities).toHaveLength(refs.length);
    expect(res.data!._entities.filter((e: any) => (e.recipientPrivacy ?? e.privacySettings).updatedAt !== null).length).toBeGreaterThan(10);
    const reads = Object.entries(kit.devdb.stats().byCollection).filter(([k]) => /^(find|aggregate|count|distinct):/.test(k));
    expect(reads).toEqual([['find:privacy_settings', 1]]);
  });

  test('the same holds for a tenant caller (the tenant filter is in the one query)', async () => {
    const refs = kit.plan.shipments.map((_, i) => shipmentRef(i));
    kit.devdb.resetStats();
    const res = await kit.gql(ENTITIES, { r: refs }, officer(kit.plan, 0));
    expect(res.errors).toBeUndefined();
    expect(kit.devdb.stats().byCollection).toEqual({ 'find:privacy_settings': 1 });
    // Tenant B's 25 recipients show the defaults to tenant A, though about a third of them chose.
    const bIds = new Set(kit.plan.shipments.filter((s) => s.tenantId === kit.plan.tenants[1].id).map((s) => s.id));
    for (const e of res.data!._entities.filter((x: any) => bIds.has(x.id))) expect(e.recipientPrivacy.updatedAt).toBeNull();
  });
});

describe('the privacySettings root field shares the loader', () => {
  test('a user reads their own settings by id', async () => {
    const user = demoUser(kit.plan, 0, 'TENANT_ADMIN');
    const res = await kit.gql(`query ($s: ID!) { privacySettings(subjectId: $s) { subjectId notificationChannels } }`, { s: user.id }, asUser(user));
    expect(res.errors).toBeUndefined();
    expect(res.data!.privacySettings).toEqual({ subjectId: user.id, notificationChannels: ['SMS', 'PUSH'] });
  });
});
