import { codes, adminOf, startKit, SYSTEM, TENANT_A, TENANT_B, type GqlResult, type Kit } from './kit';

const REGISTER = /* GraphQL */ `
  mutation ($input: RegisterDeviceInput!) {
    registerDevice(input: $input) { id tenantId kind model firmwareVersion status lastSeenAt createdAt }
  }
`;
const DEVICE = /* GraphQL */ `query ($id: ID!) { device(id: $id) { id tenantId kind status } }`;
const DEVICES = /* GraphQL */ `
  query ($first: Int, $after: String) {
    devices(first: $first, after: $after) { totalCount edges { cursor node { id tenantId model } } pageInfo { hasNextPage endCursor } }
  }
`;
const ENTITIES = /* GraphQL */ `query ($reps: [_Any!]!) { _entities(representations: $reps) { ... on Device { id tenantId kind } } }`;

let kit: Kit;
const a: string[] = []; // tenant A's device ids, oldest first
const b: string[] = [];

async function register(tenantId: string, model: string): Promise<string> {
  kit.clock.now = new Date(kit.clock.now.getTime() + 60_000);
  const r = await kit.gql(REGISTER, { input: { kind: 'SENSOR_TAG', model, firmwareVersion: '1.0.0' } }, adminOf(tenantId));
  expect(r.errors).toBeUndefined();
  return r.data!.registerDevice.id;
}

beforeAll(async () => {
  kit = await startKit();
  for (let i = 0; i < 5; i++) a.push(await register(TENANT_A, `A-${i}`));
  for (let i = 0; i < 2; i++) b.push(await register(TENANT_B, `B-${i}`));
});
afterAll(() => kit.close());

describe('registerDevice', () => {
  it('creates a PENDING device in the caller’s tenant and audits it', async () => {
    kit.clock.now = new Date('2025-03-02T08:00:00.000Z');
    const r = await kit.gql(REGISTER, { input: { kind: 'GATEWAY', model: '  Edge G1 ', firmwareVersion: '' } }, adminOf(TENANT_B));
    expect(r.errors).toBeUndefined();
    const d = r.data!.registerDevice;
    expect(d).toMatchObject({ tenantId: TENANT_B, kind: 'GATEWAY', model: 'Edge G1', firmwareVersion: null, status: 'PENDING', lastSeenAt: null, createdAt: '2025-03-02T08:00:00.000Z' });
    expect(d.id).toMatch(/^[0-9a-f]{24}$/);
    expect(kit.audit.events.find((e) => e.target === `Device:${d.id}`)).toMatchObject({ type: 'device.registered', actor: adminOf(TENANT_B).id, tenantId: TENANT_B });
    b.push(d.id);
  });

  it('refuses a principal without a tenant: a system one with BAD_USER_INPUT (TENANT_REQUIRED), an anonymous one with UNAUTHENTICATED', async () => {
    const system = await kit.gql(REGISTER, { input: { kind: 'SCANNER' } }, SYSTEM);
    expect(codes(system)).toEqual(['BAD_USER_INPUT']);
    const anonymous = await kit.gql(REGISTER, { input: { kind: 'SCANNER' } }, { kind: 'anonymous' });
    expect(codes(anonymous)).toEqual(['UNAUTHENTICATED']);
  });

  it('refuses over-long text and unknown kinds', async () => {
    const long = await kit.gql(REGISTER, { input: { kind: 'SCANNER', model: 'x'.repeat(129) } });
    expect(codes(long)).toEqual(['BAD_USER_INPUT']);
    expect(long.errors![0].extensions!.argument).toBe('input.model');
    const kind = await kit.gql(REGISTER, { input: { kind: 'TOASTER' } });
    expect(codes(kind)).toEqual(['BAD_USER_INPUT']);
  });
});

