import { seed } from '../../../subgraphs/identity/seed';
import { asUser, demoUser, startIdentity, type IdentityKit } from './kit';

let kit: IdentityKit;
beforeAll(async () => {
  kit = await startIdentity({ seed: false });
});
afterAll(() => kit?.close());

const snapshot = async () => ({
  tenants: await kit.models.Tenant.find().sort({ _id: 1 }).lean(),
  users: await kit.models.User.find().sort({ _id: 1 }).lean(),
  clients: await kit.models.ApiClient.find().sort({ _id: 1 }).lean(),
});

test('seeds the plan: its tenants, a user of every role in each, the partner client', async () => {
  await seed(kit.stores.forRegion(), kit.plan);
  const { tenants, users, clients } = await snapshot();
  expect(tenants.map((t) => t._id).sort()).toEqual(kit.plan.tenants.map((t) => t.id).sort());
  expect(users).toHaveLength(kit.plan.users.length);
  for (const t of kit.plan.tenants) {
    const roles = users.filter((u) => u.tenantId === t.id).flatMap((u) => u.roles);
    expect(roles.sort()).toEqual(['AUDITOR', 'DISPATCHER', 'DRIVER', 'PRIVACY_OFFICER', 'SECURITY_ADMIN', 'SUPPORT_AGENT', 'TENANT_ADMIN']);
  }
  expect(clients).toEqual([expect.objectContaining({ _id: kit.plan.apiClient.id, tenantId: kit.plan.apiClient.tenantId, status: 'ACTIVE' })]);
  // The seeded data is served.
  const res = await kit.gql(`{ me { email } }`, {}, asUser(demoUser(kit.plan, 1, 'AUDITOR')));
  expect(res.data!.me.email).toBe(demoUser(kit.plan, 1, 'AUDITOR').email);
});

test('a second run changes nothing and keeps edits made since', async () => {
  const driver = demoUser(kit.plan, 0, 'DRIVER');
  await kit.models.User.updateOne({ _id: driver.id }, { status: 'SUSPENDED' });
  const before = await snapshot();
  await seed(kit.stores.forRegion(), kit.plan);
  await seed(kit.stores.forRegion(), kit.plan);
  expect(await snapshot()).toEqual(before);
  expect(before.users.find((u) => u._id === driver.id)!.status).toBe('SUSPENDED');
});
