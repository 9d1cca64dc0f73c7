/**
 * Identity's `POST /internal/principal-status`, as the gateway asks it on
 * every (uncached) request: users known and ACTIVE in the token's tenant;
 * clients ACTIVE in their tenant before their contract end; SSO principals
 * active unless identity knows them (SCIM externalId = sub) as inactive;
 * devices not judged here (inactive: NOT_AUTHORITY, the device subgraph
 * answers for them). Only the gateway (a system principal) may ask.
 */
import { demoUser, startIdentity, SYSTEM, type IdentityKit } from './kit';

let kit: IdentityKit;
beforeAll(async () => {
  kit = await startIdentity();
});
afterAll(() => kit?.close());

async function status(body: Record<string, unknown>, principal = SYSTEM): Promise<{ status: number; body: any }> {
  const res = await fetch(new URL('/internal/principal-status', kit.url), {
    method: 'POST',
    headers: { authorization: `Bearer ${await kit.internalToken(principal)}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

test('users: active when known and ACTIVE in the token tenant', async () => {
  const u = demoUser(kit.plan, 0, 'AUDITOR');
  expect((await status({ id: u.id, tenantId: u.tenantId, subjectType: 'user' })).body).toEqual({ active: true });
  expect((await status({ id: u.id, tenantId: kit.plan.tenants[1].id, subjectType: 'user' })).body).toEqual({ active: false, reason: 'TENANT_MISMATCH' });
  expect((await status({ id: 'aaaaaaaaaaaaaaaaaaaaaaaa', tenantId: u.tenantId, subjectType: 'user' })).body).toEqual({ active: false, reason: 'UNKNOWN' });
  await kit.models.User.updateOne({ _id: u.id }, { $set: { status: 'SUSPENDED' } });
  expect((await status({ id: u.id, tenantId: u.tenantId, subjectType: 'user' })).body).toEqual({ active: false, reason: 'SUSPENDED' });
});

test('clients: active until their contract ends or they are revoked', async () => {
  const c = kit.plan.apiClient;
  const ask = () => status({ id: c.id, tenantId: c.tenantId, subjectType: 'client' });
  expect((await ask()).body).toEqual({ active: true });
  await kit.models.ApiClient.updateOne({ _id: c.id }, { $set: { contractEndsAt: new Date(Date.now() - 1000) } });
  expect((await ask()).body).toEqual({ active: false, reason: 'CONTRACT_ENDED' });
  await kit.models.ApiClient.updateOne({ _id: c.id }, { $set: { contractEndsAt: null, status: 'REVOKED' } });
  expect((await ask()).body).toEqual({ active: false, reason: 'REVOKED' });
});

test('SSO principals: their IdP decides, unless identity knows the subject as an inactive user', async () => {
  const u = demoUser(kit.plan, 1, 'DRIVER');
  const ask = () => status({ id: `https://idp.example#sub-77`, tenantId: u.tenantId, subjectType: 'user', externalSubject: 'sub-77' });
  expect((await ask()).body).toEqual({ active: true });
  await kit.models.User.updateOne({ _id: u.id }, { $set: { externalId: 'sub-77' } });
  expect((await ask()).body).toEqual({ active: true, userId: u.id });
  await kit.models.User.updateOne({ _id: u.id }, { $set: { status: 'DEPROVISIONED' } });
  expect((await ask()).body).toEqual({ active: false, reason: 'DEPROVISIONED', userId: u.id });
});

test('devices are not judged here (the device subgraph owns them): a misrouted question fails closed', async () => {
  expect((await status({ id: kit.plan.devices[0].id, tenantId: kit.plan.devices[0].tenantId, subjectType: 'device' })).body).toEqual({ active: false, reason: 'NOT_AUTHORITY' });
});

test('only the gateway may ask; bad requests are 400', async () => {
  const u = demoUser(kit.plan, 0, 'TENANT_ADMIN');
  const asUser = await status({ id: u.id, tenantId: u.tenantId, subjectType: 'user' }, { kind: 'user', id: u.id, tenantId: u.tenantId, roles: u.roles, scopes: [] } as never);
  expect(asUser.status).toBe(403);
  const none = await fetch(new URL('/internal/principal-status', kit.url), { method: 'POST', body: '{}' });
  expect(none.status).toBe(401);
  expect((await status({ id: u.id, tenantId: u.tenantId, subjectType: 'robot' })).status).toBe(400);
  expect((await status({ id: { $ne: null }, tenantId: u.tenantId, subjectType: 'user' })).status).toBe(400);
});
