/**
 * Just-in-time elevation end to end: an approved elevation adds its role to
 * the person's requests through the gateway — with the same token — from
 * their very next request (the gateway forgets its cached status answers
 * when a decision passes through it), and is gone once it expires, without
 * any job running.
 */
import { codes, startStack, tenantA, userOf, type Stack } from '../kit/stack';

let stack: Stack;
let clockOffsetMs = 0;
const clock = () => new Date(Date.now() + clockOffsetMs);

beforeAll(async () => {
  stack = await startStack({}, { credentialClock: clock });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

const USERS = `{ users(first: 3) { edges { node { id } } } }`;

test('a DISPATCHER elevated to AUDITOR can list users until the elevation expires', async () => {
  const dispatcher = userOf(tenantA.id, 'DISPATCHER');
  const approver = userOf(tenantA.id, 'SECURITY_ADMIN');

  // Before: the dispatcher's role does not admit `users`, refused before any subgraph is called.
  expect(codes(await stack.gql(USERS, undefined, { principal: dispatcher }))).toEqual(['FORBIDDEN']);

  const requested = await stack.gql<{ requestElevation: { id: string; status: string } }>(
    `mutation($input: RequestElevationInput!) { requestElevation(input: $input) { id status } }`,
    { input: { role: 'AUDITOR', reason: 'quarterly access review', ticket: 'SEC-1042', durationMinutes: 30 } },
    { principal: dispatcher },
  );
  expect(requested.errors).toBeUndefined();
  expect(requested.data!.requestElevation.status).toBe('PENDING');
  const id = requested.data!.requestElevation.id;

  // Still pending: nothing changes.
  expect(codes(await stack.gql(USERS, undefined, { principal: dispatcher }))).toEqual(['FORBIDDEN']);

  // Nobody approves their own request.
  expect(codes(await stack.gql(`mutation($id: ID!) { approveElevation(id: $id) { status } }`, { id }, { principal: { ...dispatcher, roles: ['SECURITY_ADMIN'] } }))).not.toEqual([]);

  const approved = await stack.gql<{ approveElevation: { status: string; expiresAt: string } }>(`mutation($id: ID!) { approveElevation(id: $id) { status expiresAt } }`, { id }, { principal: approver });
  expect(approved.errors).toBeUndefined();
  expect(approved.data!.approveElevation.status).toBe('APPROVED');

  // The very next request, same token, no clock moved: the approval passed through this gateway, which forgot the
  // cached status answers of the tenant's people (the dispatcher's was cached by the refusals above).
  const during = await stack.gql(USERS, undefined, { principal: dispatcher });
  expect(during.errors).toBeUndefined();
  expect(during.data!.users.edges.length).toBeGreaterThan(0);

  // 31 minutes later (the platform's clock; tokens are fresh): gone, with no job having run.
  clockOffsetMs = 31 * 60_000;
  expect(codes(await stack.gql(USERS, undefined, { principal: dispatcher }))).toEqual(['FORBIDDEN']);
});

test('the approval counts from the next request also when the operation reaches it through a fragment', async () => {
  clockOffsetMs = 0;
  const agent = userOf(tenantA.id, 'SUPPORT_AGENT');
  const approver = userOf(tenantA.id, 'SECURITY_ADMIN');
  // Primes the gateway's status cache for the agent: no elevation yet.
  expect(codes(await stack.gql(USERS, undefined, { principal: agent }))).toEqual(['FORBIDDEN']);
  const requested = await stack.gql<{ requestElevation: { id: string } }>(
    `mutation($input: RequestElevationInput!) { requestElevation(input: $input) { id } }`,
    { input: { role: 'AUDITOR', reason: 'customer asks who handled the ticket', ticket: 'INC-2207', durationMinutes: 15 } },
    { principal: agent },
  );
  expect(requested.errors).toBeUndefined();
  const approved = await stack.gql(`mutation($id: ID!) { ...Decide } fragment Decide on Mutation { approveElevation(id: $id) { status } }`, { id: requested.data!.requestElevation.id }, { principal: approver });
  expect(approved.errors).toBeUndefined();
  expect(approved.data!.approveElevation.status).toBe('APPROVED');
  const next = await stack.gql(USERS, undefined, { principal: agent });
  expect(next.errors).toBeUndefined();
});
