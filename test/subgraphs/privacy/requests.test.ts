import { Types } from 'mongoose';
import { encodeCursor } from '../../../lib/pagination';
import { SYSTEM, codes, officer, reasons, startPrivacy, type GqlResult, type PrivacyKit } from './kit';

let kit: PrivacyKit;
beforeAll(async () => {
  // No seed: this file owns every request in the database. The clock starts on 31 January.
  kit = await startPrivacy({ seed: false, now: '2025-01-31T12:00:00.000Z' });
});
afterAll(() => kit?.close());

const FIELDS = 'id tenantId subjectId kind receivedAt dueAt status legalHolds completedAt';
const CREATE = `mutation ($i: CreateDataSubjectRequestInput!) { createDataSubjectRequest(input: $i) { ${FIELDS} } }`;
const MOVE = `mutation ($id: ID!, $s: DsrStatus!) { updateDataSubjectRequestStatus(id: $id, status: $s) { ${FIELDS} } }`;
const LIST = `query ($first: Int, $after: String) {
  dataSubjectRequests(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id tenantId dueAt } } }
}`;

const A = () => officer(kit.plan, 0);
const B = () => officer(kit.plan, 1);

async function create(input: Record<string, unknown>, as = A()) {
  const res = await kit.gql(CREATE, { i: input }, as);
  expect(res.errors).toBeUndefined();
  return res.data!.createDataSubjectRequest;
}

async function move(id: string, s: string, as = A()) {
  return kit.gql(MOVE, { id, s }, as);
}

describe('createDataSubjectRequest', () => {
  test('is received now and due one calendar month later (31 Jan → 28 Feb)', async () => {
    const dsr = await create({ subjectId: 'subject-1', kind: 'ACCESS' });
    expect(dsr).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{24}$/),
      tenantId: kit.plan.tenants[0].id,
      subjectId: 'subject-1',
      kind: 'ACCESS',
      receivedAt: '2025-01-31T12:00:00.000Z',
      dueAt: '2025-02-28T12:00:00.000Z',
      status: 'RECEIVED',
      legalHolds: [],
      completedAt: null,
    });
  });

  test('an earlier receipt (by post) starts the deadline then', async () => {
    const dsr = await create({ subjectId: 'subject-2', kind: 'PORTABILITY', receivedAt: '2024-12-15T08:00:00Z' });
    expect(dsr).toMatchObject({ receivedAt: '2024-12-15T08:00:00.000Z', dueAt: '2025-01-15T08:00:00.000Z', status: 'RECEIVED' });
  });

  test('an erasure carries the customs legal hold (every region while the caller region is unknown)', async () => {
    const dsr = await create({ subjectId: 'subject-3', kind: 'ERASURE' });
    expect(dsr.legalHolds).toEqual(['customs:APAC:5y', 'customs:EU:3y', 'customs:US:5y']);
  });

  test('a receipt in the future is BAD_USER_INPUT', async () => {
    const res = await kit.gql(CREATE, { i: { subjectId: 'subject-x', kind: 'ACCESS', receivedAt: '2025-02-01T00:00:00Z' } }, A());
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(reasons(res)).toEqual(['INVALID_INPUT']);
  });

  test('the tenant comes from the caller: a system principal is BAD_USER_INPUT (TENANT_REQUIRED), an anonymous one UNAUTHENTICATED', async () => {
    const system = await kit.gql(CREATE, { i: { subjectId: 'subject-x', kind: 'ACCESS' } }, SYSTEM);
    expect(codes(system)).toEqual(['BAD_USER_INPUT']);
    expect(reasons(system)).toEqual(['TENANT_REQUIRED']);
    const anonymous = await kit.gql(CREATE, { i: { subjectId: 'subject-x', kind: 'ACCESS' } });
    expect(codes(anonymous)).toEqual(['UNAUTHENTICATED']);
    expect(await kit.models.DataSubjectRequest.countDocuments({ subjectId: 'subject-x' })).toBe(0);
  });

  test('an unknown kind is GRAPHQL_VALIDATION_FAILED', async () => {
    const res = await kit.gql(`mutation { createDataSubjectRequest(input: { subjectId: "s", kind: DELETE }) { id } }`, {}, A());
    expect(codes(res)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  });

  test('is audited with kind and deadline, never the subject id', async () => {
    kit.audit.events.length = 0;
    const dsr = await create({ subjectId: 'subject-audit', kind: 'ERASURE' });
    expect(kit.audit.events).toEqual([
      expect.objectContaining({
        type: 'dsr.created',
        actor: expect.stringMatching(/^user:/),
        tenantId: kit.plan.tenants[0].id,
        target: `DataSubjectRequest:${dsr.id}`,
        details: { kind: 'ERASURE', dueAt: dsr.dueAt, legalHolds: dsr.legalHolds },
      }),
    ]);
    expect(JSON.stringify(kit.audit.events)).not.toContain('subject-audit');
  });
});

