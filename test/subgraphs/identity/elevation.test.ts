/**
 * Just-in-time elevation end to end through the identity subgraph, with a
 * frozen clock shared by the service and the rules (recentMfa), and a change
 * window of Mon-Fri 08:00-18:00 Europe/Amsterdam. Nothing runs in the
 * background: expiry is the clock passing `expiresAt`.
 */
import { scopesForRoles } from '../../../lib/auth/scopes';
import { createLogger } from '../../../lib/logger';
import type { DemoUser } from '../../../lib/demo';
import { ChangeWindowSyntaxError, insideChangeWindow, parseChangeWindow } from '../../../subgraphs/identity/elevation/change-window';
import { activeElevationsFor } from '../../../subgraphs/identity/elevation/service';
import { createModels, newId, type IdentityModels } from '../../../subgraphs/identity/model';
import { buildIdentitySubgraph } from '../../../subgraphs/identity/server';
import { asUser, codes, demoUser, reasons, startSubgraph, type SubgraphKit, type UserPrincipal } from '../../kit/subgraph';

const WINDOW = 'Mon-Fri 08:00-18:00 Europe/Amsterdam';
/** Monday 10:30 in Amsterdam (CET): inside the window. */
const MONDAY = '2025-03-10T09:30:00.000Z';
/** Saturday 11:00 in Amsterdam: outside. */
const SATURDAY = '2025-03-15T10:00:00.000Z';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** Every reason text in this file carries it, so the audit trail can be searched for leaks. */
const MARK = 'confidential-reason-text';

let t = Date.parse(MONDAY);
const clock = {
  now: () => new Date(t),
  set: (iso: string) => void (t = Date.parse(iso)),
  advance: (ms: number) => void (t += ms),
};

let kit: SubgraphKit;
let models: IdentityModels;
beforeAll(async () => {
  kit = await startSubgraph('identity', {
    seed: true,
    appEnv: 'production',
    build: (deps) => buildIdentitySubgraph({ ...deps, now: clock.now, changeWindow: WINDOW, policy: { ...deps.policy, now: clock.now } }),
  });
  models = createModels(kit.stores.forRegion());
});
afterAll(() => kit?.stop());
beforeEach(() => clock.set(MONDAY));

// ------------------------------------------------------------------ helpers

type Login = 'fresh' | 'stale' | 'none';

/** A demo user's principal with a login as of the frozen clock: fresh MFA, MFA 16 minutes old, or password only. */
function as(user: DemoUser, login: Login = 'fresh', roles: string[] = user.roles): UserPrincipal {
  const nowSeconds = Math.floor(clock.now().getTime() / 1000);
  const base = asUser(user, roles, scopesForRoles(roles), false);
  if (login === 'none') return { ...base, amr: ['pwd'], authTime: nowSeconds };
  return { ...base, amr: ['pwd', 'otp'], authTime: login === 'stale' ? nowSeconds - 16 * 60 : nowSeconds };
}
const person = (role: string, tenant = 0, login: Login = 'fresh') => as(demoUser(kit.plan, tenant, role), login);
const secAdmin = (tenant = 0, login: Login = 'fresh') => person('SECURITY_ADMIN', tenant, login);

/** A fresh ACTIVE user in tenant `tenant` (so counts are not shared with other tests). */
async function newUser(roles: string[], tenant = 0): Promise<DemoUser> {
  const id = newId();
  const tenantId = kit.plan.tenants[tenant].id;
  const user = { id, tenantId, email: `u${id}@example.test`, name: `User ${id}`, roles };
  await models.User.create({ _id: id, tenantId, email: user.email, name: user.name, roles, mfaEnrolled: true, lastLoginAt: null, status: 'ACTIVE', createdAt: clock.now() });
  return user;
}

const FIELDS = 'id tenantId requesterId role scope reason ticket requestedAt durationMinutes status approvedBy deniedBy denialReason decidedAt expiresAt outsideChangeWindow';
const REQUEST = `mutation ($input: RequestElevationInput!) { requestElevation(input: $input) { ${FIELDS} } }`;
const APPROVE = `mutation ($id: ID!) { approveElevation(id: $id) { ${FIELDS} } }`;
const DENY = `mutation ($id: ID!, $reason: String!) { denyElevation(id: $id, reason: $reason) { ${FIELDS} } }`;
const LIST = `query ($status: ElevationStatus, $first: Int, $after: String) {
  elevations(status: $status, first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { ${FIELDS} } } }
}`;
const ACTIVE = `{ myActiveElevations { ${FIELDS} } }`;

