import { SYSTEM, asUser, codes, demoUser, startIdentity, type IdentityKit } from './kit';

let kit: IdentityKit;
beforeAll(async () => {
  kit = await startIdentity();
});
afterAll(() => kit?.close());

const CREATE_TENANT = `mutation ($input: CreateTenantInput!) { createTenant(input: $input) { id name kind homeRegion createdAt } }`;
const CREATE_USER = `mutation ($input: CreateUserInput!) {
  createUser(input: $input) { id tenantId email name roles mfaEnrolled lastLoginAt status createdAt }
}`;
const reasons = (res: { errors?: Array<{ extensions?: Record<string, any> }> }) => (res.errors ?? []).map((e) => e.extensions?.reason);

describe('createTenant', () => {
  test('creates a tenant, readable afterwards, and audits it without its name', async () => {
    const res = await kit.gql(CREATE_TENANT, { input: { name: '  Atlas   Carriers ', kind: 'CARRIER', homeRegion: 'APAC' } }, SYSTEM);
    expect(res.errors).toBeUndefined();
    const tenant = res.data!.createTenant;
    expect(tenant).toMatchObject({ id: expect.stringMatching(/^[0-9a-f]{24}$/), name: 'Atlas Carriers', kind: 'CARRIER', homeRegion: 'APAC' });
    expect(Math.abs(Date.parse(tenant.createdAt) - Date.now())).toBeLessThan(60_000);
    const read = await kit.gql(`query ($id: ID!) { tenant(id: $id) { name } }`, { id: tenant.id }, SYSTEM);
    expect(read.data!.tenant.name).toBe('Atlas Carriers');
    const event = kit.audit.events.find((e) => e.type === 'tenant.created' && e.tenantId === tenant.id);
    expect(event).toMatchObject({ actor: 'system:test-system', target: `Tenant:${tenant.id}`, details: { kind: 'CARRIER', homeRegion: 'APAC' } });
    expect(event!.requestId).toEqual(expect.any(String));
  });

  // createTenant is for the platform operator's SECURITY_ADMINs (@policy(name: "platformOperator")); this kit configures
  // no operator tenant, so a tenant's own SECURITY_ADMIN — role, scope and fresh MFA notwithstanding — is refused.
  test("a tenant's SECURITY_ADMIN (not the platform operator) is FORBIDDEN and nothing is created", async () => {
    const admin = demoUser(kit.plan, 0, 'SECURITY_ADMIN');
    const before = await kit.models.Tenant.countDocuments();
    const res = await kit.gql(CREATE_TENANT, { input: { name: 'Helix Market', kind: 'MARKETPLACE', homeRegion: 'EU' } }, asUser(admin, admin.roles, ['tenants:write']));
    expect(codes(res)).toEqual(['FORBIDDEN']);
    expect(await kit.models.Tenant.countDocuments()).toBe(before);
  });

  test.each(['Northwind Brands', 'northwind brands', ' NORTHWIND   Brands '])('a taken name (%j) is CONFLICT', async (name) => {
    const before = kit.audit.events.length;
    const res = await kit.gql(CREATE_TENANT, { input: { name, kind: 'BRAND', homeRegion: 'US' } }, SYSTEM);
    expect(codes(res)).toEqual(['CONFLICT']);
    expect(reasons(res)).toEqual(['TENANT_NAME_TAKEN']);
    expect(kit.audit.events.length).toBe(before);
  });

  test('concurrent creates of one name: exactly one wins', async () => {
    const input = { name: 'Race Logistics', kind: 'THREE_PL', homeRegion: 'US' };
    const results = await Promise.all([1, 2, 3].map(() => kit.gql(CREATE_TENANT, { input }, SYSTEM)));
    expect(results.filter((r) => !r.errors).length).toBe(1);
    expect(results.flatMap(codes).sort()).toEqual(['CONFLICT', 'CONFLICT']);
    expect(await kit.models.Tenant.countDocuments({ nameKey: 'race logistics' })).toBe(1);
  });

  test.each([
    ['empty', '   '],
    ['too long', 'x'.repeat(201)],
    ['with control characters', 'Bad\u0000Name'],
  ])('a name that is %s is BAD_USER_INPUT', async (_what, name) => {
    const res = await kit.gql(CREATE_TENANT, { input: { name, kind: 'BRAND', homeRegion: 'EU' } }, SYSTEM);
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
  });

  test('an unknown enum value in the document is GRAPHQL_VALIDATION_FAILED', async () => {
    const res = await kit.gql(`mutation { createTenant(input: { name: "X", kind: SHOP, homeRegion: EU }) { id } }`, {}, SYSTEM);
    expect(codes(res)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  });

  test('an anonymous caller is UNAUTHENTICATED', async () => {
    const res = await kit.gql(CREATE_TENANT, { input: { name: 'Nobody Inc', kind: 'BRAND', homeRegion: 'EU' } });
    expect(codes(res)).toEqual(['UNAUTHENTICATED']);
    expect(await kit.models.Tenant.countDocuments({ nameKey: 'nobody inc' })).toBe(0);
  });
});

describe('createUser', () => {
  const secAdminA = () => asUser(demoUser(kit.plan, 0, 'SECURITY_ADMIN'));

  test("creates an ACTIVE user in the caller's tenant with a normalised email, audited without personal data", async () => {
    const res = await kit.gql(CREATE_USER, { input: { email: '  Ada.Lovelace@Northwind.Example ', name: 'Ada Lovelace', roles: ['DISPATCHER', 'DISPATCHER', 'AUDITOR'] } }, secAdminA());
    expect(res.errors).toBeUndefined();
    const user = res.data!.createUser;
    // Masked in the answer too (someone else's account); the audited reveal shows what was stored.
    expect(user).toMatchObject({ tenantId: kit.plan.tenants[0].id, email: 'a***@northwind.example', name: 'A*** L***', roles: ['DISPATCHER', 'AUDITOR'], mfaEnrolled: false, lastLoginAt: null, status: 'ACTIVE' });
    const shown = await kit.gql(`mutation($id: ID!) { revealUser(id: $id, reason: "IAM-1: check the new account") { user { email name } } }`, { id: user.id }, secAdminA());
    expect(shown.data!.revealUser.user).toEqual({ email: 'ada.lovelace@northwind.example', name: 'Ada Lovelace' });
    const event = kit.audit.events.find((e) => e.type === 'user.created' && e.target === `User:${user.id}`)!;
    expect(event).toMatchObject({ tenantId: kit.plan.tenants[0].id, actor: `user:${demoUser(kit.plan, 0, 'SECURITY_ADMIN').id}`, details: { roles: ['DISPATCHER', 'AUDITOR'] } });
    // Not the name or email (a bare /ada/ also hit random request ids such as "…-bada-…").
    expect(JSON.stringify(event)).not.toMatch(/lovelace|\bada\b/i);
    // Listed in tenant A, invisible to tenant B.
    const listA = await kit.gql(`{ users(first: 100) { edges { node { id } } } }`, {}, secAdminA());
    expect(listA.data!.users.edges.map((e: any) => e.node.id)).toContain(user.id);
    const listB = await kit.gql(`{ users(first: 100) { edges { node { id } } } }`, {}, asUser(demoUser(kit.plan, 1, 'TENANT_ADMIN')));
    expect(listB.data!.users.edges.map((e: any) => e.node.id)).not.toContain(user.id);
  });

  test('an email already used in the tenant (any case) is CONFLICT', async () => {
    const taken = demoUser(kit.plan, 0, 'DRIVER').email.toUpperCase();
    const res = await kit.gql(CREATE_USER, { input: { email: taken, name: 'Someone Else', roles: ['DRIVER'] } }, secAdminA());
    expect(codes(res)).toEqual(['CONFLICT']);
    expect(reasons(res)).toEqual(['EMAIL_TAKEN']);
  });

  test('the same email in another tenant is fine (unique per tenant)', async () => {
    const email = demoUser(kit.plan, 0, 'DRIVER').email;
    const res = await kit.gql(CREATE_USER, { input: { email, name: 'Shared Address', roles: ['DRIVER'] } }, asUser(demoUser(kit.plan, 1, 'SECURITY_ADMIN')));
    expect(res.errors).toBeUndefined();
    expect(res.data!.createUser.tenantId).toBe(kit.plan.tenants[1].id);
  });

  test('the tenant cannot be chosen in the input', async () => {
    const res = await kit.gql(CREATE_USER, { input: { email: 'x@y.example', name: 'X', roles: [], tenantId: kit.plan.tenants[1].id } }, secAdminA());
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(await kit.models.User.countDocuments({ email: 'x@y.example' })).toBe(0);
  });

  test('a system principal has no tenant and is refused', async () => {
    const res = await kit.gql(CREATE_USER, { input: { email: 'sys@x.example', name: 'Sys', roles: ['DRIVER'] } }, SYSTEM);
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(reasons(res)).toEqual(['TENANT_REQUIRED']);
  });

  test('only a SECURITY_ADMIN may grant SECURITY_ADMIN', async () => {
    const tenantAdmin = asUser(demoUser(kit.plan, 0, 'TENANT_ADMIN'));
    const res = await kit.gql(CREATE_USER, { input: { email: 'sec2@northwind.example', name: 'Second Admin', roles: ['SECURITY_ADMIN'] } }, tenantAdmin);
    expect(codes(res)).toEqual(['FORBIDDEN']);
    const ok = await kit.gql(CREATE_USER, { input: { email: 'sec2@northwind.example', name: 'Second Admin', roles: ['SECURITY_ADMIN'] } }, secAdminA());
    expect(ok.errors).toBeUndefined();
  });

  test.each(['PARTNER', 'DEVICE'])('%s is not a user role', async (role) => {
    const res = await kit.gql(CREATE_USER, { input: { email: `r-${role}@northwind.example`, name: 'R', roles: [role] } }, secAdminA());
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(reasons(res)).toEqual(['ROLE_NOT_GRANTABLE']);
  });

  test.each([
    ['no @', 'not-an-email'],
    ['no domain dot', 'a@b'],
    ['over 254 characters', `${'x'.repeat(250)}@x.example`],
    ['two @', 'two@@x.example'],
  ])('a bad email (%s) is BAD_USER_INPUT', async (_what, email) => {
    const res = await kit.gql(CREATE_USER, { input: { email, name: 'Bad Email', roles: [] } }, secAdminA());
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
  });

  test('a caller whose tenant does not exist is NOT_FOUND', async () => {
    const ghost = { kind: 'user' as const, id: 'ghost', tenantId: 'ffffffffffffffffffffffff', roles: ['SECURITY_ADMIN'], scopes: ['users:write'], amr: ['pwd', 'otp'], authTime: Math.floor(Date.now() / 1000) };
    const res = await kit.gql(CREATE_USER, { input: { email: 'g@ghost.example', name: 'G', roles: [] } }, ghost);
    expect(codes(res)).toEqual(['NOT_FOUND']);
  });

  test('an anonymous caller is UNAUTHENTICATED', async () => {
    const res = await kit.gql(CREATE_USER, { input: { email: 'anon@x.example', name: 'Anon', roles: [] } });
    expect(codes(res)).toEqual(['UNAUTHENTICATED']);
  });
});