describe('updateDataSubjectRequestStatus', () => {
  test('RECEIVED → IN_PROGRESS → COMPLETED stamps completedAt from the clock', async () => {
    const dsr = await create({ subjectId: 'subject-flow', kind: 'ACCESS' });
    const started = await move(dsr.id, 'IN_PROGRESS');
    expect(started.errors).toBeUndefined();
    expect(started.data!.updateDataSubjectRequestStatus).toMatchObject({ status: 'IN_PROGRESS', completedAt: null });
    kit.clock.advance(5 * 24 * 3600 * 1000);
    const done = await move(dsr.id, 'COMPLETED');
    expect(done.errors).toBeUndefined();
    expect(done.data!.updateDataSubjectRequestStatus).toMatchObject({ status: 'COMPLETED', completedAt: '2025-02-05T12:00:00.000Z', dueAt: dsr.dueAt });
    kit.clock.set('2025-01-31T12:00:00.000Z');
  });

  test.each(['RECEIVED', 'IN_PROGRESS', 'EXTENDED', 'COMPLETED', 'REJECTED'])('a COMPLETED or REJECTED request cannot move to %s (INVALID_TRANSITION)', async (to) => {
    const completed = await create({ subjectId: 'subject-final', kind: 'ACCESS' });
    await move(completed.id, 'IN_PROGRESS');
    await move(completed.id, 'COMPLETED');
    const rejected = await create({ subjectId: 'subject-final', kind: 'ACCESS' });
    expect((await move(rejected.id, 'REJECTED')).errors).toBeUndefined();
    for (const id of [completed.id, rejected.id]) {
      const res = await move(id, to);
      expect(codes(res)).toEqual(['BAD_USER_INPUT']);
      expect(reasons(res)).toEqual(['INVALID_TRANSITION']);
    }
  });

  test('a request cannot skip work (RECEIVED → COMPLETED) or go back to RECEIVED', async () => {
    const dsr = await create({ subjectId: 'subject-skip', kind: 'ACCESS' });
    expect(reasons(await move(dsr.id, 'COMPLETED'))).toEqual(['INVALID_TRANSITION']);
    expect(reasons(await move(dsr.id, 'RECEIVED'))).toEqual(['INVALID_TRANSITION']);
    await move(dsr.id, 'IN_PROGRESS');
    expect(reasons(await move(dsr.id, 'RECEIVED'))).toEqual(['INVALID_TRANSITION']);
  });

  test('EXTENDED moves dueAt to three calendar months after receipt, once; work continues after it', async () => {
    const dsr = await create({ subjectId: 'subject-ext', kind: 'ERASURE' });
    const extended = await move(dsr.id, 'EXTENDED');
    expect(extended.errors).toBeUndefined();
    expect(extended.data!.updateDataSubjectRequestStatus).toMatchObject({ status: 'EXTENDED', receivedAt: '2025-01-31T12:00:00.000Z', dueAt: '2025-04-30T12:00:00.000Z' });
    const resumed = await move(dsr.id, 'IN_PROGRESS');
    expect(resumed.data!.updateDataSubjectRequestStatus).toMatchObject({ status: 'IN_PROGRESS', dueAt: '2025-04-30T12:00:00.000Z' });
    const again = await move(dsr.id, 'EXTENDED');
    expect(codes(again)).toEqual(['BAD_USER_INPUT']);
    expect(reasons(again)).toEqual(['INVALID_TRANSITION']);
  });

  test('an extension after the original deadline is BAD_USER_INPUT (EXTENSION_TOO_LATE)', async () => {
    const dsr = await create({ subjectId: 'subject-late', kind: 'ACCESS', receivedAt: '2024-12-01T00:00:00Z' });
    await move(dsr.id, 'IN_PROGRESS');
    const res = await move(dsr.id, 'EXTENDED');
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(reasons(res)).toEqual(['EXTENSION_TOO_LATE']);
    expect((await kit.models.DataSubjectRequest.findById(dsr.id).lean())!.status).toBe('IN_PROGRESS');
  });

  test('on the due date itself the deadline can still be extended', async () => {
    const dsr = await create({ subjectId: 'subject-edge', kind: 'ACCESS', receivedAt: '2024-12-31T12:00:00Z' });
    expect(dsr.dueAt).toBe('2025-01-31T12:00:00.000Z');
    const res = await move(dsr.id, 'EXTENDED');
    expect(res.errors).toBeUndefined();
    expect(res.data!.updateDataSubjectRequestStatus.dueAt).toBe('2025-03-31T12:00:00.000Z');
  });

  test("an unknown, malformed or other tenant's id is NOT_FOUND", async () => {
    const dsr = await create({ subjectId: 'subject-nf', kind: 'ACCESS' });
    for (const [id, as] of [
      [new Types.ObjectId().toHexString(), A()],
      ['not-an-id', A()],
      [dsr.id, B()],
    ] as const) {
      const res = await move(id, 'IN_PROGRESS', as);
      expect(codes(res)).toEqual(['NOT_FOUND']);
    }
    expect((await kit.models.DataSubjectRequest.findById(dsr.id).lean())!.status).toBe('RECEIVED');
  });

  test('is audited with the transition, never the subject id', async () => {
    const dsr = await create({ subjectId: 'subject-audit-move', kind: 'ACCESS' });
    kit.audit.events.length = 0;
    await move(dsr.id, 'IN_PROGRESS');
    expect(kit.audit.events).toEqual([
      expect.objectContaining({ type: 'dsr.status_changed', target: `DataSubjectRequest:${dsr.id}`, tenantId: kit.plan.tenants[0].id, details: { from: 'RECEIVED', to: 'IN_PROGRESS', dueAt: dsr.dueAt } }),
    ]);
    expect(JSON.stringify(kit.audit.events)).not.toContain('subject-audit-move');
  });

  test('an anonymous caller is UNAUTHENTICATED', async () => {
    const dsr = await create({ subjectId: 'subject-anon', kind: 'ACCESS' });
    expect(codes(await kit.gql(MOVE, { id: dsr.id, s: 'IN_PROGRESS' }))).toEqual(['UNAUTHENTICATED']);
  });
});