const input = (overrides: Record<string, unknown> = {}) => ({ role: 'TENANT_ADMIN', reason: `Restore carrier mapping (${MARK})`, ticket: 'CHG-1042', durationMinutes: 60, ...overrides });

/** Requests an elevation as `who` and returns it (fails the test on errors). */
async function request(who: UserPrincipal, overrides: Record<string, unknown> = {}): Promise<any> {
  const res = await kit.gql(REQUEST, { input: input(overrides) }, who);
  expect(res.errors).toBeUndefined();
  return res.data!.requestElevation;
}

const statusOf = async (id: string) => (await models.Elevation.findById(id).lean())!.status;
const eventsFor = (id: string) => kit.audit.events.filter((e) => e.target === `Elevation:${id}`);

// ------------------------------------------------------------------ tests

describe('requestElevation', () => {
  test('stores a PENDING request from the caller in their tenant, audited with the grant and ticket but not the reason', async () => {
    const dispatcher = person('DISPATCHER');
    const e = await request(dispatcher);
    expect(e).toMatchObject({
      tenantId: dispatcher.tenantId,
      requesterId: dispatcher.id,
      role: 'TENANT_ADMIN',
      scope: null,
      reason: `Restore carrier mapping (${MARK})`,
      ticket: 'CHG-1042',
      requestedAt: MONDAY,
      durationMinutes: 60,
      status: 'PENDING',
      approvedBy: null,
      decidedAt: null,
      expiresAt: null,
      outsideChangeWindow: null,
    });
    expect(eventsFor(e.id)).toEqual([
      expect.objectContaining({ type: 'elevation.requested', actor: `user:${dispatcher.id}`, tenantId: dispatcher.tenantId, details: { role: 'TENANT_ADMIN', durationMinutes: 60, ticket: 'CHG-1042' } }),
    ]);
  });

  test('a scope may be requested instead of a role', async () => {
    const e = await request(person('AUDITOR'), { role: null, scope: 'users:write', durationMinutes: 15 });
    expect(e).toMatchObject({ role: null, scope: 'users:write', durationMinutes: 15, status: 'PENDING' });
  });

  test.each([
    ['longer than 240 minutes', { durationMinutes: 241 }, 'INVALID_INPUT'],
    ['0 minutes (PositiveInt: refused at coercion, no reason)', { durationMinutes: 0 }, undefined],
    ['both a role and a scope', { scope: 'users:write' }, 'INVALID_INPUT'],
    ['neither a role nor a scope', { role: null }, 'INVALID_INPUT'],
    ['PARTNER', { role: 'PARTNER' }, 'ROLE_NOT_ELEVATABLE'],
    ['DEVICE', { role: 'DEVICE' }, 'ROLE_NOT_ELEVATABLE'],
    ['an unknown scope', { role: null, scope: 'admin:*' }, 'SCOPE_NOT_ELEVATABLE'],
    ['an empty reason', { reason: '   ' }, 'INVALID_INPUT'],
    ['a reason over 500 characters (@length)', { reason: `${MARK} ${'x'.repeat(500)}` }, 'TOO_LONG'],
    ['a ticket that is not a reference', { ticket: 'see my email <script>' }, 'INVALID_INPUT'],
  ])('%s is BAD_USER_INPUT, nothing stored, nothing audited', async (_what, overrides, reason) => {
    const before = [await models.Elevation.countDocuments(), kit.audit.events.length];
    const res = await kit.gql(REQUEST, { input: input(overrides) }, person('DISPATCHER'));
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors!.map((e) => e.extensions?.reason)).toEqual([reason]);
    expect(JSON.stringify(res.errors)).not.toContain(MARK);
    expect([await models.Elevation.countDocuments(), kit.audit.events.length]).toEqual(before);
  });

  test('needs a recent MFA login (MFA_REQUIRED, STEP_UP_REQUIRED)', async () => {
    expect(codes(await kit.gql(REQUEST, { input: input() }, person('DISPATCHER', 0, 'none')))).toEqual(['MFA_REQUIRED']);
    expect(codes(await kit.gql(REQUEST, { input: input() }, person('DISPATCHER', 0, 'stale')))).toEqual(['STEP_UP_REQUIRED']);
  });

  test('partners, devices and anonymous callers are refused', async () => {
    const partner: UserPrincipal = { ...person('DISPATCHER'), roles: ['PARTNER'], subjectType: 'client' };
    expect(codes(await kit.gql(REQUEST, { input: input() }, partner))).toEqual(['FORBIDDEN']);
    expect(codes(await kit.gql(REQUEST, { input: input() }))).toEqual(['UNAUTHENTICATED']);
  });

  test('a principal that is not an active user of the tenant is FORBIDDEN (REQUESTER_NOT_ELIGIBLE)', async () => {
    const user = await newUser(['DISPATCHER']);
    await models.User.updateOne({ _id: user.id }, { $set: { status: 'SUSPENDED' } });
    const res = await kit.gql(REQUEST, { input: input() }, as(user));
    expect(reasons(res)).toEqual(['REQUESTER_NOT_ELIGIBLE']);
  });
});

