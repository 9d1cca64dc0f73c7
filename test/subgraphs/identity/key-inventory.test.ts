/**
 * `Query.keyInventory`: a SECURITY_ADMIN or PRIVACY_OFFICER sees the data
 * keys of their own tenant with ages and rotation due flags; subject keys
 * only as counts (no subject id anywhere in the answer); other roles and
 * other tenants' keys are refused or absent.
 */
import { newDataKeyVersion, shredSubject } from '../../../lib/crypto';
import { asUser, demoUser, startSubgraph, type SubgraphKit } from '../../kit/subgraph';

let kit: SubgraphKit;
// Subject keys the seed made (the demo users' personal data), per tenant.
const seeded: number[] = [];
const DAY = 86_400_000;
const QUERY = `{ keyInventory { rotationDays
  tenantKeys { id version status current masterKeyId createdAt ageDays rotationDue }
  subjectKeys { subjects active retired destroyed rotationDue oldestCurrentAgeDays masterKeys { masterKeyId keys } }
  masterKey { id customerManaged available } } }`;

beforeAll(async () => {
  kit = await startSubgraph('identity', { seed: true });
  const vault = kit.stores.fieldCrypto!.vault;
  const [a, b] = kit.plan.tenants.map((t) => t.id);
  for (const t of [a, b]) seeded.push((await vault.listKeys({ tenantId: t, scope: 'subject' })).length);
  // Tenant A: its own key in two versions (v1 created 120 days ago), three subjects (one 100 days old, one shredded).
  const v1 = await vault.dataKeyFor({ tenantId: a });
  await newDataKeyVersion(vault, { tenantId: a });
  for (const s of ['subject-secret-1', 'subject-secret-2', 'subject-secret-3']) await vault.dataKeyFor({ tenantId: a, subjectId: s });
  await shredSubject(vault, { tenantId: a, subjectId: 'subject-secret-3' });
  const keys = kit.stores.forRegion().db!.collection('key_vault');
  await keys.updateOne({ _id: v1.id as never }, { $set: { createdAt: new Date(Date.now() - 120 * DAY) } });
  await keys.updateOne({ tenantId: a, subjectId: 'subject-secret-1' }, { $set: { createdAt: new Date(Date.now() - 100 * DAY) } });
  // Tenant B's keys never show up in A's inventory.
  await vault.dataKeyFor({ tenantId: b });
  await vault.dataKeyFor({ tenantId: b, subjectId: 'subject-of-b' });
});
afterAll(() => kit.stop());

test('a SECURITY_ADMIN sees the tenant key versions with ages and subject keys as counts only', async () => {
  const res = await kit.gql(QUERY, {}, asUser(demoUser(kit.plan, 0, 'SECURITY_ADMIN')));
  expect(res.errors).toBeUndefined();
  const inv = res.data.keyInventory;
  expect(inv.rotationDays).toBe(90);
  expect(inv.tenantKeys).toEqual([
    expect.objectContaining({ version: 2, status: 'ACTIVE', current: true, ageDays: 0, rotationDue: false, masterKeyId: expect.stringMatching(/^local:development\//) }),
    // An old version is not "due": the current one is what rotation replaces.
    expect.objectContaining({ version: 1, status: 'ACTIVE', current: false, ageDays: 120, rotationDue: false }),
  ]);
  expect(inv.tenantKeys[0].id).toMatch(/^[0-9a-f]{32}$/);
  const platformKey = inv.tenantKeys[0].masterKeyId;
  expect(inv.subjectKeys).toEqual({ subjects: seeded[0] + 3, active: seeded[0] + 2, retired: 0, destroyed: 1, rotationDue: 1, oldestCurrentAgeDays: 100, masterKeys: [{ masterKeyId: platformKey, keys: seeded[0] + 2 }] });
  // No key of its own (BYOK): the platform's master key wraps its new data keys.
  expect(inv.masterKey).toEqual({ id: platformKey, customerManaged: false, available: true });
  expect(JSON.stringify(res.data)).not.toMatch(/subject-secret|subject-of-b|wrappedKey/);
});

test('the current tenant key past the schedule is due; a PRIVACY_OFFICER sees the same', async () => {
  const keys = kit.stores.forRegion().db!.collection('key_vault');
  await keys.updateOne({ tenantId: kit.plan.tenants[0].id, scope: 'tenant', version: 2 }, { $set: { createdAt: new Date(Date.now() - 91 * DAY) } });
  const res = await kit.gql(QUERY, {}, asUser(demoUser(kit.plan, 0, 'PRIVACY_OFFICER')));
  expect(res.errors).toBeUndefined();
  expect(res.data.keyInventory.tenantKeys[0]).toMatchObject({ version: 2, current: true, ageDays: 91, rotationDue: true });
});

test('other roles are refused; the other tenant sees only its own keys', async () => {
  for (const role of ['TENANT_ADMIN', 'AUDITOR', 'SUPPORT_AGENT']) {
    const res = await kit.gql(QUERY, {}, asUser(demoUser(kit.plan, 0, role)));
    expect(res.data?.keyInventory ?? null).toBeNull();
    expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  }
  const res = await kit.gql(QUERY, {}, asUser(demoUser(kit.plan, 1, 'SECURITY_ADMIN')));
  expect(res.errors).toBeUndefined();
  expect(res.data.keyInventory.tenantKeys).toHaveLength(1);
  expect(res.data.keyInventory.subjectKeys).toMatchObject({ subjects: seeded[1] + 1, active: seeded[1] + 1, destroyed: 0 });
});