describe('dataSubjectRequests', () => {
  beforeAll(async () => {
    for (const day of ['2024-12-20', '2024-12-05', '2025-01-10']) await create({ subjectId: 'subject-b', kind: 'ACCESS', receivedAt: `${day}T00:00:00Z` }, B());
  });

  const expectedIds = async (tenantIndex: number) =>
    (await kit.models.DataSubjectRequest.find({ tenantId: kit.plan.tenants[tenantIndex].id }).sort({ dueAt: 1, _id: 1 }).lean()).map((d) => String(d._id));

  test("pages through the caller's tenant only, oldest deadline first, without overlap", async () => {
    const expected = await expectedIds(0);
    expect(expected.length).toBeGreaterThan(10);
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const res: GqlResult = await kit.gql(LIST, { first: 4, after }, A());
      expect(res.errors).toBeUndefined();
      const conn = res.data!.dataSubjectRequests;
      expect(conn.totalCount).toBe(expected.length);
      for (const e of conn.edges) {
        expect(e.node.tenantId).toBe(kit.plan.tenants[0].id);
        seen.push(e.node.id);
      }
      expect(conn.pageInfo.endCursor).toBe(conn.edges.at(-1)?.cursor ?? null);
      if (!conn.pageInfo.hasNextPage) break;
      after = conn.pageInfo.endCursor;
    }
    expect(seen).toEqual(expected);
  });

  test("tenant B sees only its own requests, A's never", async () => {
    const res = await kit.gql(LIST, { first: 100 }, B());
    expect(res.errors).toBeUndefined();
    const conn = res.data!.dataSubjectRequests;
    expect(conn.totalCount).toBe(3);
    expect(conn.edges.map((e: any) => e.node.id)).toEqual(await expectedIds(1));
    expect(conn.edges.map((e: any) => e.node.dueAt)).toEqual(['2025-01-05T00:00:00.000Z', '2025-01-20T00:00:00.000Z', '2025-02-10T00:00:00.000Z']);
    expect(conn.pageInfo.hasNextPage).toBe(false);
  });

  test('first: 0 returns no edges but says more follow', async () => {
    const res = await kit.gql(LIST, { first: 0 }, B());
    expect(res.data!.dataSubjectRequests).toMatchObject({ edges: [], pageInfo: { hasNextPage: true, endCursor: null }, totalCount: 3 });
  });

  test('the default page size is 20', async () => {
    const res = await kit.gql(`{ dataSubjectRequests { edges { node { id } } } }`, {}, A());
    expect(res.data!.dataSubjectRequests.edges).toHaveLength(Math.min(20, (await expectedIds(0)).length));
  });

  test.each([
    ['first: 1000', { first: 1000 }],
    ['first: -1', { first: -1 }],
    ['a garbage cursor', { first: 2, after: 'garbage!' }],
    ['a cursor with a string sort key', { first: 2, after: encodeCursor({ k: 'x', id: new Types.ObjectId().toHexString() }) }],
    ['a cursor with a malformed id', { first: 2, after: encodeCursor({ k: 1, id: 'nope' }) }],
  ])('%s is BAD_USER_INPUT', async (_what, vars) => {
    const res = await kit.gql(LIST, vars, A());
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
  });

  test('a wrong argument type is GRAPHQL_VALIDATION_FAILED', async () => {
    const res = await kit.gql(`{ dataSubjectRequests(first: "ten") { totalCount } }`, {}, A());
    expect(codes(res)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  });

  test('an anonymous caller is UNAUTHENTICATED', async () => {
    expect(codes(await kit.gql(LIST, { first: 5 }))).toEqual(['UNAUTHENTICATED']);
  });
});