describe('lifecycle with a frozen clock: request → approve → active → expired, no job', () => {
  test('is active from approval until decidedAt + duration, then EXPIRED and gone from the effective rights', async () => {
    const requester = await newUser(['DISPATCHER']);
    const e = await request(as(requester), { durationMinutes: 90 });

    clock.advance(10 * MINUTE);
    const approvedAt = clock.now();
    const approved = await kit.gql(APPROVE, { id: e.id }, secAdmin());
    expect(approved.errors).toBeUndefined();
    const expiresAt = new Date(approvedAt.getTime() + 90 * MINUTE).toISOString();
    expect(approved.data!.approveElevation).toMatchObject({
      status: 'APPROVED',
      approvedBy: secAdmin().id,
      decidedAt: approvedAt.toISOString(),
      expiresAt,
      outsideChangeWindow: false,
    });

    // Active: listed as active, and the effective rights carry the role and its scopes.
    clock.advance(89 * MINUTE);
    expect((await kit.gql(ACTIVE, {}, as(requester))).data!.myActiveElevations.map((x: any) => x.id)).toEqual([e.id]);
    const active = await activeElevationsFor(models, requester.id, requester.tenantId, clock.now());
    expect(active).toEqual({ roles: ['TENANT_ADMIN'], scopes: [...scopesForRoles(['TENANT_ADMIN'])].sort(), nextExpiryAt: new Date(expiresAt), grants: [{ id: e.id, role: 'TENANT_ADMIN' }] });

    // At expiresAt it is gone: nothing ran, the clock moved.
    clock.advance(1 * MINUTE);
    expect(clock.now().toISOString()).toBe(expiresAt);
    expect((await kit.gql(ACTIVE, {}, as(requester))).data!.myActiveElevations).toEqual([]);
    expect(await activeElevationsFor(models, requester.id, requester.tenantId, clock.now())).toEqual({ roles: [], scopes: [], nextExpiryAt: null, grants: [] });
    expect(await statusOf(e.id)).toBe('APPROVED'); // never written: EXPIRED is read from expiresAt
    expect(eventsFor(e.id).map((x) => x.type)).toEqual(['elevation.requested', 'elevation.approved']);

    // The first read of the expired elevation audits its expiry, once, even when two readers race.
    const [listed] = await Promise.all([kit.gql(LIST, { status: 'EXPIRED' }, as(requester)), kit.gql(LIST, { status: 'EXPIRED' }, as(requester))]);
    expect(listed.data!.elevations.edges.map((x: any) => [x.node.id, x.node.status])).toEqual([[e.id, 'EXPIRED']]);
    await kit.gql(LIST, {}, secAdmin());
    expect(eventsFor(e.id).map((x) => x.type)).toEqual(['elevation.requested', 'elevation.approved', 'elevation.expired']);
    expect(eventsFor(e.id)[2]).toMatchObject({
      actor: 'system:elevation-expiry',
      tenantId: requester.tenantId,
      details: { requesterId: requester.id, role: 'TENANT_ADMIN', expiredAt: expiresAt, observedBy: `user:${requester.id}` },
    });
  });

  test('a scope elevation adds exactly that scope', async () => {
    const requester = await newUser(['AUDITOR']);
    const e = await request(as(requester), { role: null, scope: 'users:write', durationMinutes: 30 });
    await kit.gql(APPROVE, { id: e.id }, secAdmin());
    expect(await activeElevationsFor(models, requester.id, requester.tenantId, clock.now())).toMatchObject({ roles: [], scopes: ['users:write'] });
    // Only in the requester's own tenant.
    expect(await activeElevationsFor(models, requester.id, kit.plan.tenants[1].id, clock.now())).toMatchObject({ roles: [], scopes: [] });
  });
});

