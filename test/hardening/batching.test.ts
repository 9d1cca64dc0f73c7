/**
 * Batching and the sensitive root fields. JSON-array batching is off by
 * default (BATCHING_DISABLED); when on, a small maximum holds for the whole
 * batch (BATCH_TOO_LARGE for every operation of a longer one). Root fields
 * dealing with credentials or elevation run at most once per request:
 * never aliased, repeated or batched (SENSITIVE_OPERATION_REFUSED). The
 * token, login and OTP endpoints are plain HTTP routes, not GraphQL.
 */
import { ADMIN, codes, person, startHardenedGateway, type HardenedGateway } from './kit';

const SECURITY_ADMIN = person(['SECURITY_ADMIN'], ['users:read', 'users:write'], { amr: ['pwd', 'otp', 'mfa'], authTime: Math.floor(Date.now() / 1000) });
const json = { 'content-type': 'application/json' };

async function batch(g: HardenedGateway, ops: Array<{ query: string; variables?: Record<string, unknown> }>, token?: string) {
  return g.raw({ method: 'POST', headers: { ...json, ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(ops) });
}

describe('batching off (the default, every environment)', () => {
  let g: HardenedGateway;
  beforeAll(async () => {
    g = await startHardenedGateway('development');
  });
  afterAll(async () => {
    await g?.stop();
  });

  test('a JSON array is BATCHING_DISABLED, even of one operation', async () => {
    for (const n of [1, 2, 10]) {
      const res = await batch(g, Array.from({ length: n }, () => ({ query: '{ __typename }' })));
      expect(res.status).toBe(400);
      expect(codes(res.json)).toEqual(['BATCHING_DISABLED']);
    }
  });
});

describe('batching on with a maximum of 3', () => {
  let g: HardenedGateway;
  beforeAll(async () => {
    g = await startHardenedGateway('production', { hardening: { limits: { maxBatchSize: 3 } } });
  });
  afterAll(async () => {
    await g?.stop();
  });

  test('up to the maximum, each operation is answered', async () => {
    const res = await batch(g, [{ query: '{ __typename }' }, { query: 'query B { b: __typename }' }, { query: '{ __typename }' }]);
    expect(res.status).toBe(200);
    expect(res.json).toEqual([{ data: { __typename: 'Query' } }, { data: { b: 'Query' } }, { data: { __typename: 'Query' } }]);
  });

  test('one more and every operation of the batch is BATCH_TOO_LARGE', async () => {
    const res = await batch(g, Array.from({ length: 4 }, () => ({ query: '{ __typename }' })));
    expect(res.status).toBe(400);
    expect(res.json).toHaveLength(4);
    for (const part of res.json) {
      expect(part.data).toBeUndefined();
      expect(codes(part)).toEqual(['BATCH_TOO_LARGE']);
      expect(part.errors[0].extensions).toMatchObject({ limit: 3, found: 4 });
    }
  });

  test('a sensitive root field inside a batch is SENSITIVE_OPERATION_REFUSED (BATCHED); the rest of the batch runs', async () => {
    const token = await g.tokenFor(SECURITY_ADMIN);
    const res = await batch(g, [{ query: 'mutation Approve($id: ID!) { approveElevation(id: $id) { id } }', variables: { id: 'e1' } }, { query: '{ __typename }' }], token);
    expect(codes(res.json[0])).toEqual(['SENSITIVE_OPERATION_REFUSED']);
    expect(res.json[0].errors[0].extensions.reason).toBe('BATCHED');
    expect(res.json[1]).toEqual({ data: { __typename: 'Query' } });
  });
});

describe('sensitive root fields outside batches', () => {
  let g: HardenedGateway;
  beforeAll(async () => {
    g = await startHardenedGateway('production');
  });
  afterAll(async () => {
    await g?.stop();
  });

  test('aliased: refused at validation with reason ALIASED (BatchQL-style brute force through aliases)', async () => {
    const res = await g.gql('mutation { a: approveElevation(id: "e1") { id } }', { as: SECURITY_ADMIN });
    expect(res.status).toBe(400);
    expect(codes(res)).toEqual(['SENSITIVE_OPERATION_REFUSED']);
    expect(res.errors![0].extensions!.reason).toBe('ALIASED');
  });

  test('repeated, or two sensitive fields in one operation: reason REPEATED', async () => {
    for (const query of [
      'mutation { approveElevation(id: "e1") { id } approveElevation(id: "e1") { status } }',
      'mutation { approveElevation(id: "e1") { id } denyElevation(id: "e2", reason: "no") { id } }',
      'mutation { ...A approveElevation(id: "e1") { id } } fragment A on Mutation { approveElevation(id: "e1") { status } }',
    ]) {
      const res = await g.gql(query, { as: SECURITY_ADMIN });
      expect(codes(res)).toContain('SENSITIVE_OPERATION_REFUSED');
      expect(res.errors!.find((e) => e.extensions!.code === 'SENSITIVE_OPERATION_REFUSED')!.extensions!.reason).toBe('REPEATED');
    }
  });

  test('once, unaliased, it passes the hardening (and reaches the subgraph)', async () => {
    const res = await g.gql('mutation { approveElevation(id: "e1") { id } }', { as: SECURITY_ADMIN });
    expect(codes(res)).not.toContain('SENSITIVE_OPERATION_REFUSED');
    // One fragment spread twice is one field: graphql merges it and runs it once.
    const merged = await g.gql('mutation { ...A ...A } fragment A on Mutation { approveElevation(id: "e1") { id } }', { as: SECURITY_ADMIN });
    expect(codes(merged)).not.toContain('SENSITIVE_OPERATION_REFUSED');
  });

  test('the list is configurable', async () => {
    const custom = await startHardenedGateway('production', { hardening: { sensitiveRootFields: ['createUser'] } });
    try {
      const res = await custom.gql('mutation ($i: CreateUserInput!) { u: createUser(input: $i) { id } }', { as: ADMIN, variables: { i: {} } });
      expect(codes(res)).toContain('SENSITIVE_OPERATION_REFUSED');
      const approve = await custom.gql('mutation { a: approveElevation(id: "e1") { id } }', { as: SECURITY_ADMIN });
      expect(codes(approve)).not.toContain('SENSITIVE_OPERATION_REFUSED');
    } finally {
      await custom.stop();
    }
  });
});
