/**
 * Masked by default in the identity subgraph: users' email addresses and
 * names are masked for everyone but the user themself, `revealUser` shows
 * them for a reason and audits it, and an elevation's reasons are read by
 * its requester and the tenant's SECURITY_ADMINs (the need-to-know
 * exemptions of lib/pii/masking.ts). Production mode, as clients see it.
 */
import type { Principal } from '../../../lib/context';
import { REVEAL_AUDIT_TYPE } from '../../../lib/reveal';
import { asUser, codes, demoUser, startIdentity, type IdentityKit } from './kit';

let kit: IdentityKit;

beforeAll(async () => {
  kit = await startIdentity();
}, 30_000);

afterAll(async () => {
  await kit?.close();
});

const userOf = (tenant: number, role: string) => asUser(demoUser(kit.plan, tenant, role));
const REVEAL_USER = `mutation($id: ID!, $reason: String!) { revealUser(id: $id, reason: $reason) { fields revealedAt expiresAt user { id email name roles } } }`;
const mask = (email: string) => `${email[0]}***${email.slice(email.indexOf('@'))}`;

describe('users are masked by default', () => {
  test.each(['TENANT_ADMIN', 'SECURITY_ADMIN', 'AUDITOR'])("%s lists other people's email and name masked, and their own unmasked", async (role) => {
    const me = userOf(0, role);
    const res = await kit.gql(`{ users(first: 100) { edges { node { id email name } } } }`, {}, me);
    expect(res.errors).toBeUndefined();
    for (const { node } of res.data!.users.edges) {
      const u = kit.plan.users.find((x) => x.id === node.id)!;
      if (u.id === me.id) expect(node).toEqual({ id: u.id, email: u.email, name: u.name });
      else expect(node).toEqual({ id: u.id, email: mask(u.email), name: expect.stringMatching(/^(\S\*\*\*( |$))+$/) });
    }
  });

  test.each(['TENANT_ADMIN', 'SECURITY_ADMIN', 'PRIVACY_OFFICER', 'SUPPORT_AGENT', 'DISPATCHER', 'DRIVER', 'AUDITOR'])('%s reads their own account unmasked through me', async (role) => {
    const u = demoUser(kit.plan, 0, role);
    const res = await kit.gql(`{ me { id email name } }`, {}, asUser(u));
    expect(res.data!.me).toEqual({ id: u.id, email: u.email, name: u.name });
  });

  test('a User fetched through _entities is masked unless it is the caller', async () => {
    const driver = demoUser(kit.plan, 0, 'DRIVER');
    const admin = userOf(0, 'TENANT_ADMIN');
    const q = `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { email } } }`;
    expect((await kit.gql(q, { r: [{ __typename: 'User', id: driver.id }] }, admin)).data!._entities).toEqual([{ email: mask(driver.email) }]);
    expect((await kit.gql(q, { r: [{ __typename: 'User', id: driver.id }] }, asUser(driver))).data!._entities).toEqual([{ email: driver.email }]);
  });
});

describe('revealUser', () => {
  const target = () => demoUser(kit.plan, 0, 'DRIVER');
  const revealsOf = (id: string) => kit.audit.events.filter((e) => e.type === REVEAL_AUDIT_TYPE && e.target === `User:${id}`);

  test.each(['TENANT_ADMIN', 'SECURITY_ADMIN', 'PRIVACY_OFFICER'])('%s reveals a user of the tenant for a reason, audited', async (role) => {
    const who = userOf(0, role);
    const before = revealsOf(target().id).length;
    const res = await kit.gql(REVEAL_USER, { id: target().id, reason: 'IAM-77: confirm the account owner' }, who);
    expect(res.errors).toBeUndefined();
    expect(res.data!.revealUser).toMatchObject({ fields: ['User.email', 'User.name'], user: { id: target().id, email: target().email, name: target().name } });
    expect(Date.parse(res.data!.revealUser.expiresAt) - Date.parse(res.data!.revealUser.revealedAt)).toBe(300_000);
    expect(revealsOf(target().id)).toHaveLength(before + 1);
    expect(revealsOf(target().id).at(-1)).toMatchObject({
      actor: `user:${who.id}`,
      tenantId: kit.plan.tenants[0].id,
      details: { operation: 'Mutation.revealUser', fields: ['User.email', 'User.name'], classes: ['PII'], reason: 'IAM-77: confirm the account owner', elevationId: null },
    });
  });

  test.each(['AUDITOR', 'SUPPORT_AGENT', 'DRIVER'])('is FORBIDDEN to %s', async (role) => {
    const res = await kit.gql(REVEAL_USER, { id: target().id, reason: 'curious' }, userOf(0, role));
    expect(codes(res)).toEqual(['FORBIDDEN']);
  });

  test('answers NOT_FOUND for a user of another tenant, and BAD_USER_INPUT for a blank reason; neither is audited', async () => {
    const before = kit.audit.events.filter((e) => e.type === REVEAL_AUDIT_TYPE).length;
    const other = await kit.gql(REVEAL_USER, { id: demoUser(kit.plan, 1, 'DRIVER').id, reason: 'IAM-1' }, userOf(0, 'SECURITY_ADMIN'));
    expect(codes(other)).toEqual(['NOT_FOUND']);
    expect(other.errors![0].extensions).toMatchObject({ reason: 'USER_NOT_FOUND' });
    expect(codes(await kit.gql(REVEAL_USER, { id: target().id, reason: '   ' }, userOf(0, 'SECURITY_ADMIN')))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await kit.gql(REVEAL_USER, { id: target().id, reason: 'y'.repeat(501) }, userOf(0, 'SECURITY_ADMIN')))).toEqual(['BAD_USER_INPUT']);
    expect(kit.audit.events.filter((e) => e.type === REVEAL_AUDIT_TYPE)).toHaveLength(before);
  });
});

describe("an elevation's reasons", () => {
  const REQUEST = `mutation($input: RequestElevationInput!) { requestElevation(input: $input) { id reason } }`;
  const LIST = `{ elevations(first: 100) { edges { node { id reason denialReason } } } }`;
  const DENY = `mutation($id: ID!, $reason: String!) { denyElevation(id: $id, reason: $reason) { id reason denialReason } }`;

  test('are read by the requester and by the tenant’s SECURITY_ADMINs', async () => {
    const requester: Principal = userOf(0, 'SUPPORT_AGENT');
    const requested = await kit.gql(REQUEST, { input: { role: 'PRIVACY_OFFICER', reason: 'DISPUTE-3: need the proof of delivery', ticket: 'DISPUTE-3', durationMinutes: 30 } }, requester);
    expect(requested.errors).toBeUndefined();
    const { id } = requested.data!.requestElevation;
    expect(requested.data!.requestElevation.reason).toBe('DISPUTE-3: need the proof of delivery');
    const securityAdmin = userOf(0, 'SECURITY_ADMIN');
    const denied = await kit.gql(DENY, { id, reason: 'Use the dispute queue' }, securityAdmin);
    expect(denied.data!.denyElevation).toEqual({ id, reason: 'DISPUTE-3: need the proof of delivery', denialReason: 'Use the dispute queue' });
    const own = (await kit.gql(LIST, {}, requester)).data!.elevations.edges.map((e: any) => e.node).find((n: any) => n.id === id);
    expect(own).toEqual({ id, reason: 'DISPUTE-3: need the proof of delivery', denialReason: 'Use the dispute queue' });
  });
});