describe('approveElevation and denyElevation', () => {
  test('the requester cannot approve or deny their own request (FORBIDDEN, SELF_APPROVAL)', async () => {
    const e = await request(secAdmin(), { role: 'PRIVACY_OFFICER' });
    for (const [query, vars] of [[APPROVE, { id: e.id }], [DENY, { id: e.id, reason: `no (${MARK})` }]] as const) {
      const res = await kit.gql(query, vars, secAdmin());
      expect(codes(res)).toEqual(['FORBIDDEN']);
      expect(reasons(res)).toEqual(['SELF_APPROVAL']);
    }
    expect(await statusOf(e.id)).toBe('PENDING');
  });

  test('an approver without MFA gets MFA_REQUIRED, with MFA older than the step-up window STEP_UP_REQUIRED', async () => {
    const e = await request(person('DISPATCHER'));
    expect(codes(await kit.gql(APPROVE, { id: e.id }, secAdmin(0, 'none')))).toEqual(['MFA_REQUIRED']);
    expect(codes(await kit.gql(APPROVE, { id: e.id }, secAdmin(0, 'stale')))).toEqual(['STEP_UP_REQUIRED']);
    expect(codes(await kit.gql(DENY, { id: e.id, reason: `no (${MARK})` }, secAdmin(0, 'stale')))).toEqual(['STEP_UP_REQUIRED']);
    expect(await statusOf(e.id)).toBe('PENDING');
  });

  test("a SECURITY_ADMIN of another tenant cannot see or decide it (NOT_FOUND, like an unknown id)", async () => {
    const e = await request(person('DISPATCHER'));
    for (const id of [e.id, newId()]) {
      const res = await kit.gql(APPROVE, { id }, secAdmin(1));
      expect(codes(res)).toEqual(['NOT_FOUND']);
      expect(reasons(res)).toEqual(['ELEVATION_NOT_FOUND']);
    }
    expect(codes(await kit.gql(DENY, { id: e.id, reason: `no (${MARK})` }, secAdmin(1)))).toEqual(['NOT_FOUND']);
    expect(await statusOf(e.id)).toBe('PENDING');
  });

  test('only SECURITY_ADMIN may decide; one holding it only through an elevation is not eligible', async () => {
    const e = await request(person('DISPATCHER'));
    expect(codes(await kit.gql(APPROVE, { id: e.id }, person('TENANT_ADMIN')))).toEqual(['FORBIDDEN']);
    // A support agent whose principal carries an elevated SECURITY_ADMIN: the user record does not back it.
    const elevated = as(demoUser(kit.plan, 0, 'SUPPORT_AGENT'), 'fresh', ['SUPPORT_AGENT', 'SECURITY_ADMIN']);
    const res = await kit.gql(APPROVE, { id: e.id }, elevated);
    expect(codes(res)).toEqual(['FORBIDDEN']);
    expect(reasons(res)).toEqual(['APPROVER_NOT_ELIGIBLE']);
    expect(await statusOf(e.id)).toBe('PENDING');
  });

  test('deny: DENIED with the denial reason for the requester, never active, audited without either reason', async () => {
    const requester = await newUser(['DRIVER']);
    const e = await request(as(requester), { role: 'DISPATCHER' });
    clock.advance(3 * MINUTE);
    const res = await kit.gql(DENY, { id: e.id, reason: `Use the runbook instead (${MARK})` }, secAdmin());
    expect(res.errors).toBeUndefined();
    expect(res.data!.denyElevation).toMatchObject({
      status: 'DENIED',
      deniedBy: secAdmin().id,
      approvedBy: null,
      denialReason: `Use the runbook instead (${MARK})`,
      decidedAt: new Date(Date.parse(MONDAY) + 3 * MINUTE).toISOString(),
      expiresAt: null,
    });
    expect(await activeElevationsFor(models, requester.id, requester.tenantId, clock.now())).toMatchObject({ roles: [], scopes: [] });
    expect(eventsFor(e.id).map((x) => [x.type, x.actor, x.details])).toEqual([
      ['elevation.requested', `user:${requester.id}`, { role: 'DISPATCHER', durationMinutes: 60, ticket: 'CHG-1042' }],
      ['elevation.denied', `user:${secAdmin().id}`, { requesterId: requester.id, role: 'DISPATCHER', ticket: 'CHG-1042' }],
    ]);
  });

  test('a decided elevation cannot be decided again (BAD_USER_INPUT, INVALID_TRANSITION)', async () => {
    const approved = await request(person('DISPATCHER'));
    await kit.gql(APPROVE, { id: approved.id }, secAdmin());
    const denied = await request(person('DISPATCHER'));
    await kit.gql(DENY, { id: denied.id, reason: `no (${MARK})` }, secAdmin());
    const attempts = [
      await kit.gql(APPROVE, { id: approved.id }, secAdmin()),
      await kit.gql(DENY, { id: approved.id, reason: `no (${MARK})` }, secAdmin()),
      await kit.gql(APPROVE, { id: denied.id }, secAdmin()),
    ];
    expect(attempts.map(reasons)).toEqual([['INVALID_TRANSITION'], ['INVALID_TRANSITION'], ['INVALID_TRANSITION']]);
    expect(attempts.flatMap(codes)).toEqual(['BAD_USER_INPUT', 'BAD_USER_INPUT', 'BAD_USER_INPUT']);
    expect(attempts.map((r) => r.errors![0].extensions!.status)).toEqual(['APPROVED', 'APPROVED', 'DENIED']);
    // An expired one says so.
    clock.advance(61 * MINUTE);
    const late = await kit.gql(APPROVE, { id: approved.id }, secAdmin());
    expect(late.errors![0].extensions).toMatchObject({ reason: 'INVALID_TRANSITION', status: 'EXPIRED' });
  });

  test('concurrent decisions: exactly one wins', async () => {
    const e = await request(person('DISPATCHER'));
    const results = await Promise.all([
      kit.gql(APPROVE, { id: e.id }, secAdmin()),
      kit.gql(APPROVE, { id: e.id }, secAdmin()),
      kit.gql(DENY, { id: e.id, reason: `no (${MARK})` }, secAdmin()),
    ]);
    expect(results.filter((r) => !r.errors)).toHaveLength(1);
    expect(results.flatMap(reasons)).toEqual(['INVALID_TRANSITION', 'INVALID_TRANSITION']);
    expect(eventsFor(e.id).filter((x) => x.type !== 'elevation.requested')).toHaveLength(1);
  });

  test('a request can be approved for 24 hours, after that it is stale (REQUEST_STALE)', async () => {
    const fresh = await request(person('DISPATCHER'));
    const stale = await request(person('DISPATCHER'));
    clock.advance(24 * HOUR - MINUTE);
    expect((await kit.gql(APPROVE, { id: fresh.id }, secAdmin())).errors).toBeUndefined();
    clock.advance(MINUTE);
    const res = await kit.gql(APPROVE, { id: stale.id }, secAdmin());
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(reasons(res)).toEqual(['REQUEST_STALE']);
    expect(await statusOf(stale.id)).toBe('PENDING');
    // A stale request may still be denied, to close it.
    expect((await kit.gql(DENY, { id: stale.id, reason: `too late (${MARK})` }, secAdmin())).errors).toBeUndefined();
  });
});