describe('device(id)', () => {
  it('returns a device of the caller’s tenant', async () => {
    const r = await kit.gql(DEVICE, { id: a[0] });
    expect(r.data!.device).toEqual({ id: a[0], tenantId: TENANT_A, kind: 'SENSOR_TAG', status: 'PENDING' });
  });

  it('returns null for another tenant’s device and for an unknown id', async () => {
    expect((await kit.gql(DEVICE, { id: b[0] })).data!.device).toBeNull();
    expect((await kit.gql(DEVICE, { id: a[0] }, adminOf(TENANT_B))).data!.device).toBeNull();
    expect((await kit.gql(DEVICE, { id: 'no-such-device' })).data!.device).toBeNull();
  });

  it('refuses a missing or mistyped id with GRAPHQL_VALIDATION_FAILED', async () => {
    expect(codes(await kit.gql('{ device { id } }'))).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(codes(await kit.gql('{ device(id: {x: 1}) { id } }'))).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  });
});

describe('devices(first, after)', () => {
  it('pages through the tenant’s devices newest first', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 3; page++) {
      const r: GqlResult = await kit.gql(DEVICES, { first: 2, after });
      expect(r.errors).toBeUndefined();
      const conn: any = r.data!.devices;
      expect(conn.totalCount).toBe(5);
      seen.push(...conn.edges.map((e: any) => e.node.id));
      expect(conn.pageInfo.hasNextPage).toBe(page < 2);
      after = conn.pageInfo.endCursor;
    }
    expect(seen).toEqual([...a].reverse());
  });

  it('shows tenant B only its own devices', async () => {
    const r = await kit.gql(DEVICES, { first: 100 }, adminOf(TENANT_B));
    expect(r.data!.devices.totalCount).toBe(b.length);
    expect(r.data!.devices.edges.map((e: any) => e.node.tenantId)).toEqual(b.map(() => TENANT_B));
  });

  it('answers first: 0 with an empty page that says whether more exist', async () => {
    const r = await kit.gql(DEVICES, { first: 0 });
    expect(r.data!.devices).toEqual({ totalCount: 5, edges: [], pageInfo: { hasNextPage: true, endCursor: null } });
  });

  it('refuses first above 100, negative first and bad cursors with BAD_USER_INPUT', async () => {
    expect(codes(await kit.gql(DEVICES, { first: 1000 }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await kit.gql(DEVICES, { first: -1 }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await kit.gql(DEVICES, { after: 'not-a-cursor' }))).toEqual(['BAD_USER_INPUT']);
    // Well-formed but with a string sort key: not a cursor of this list.
    const foreign = Buffer.from(JSON.stringify(['abc', a[0]])).toString('base64url');
    expect(codes(await kit.gql(DEVICES, { after: foreign }))).toEqual(['BAD_USER_INPUT']);
  });

  it('refuses wrong argument types with GRAPHQL_VALIDATION_FAILED', async () => {
    expect(codes(await kit.gql('{ devices(first: "ten") { totalCount } }'))).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(codes(await kit.gql(DEVICES, { first: 'ten' }))).toEqual(['BAD_USER_INPUT']);
  });
});

describe('_entities Device', () => {
  it('resolves the caller’s devices and null for another tenant’s, in order', async () => {
    const reps = [a[1], b[0], 'missing', a[3]].map((id) => ({ __typename: 'Device', id }));
    const r = await kit.gql(ENTITIES, { reps });
    expect(r.errors).toBeUndefined();
    expect(r.data!._entities).toEqual([{ id: a[1], tenantId: TENANT_A, kind: 'SENSOR_TAG' }, null, null, { id: a[3], tenantId: TENANT_A, kind: 'SENSOR_TAG' }]);
  });

  it('batches every reference into one devices query', async () => {
    kit.devdb.resetStats();
    const r = await kit.gql(ENTITIES, { reps: [...a, ...b].map((id) => ({ __typename: 'Device', id })) }, SYSTEM);
    expect(r.data!._entities.every((d: unknown) => d !== null)).toBe(true);
    expect(kit.devdb.stats().byCollection).toEqual({ 'find:devices': 1 });
  });
});