describe('change window', () => {
  test('an approval outside it succeeds, flagged outsideChangeWindow and audited as elevation.approved_outside_window', async () => {
    clock.set(SATURDAY);
    const e = await request(person('DISPATCHER'));
    const res = await kit.gql(APPROVE, { id: e.id }, secAdmin());
    expect(res.errors).toBeUndefined();
    expect(res.data!.approveElevation).toMatchObject({ status: 'APPROVED', outsideChangeWindow: true });
    const events = eventsFor(e.id);
    expect(events.map((x) => x.type)).toEqual(['elevation.requested', 'elevation.approved', 'elevation.approved_outside_window']);
    expect(events[1].details).toMatchObject({ outsideChangeWindow: true });
    expect(events[2]).toMatchObject({ actor: `user:${secAdmin().id}`, details: { outsideChangeWindow: true, changeWindow: WINDOW, role: 'TENANT_ADMIN' } });
  });

  test('inside it, no flag and no alert', async () => {
    const e = await request(person('DISPATCHER'));
    const res = await kit.gql(APPROVE, { id: e.id }, secAdmin());
    expect(res.data!.approveElevation.outsideChangeWindow).toBe(false);
    expect(eventsFor(e.id).map((x) => x.type)).toEqual(['elevation.requested', 'elevation.approved']);
  });

  test('parses days, times and the time zone (DST included); no window means always inside', () => {
    const w = parseChangeWindow(WINDOW)!;
    const at = (iso: string) => insideChangeWindow(w, new Date(iso));
    expect(at('2025-03-10T07:00:00Z')).toBe(true); // Mon 08:00 CET
    expect(at('2025-03-10T06:59:00Z')).toBe(false);
    expect(at('2025-03-10T16:59:00Z')).toBe(true);
    expect(at('2025-03-10T17:00:00Z')).toBe(false); // 18:00: closing time excluded
    expect(at('2025-07-07T06:00:00Z')).toBe(true); // Mon 08:00 CEST
    expect(at('2025-07-07T05:59:00Z')).toBe(false);
    expect(at('2025-03-15T10:00:00Z')).toBe(false); // Saturday
    // The weekday is Amsterdam's: Friday 23:30 UTC is Saturday 00:30 there.
    expect(insideChangeWindow(parseChangeWindow('Sat 00:00-02:00 Europe/Amsterdam'), new Date('2025-03-14T23:30:00Z'))).toBe(true);
    const weekend = parseChangeWindow('Fri-Mon,Wed 00:00-24:00 UTC')!;
    expect([9, 10, 11, 12, 13, 14, 15].map((d) => insideChangeWindow(weekend, new Date(Date.UTC(2025, 2, d, 12))))).toEqual([true, true, false, true, false, true, true]);
    expect(parseChangeWindow(undefined)).toBeUndefined();
    expect(parseChangeWindow('  ')).toBeUndefined();
    expect(insideChangeWindow(undefined, new Date(SATURDAY))).toBe(true);
  });

  test.each(['always', 'Mon-Fri 18:00-08:00 UTC', 'Funday 08:00-18:00 UTC', 'Mon-Fri 08:00-25:00 UTC', 'Mon-Fri 08:00-18:00 Mars/Olympus'])(
    'refuses %j (and an identity subgraph configured with it refuses to boot)',
    async (spec) => {
      expect(() => parseChangeWindow(spec)).toThrow(ChangeWindowSyntaxError);
      const deps = { stores: kit.stores, audit: kit.audit, logger: createLogger('identity-test', 'silent'), appEnv: 'production' as const, resolvePrincipal: () => ({ kind: 'anonymous' as const }) };
      await expect(buildIdentitySubgraph({ ...deps, changeWindow: spec })).rejects.toThrow(ChangeWindowSyntaxError);
    },
  );
});

describe('visibility', () => {
  test('people see their own elevations; a SECURITY_ADMIN sees the whole tenant, and no other tenant', async () => {
    const [ann, bob] = [await newUser(['DISPATCHER']), await newUser(['SUPPORT_AGENT'])];
    const annOnes = [await request(as(ann)), await request(as(ann), { role: null, scope: 'devices:write' })];
    const bobOne = await request(as(bob));
    const idsOf = (res: any) => res.data!.elevations.edges.map((x: any) => x.node.id);

    const annList = await kit.gql(LIST, {}, as(ann));
    expect(idsOf(annList).sort()).toEqual(annOnes.map((e) => e.id).sort());
    expect(annList.data!.elevations.totalCount).toBe(2);
    expect(annList.data!.elevations.edges[0].node.reason).toContain(MARK); // the requester reads their own reason
    expect(idsOf(await kit.gql(LIST, {}, as(bob)))).toEqual([bobOne.id]);

    const admin = idsOf(await kit.gql(LIST, { first: 100 }, secAdmin()));
    expect(admin).toEqual(expect.arrayContaining([...annOnes, bobOne].map((e) => e.id)));
    // Tenant B's SECURITY_ADMIN sees B's request and nothing of A's; A's does not see B's.
    const inB = await request(person('DISPATCHER', 1));
    const other = (await kit.gql(LIST, { first: 100 }, secAdmin(1))).data!.elevations.edges.map((x: any) => x.node);
    expect(other.map((e: any) => e.id)).toContain(inB.id);
    expect(other.filter((e: any) => e.tenantId !== kit.plan.tenants[1].id)).toEqual([]);
    expect(idsOf(await kit.gql(LIST, { first: 100 }, secAdmin()))).not.toContain(inB.id);

    // Nobody else's active elevations leak through myActiveElevations either.
    await kit.gql(APPROVE, { id: bobOne.id }, secAdmin());
    expect((await kit.gql(ACTIVE, {}, as(ann))).data!.myActiveElevations).toEqual([]);
    expect((await kit.gql(ACTIVE, {}, as(bob))).data!.myActiveElevations.map((x: any) => x.id)).toEqual([bobOne.id]);
  });

  test('filters by status as of now, pages newest first', async () => {
    const carl = await newUser(['AUDITOR']);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await request(as(carl))).id);
      clock.advance(MINUTE);
    }
    await kit.gql(APPROVE, { id: ids[0] }, secAdmin());
    await kit.gql(DENY, { id: ids[1], reason: `no (${MARK})` }, secAdmin());
    const byStatus = async (status?: string) => (await kit.gql(LIST, { status }, as(carl))).data!.elevations.edges.map((x: any) => x.node.id);
    expect(await byStatus('APPROVED')).toEqual([ids[0]]);
    expect(await byStatus('DENIED')).toEqual([ids[1]]);
    expect(await byStatus('PENDING')).toEqual([ids[2]]);
    expect(await byStatus('EXPIRED')).toEqual([]);
    clock.advance(2 * HOUR);
    expect(await byStatus('APPROVED')).toEqual([]);
    expect(await byStatus('EXPIRED')).toEqual([ids[0]]);

    const first = await kit.gql(LIST, { first: 2 }, as(carl));
    expect(first.data!.elevations).toMatchObject({ totalCount: 3, pageInfo: { hasNextPage: true } });
    const rest = await kit.gql(LIST, { first: 2, after: first.data!.elevations.pageInfo.endCursor }, as(carl));
    const paged = [...first.data!.elevations.edges, ...rest.data!.elevations.edges].map((x: any) => x.node.id);
    expect(paged).toEqual([...ids].reverse());
    expect(rest.data!.elevations.pageInfo.hasNextPage).toBe(false);
  });
});

describe('audit trail', () => {
  test('every elevation record names its target and tenant, and none carries a reason text', () => {
    const records = kit.audit.events.filter((e) => e.type.startsWith('elevation.'));
    expect(new Set(records.map((e) => e.type))).toEqual(
      new Set(['elevation.requested', 'elevation.approved', 'elevation.denied', 'elevation.expired', 'elevation.approved_outside_window']),
    );
    for (const e of records) {
      expect(e.target).toMatch(/^Elevation:[0-9a-f]{24}$/);
      expect(e.tenantId).toEqual(expect.any(String));
      expect(e.requestId).toEqual(expect.any(String));
      expect(Object.keys(e.details ?? {})).not.toContain('reason');
      expect(Object.keys(e.details ?? {})).not.toContain('denialReason');
      expect(JSON.stringify(e)).not.toContain(MARK);
    }
  });
});
