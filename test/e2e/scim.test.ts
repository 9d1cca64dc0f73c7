/**
 * SCIM 2.0 end to end through the gateway (`/scim/v2/Users…` → identity),
 * behind each tenant's SCIM bearer token: create, get, list with the
 * userName filter, PATCH active (both PatchOp forms), DELETE; RFC 7643/7644
 * shapes and errors; deprovisioning takes effect on the user's very next
 * request (the gateway forgets its cached status when it proxies the
 * change); tokens stored hashed and shown once.
 */
import { tokenHash } from '../../lib/auth/secrets';
import { demoScimToken } from '../../lib/demo-credentials';
import { auditEvents, gqlWithToken, identityModels, internalCall, scim } from '../kit/credentials';
import { plan, postGraphQL, startStack, tenantA, tenantB, userOf, type Stack } from '../kit/stack';

let stack: Stack;
const tokenA = demoScimToken(tenantA.id);
const tokenB = demoScimToken(tenantB.id);
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ME = `{ me { id status } }`;

beforeAll(async () => {
  stack = await startStack();
}, 60_000);
afterAll(() => stack?.stop());

const patchActive = (active: unknown) => ({ schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: active }] });

describe('authentication', () => {
  test('no token or another token is a SCIM 401; the subgraph reached directly with a good token answers nothing', async () => {
    for (const token of [undefined, 'scim_not-a-token', 'Bearer-less']) {
      const res = await scim(stack, 'GET', '/Users', token);
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ schemas: [ERROR], status: '401', detail: expect.any(String) });
    }
    const direct = await fetch(new URL('/scim/v2/Users', stack.platform.subgraphUrls.identity), { headers: { authorization: `Bearer ${tokenA}`, 'x-scim-authorization': `Bearer ${tokenA}` } });
    expect(direct.status).toBe(401);
  });

  test('only /Users and /Users/<id> are forwarded: nothing else rides on the gateway’s hop to identity', async () => {
    for (const path of ['/Users/a/b', '/Users/..%2F..%2Finternal%2Fmetrics', '/Users/x%00']) {
      const res = await scim(stack, 'GET', path, tokenA);
      expect([path, res.status]).toEqual([path, 404]);
      expect(res.body.schemas).toEqual([ERROR]);
    }
  });

  test('a tenant token reaches its own tenant only', async () => {
    const admin = userOf(tenantA.id);
    expect((await scim(stack, 'GET', `/Users/${admin.id}`, tokenA)).status).toBe(200);
    const other = await scim(stack, 'GET', `/Users/${admin.id}`, tokenB);
    expect(other.status).toBe(404);
    const listed = await scim(stack, 'GET', `/Users?filter=${encodeURIComponent('userName eq "tenant.admin@northwind.example"')}`, tokenB);
    expect(listed.body.totalResults).toBe(0);
  });
});

describe('users', () => {
  let id: string;

  test('POST creates an active user: 201, Location, the RFC 7643 shape; the same userName again is 409 uniqueness', async () => {
    const res = await scim(stack, 'POST', '/Users', tokenA, { schemas: [USER], userName: 'Ada.Lovelace@Northwind.example', externalId: 'okta-00u1', name: { givenName: 'Ada', familyName: 'Lovelace' }, emails: [{ value: 'ada.lovelace@northwind.example', primary: true }] });
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toContain('application/scim+json');
    id = res.body.id;
    const location = `${stack.platform.auth.issuer.issuer}/scim/v2/Users/${id}`;
    expect(res.headers.get('location')).toBe(location);
    expect(res.body).toEqual({
      schemas: [USER],
      id: expect.stringMatching(/^[a-f0-9]{24}$/),
      externalId: 'okta-00u1',
      userName: 'ada.lovelace@northwind.example',
      name: { formatted: 'Ada Lovelace' },
      displayName: 'Ada Lovelace',
      emails: [{ value: 'ada.lovelace@northwind.example', type: 'work', primary: true }],
      active: true,
      meta: { resourceType: 'User', created: expect.any(String), lastModified: expect.any(String), location },
    });
    const dup = await scim(stack, 'POST', '/Users', tokenA, { schemas: [USER], userName: 'ada.lovelace@northwind.example' });
    expect(dup.status).toBe(409);
    expect(dup.body).toMatchObject({ schemas: [ERROR], status: '409', scimType: 'uniqueness' });
    const invalid = await scim(stack, 'POST', '/Users', tokenA, { schemas: [USER], userName: 'not an email' });
    expect(invalid.body).toMatchObject({ status: '400', scimType: 'invalidValue' });
  });

  test('GET by id, and the list filtered by userName (case-insensitive)', async () => {
    const one = await scim(stack, 'GET', `/Users/${id}`, tokenA);
    expect(one.body.userName).toBe('ada.lovelace@northwind.example');
    const filter = encodeURIComponent('userName eq "ADA.LOVELACE@northwind.example"');
    const list = await scim(stack, 'GET', `/Users?filter=${filter}`, tokenA);
    expect(list.status).toBe(200);
    expect(list.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: 1, startIndex: 1, itemsPerPage: 1 });
    expect(list.body.Resources.map((u: { id: string }) => u.id)).toEqual([id]);
    const all = await scim(stack, 'GET', '/Users?count=3', tokenA);
    expect(all.body.totalResults).toBe(plan.users.filter((u) => u.tenantId === tenantA.id).length + 1);
    expect(all.body.Resources).toHaveLength(3);
    expect((await scim(stack, 'GET', '/Users/0123456789abcdef01234567', tokenA)).status).toBe(404);
  });

  test.each(['name eq "x"', 'userName co "ada"', 'userName eq "a" or userName eq "b"', 'userName eq ada'])('filter %s is 400 invalidFilter', async (filter) => {
    const res = await scim(stack, 'GET', `/Users?filter=${encodeURIComponent(filter)}`, tokenA);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ schemas: [ERROR], status: '400', scimType: 'invalidFilter', detail: expect.any(String) });
  });

  test('PATCH can rename; unsupported paths and operations are 400', async () => {
    const renamed = await scim(stack, 'PATCH', `/Users/${id}`, tokenA, { schemas: [PATCH], Operations: [{ op: 'Replace', path: 'displayName', value: 'Ada King' }] });
    expect(renamed.body).toMatchObject({ displayName: 'Ada King', active: true });
    expect((await scim(stack, 'PATCH', `/Users/${id}`, tokenA, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'roles', value: ['TENANT_ADMIN'] }] })).body.scimType).toBe('invalidPath');
    expect((await scim(stack, 'PATCH', `/Users/${id}`, tokenA, { schemas: [PATCH], Operations: [{ op: 'remove', path: 'active' }] })).status).toBe(400);
    expect((await scim(stack, 'PATCH', `/Users/${id}`, tokenA, { Operations: [{ op: 'replace', path: 'active', value: false }] })).body.scimType).toBe('invalidSyntax');
  });
});

describe('deprovisioning', () => {
  test('PATCH active=false: the same token is refused on its very next request (PRINCIPAL_REVOKED)', async () => {
    const driver = userOf(tenantA.id, 'DRIVER');
    const token = await stack.tokenFor(driver);
    // Primes the gateway's status cache with "active".
    expect((await gqlWithToken(stack, token, ME)).body.data.me).toEqual({ id: driver.id, status: 'ACTIVE' });
    const patched = await scim(stack, 'PATCH', `/Users/${driver.id}`, tokenA, patchActive(false));
    expect(patched.status).toBe(200);
    expect(patched.body.active).toBe(false);
    const next = await gqlWithToken(stack, token, ME);
    expect(next.status).toBe(401);
    expect(next.body.errors[0].extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'PRINCIPAL_REVOKED' });
    expect((await identityModels(stack).User.findById(driver.id).lean())!.status).toBe('DEPROVISIONED');
  });

  test('the value-object form and string booleans work; active=true lets the user back in', async () => {
    const dispatcher = userOf(tenantA.id, 'DISPATCHER');
    const token = await stack.tokenFor(dispatcher);
    expect((await gqlWithToken(stack, token, ME)).status).toBe(200);
    const off = await scim(stack, 'PATCH', `/Users/${dispatcher.id}`, tokenA, { schemas: [PATCH], Operations: [{ op: 'replace', value: { active: false } }] });
    expect(off.body.active).toBe(false);
    expect((await gqlWithToken(stack, token, ME)).body.errors[0].extensions.reason).toBe('PRINCIPAL_REVOKED');
    const on = await scim(stack, 'PATCH', `/Users/${dispatcher.id}`, tokenA, patchActive('True'));
    expect(on.body.active).toBe(true);
    expect((await gqlWithToken(stack, token, ME)).body.data.me.status).toBe('ACTIVE');
  });

  test('DELETE: 204, the user is deprovisioned and gone from SCIM, and their token stops at once', async () => {
    const agent = userOf(tenantA.id, 'SUPPORT_AGENT');
    const token = await stack.tokenFor(agent);
    expect((await postGraphQL(stack.platform.gatewayUrl, ME, undefined, { authorization: `Bearer ${token}` })).status).toBe(200);
    const deleted = await scim(stack, 'DELETE', `/Users/${agent.id}`, tokenA);
    expect(deleted.status).toBe(204);
    expect((await gqlWithToken(stack, token, ME)).body.errors[0].extensions.reason).toBe('PRINCIPAL_REVOKED');
    expect((await scim(stack, 'GET', `/Users/${agent.id}`, tokenA)).status).toBe(404);
    expect((await scim(stack, 'DELETE', `/Users/${agent.id}`, tokenA)).status).toBe(404);
    const filter = encodeURIComponent('userName eq "support.agent@northwind.example"');
    expect((await scim(stack, 'GET', `/Users?filter=${filter}`, tokenA)).body.totalResults).toBe(0);
    const stored = await identityModels(stack).User.findById(agent.id).lean();
    expect(stored).toMatchObject({ status: 'DEPROVISIONED', scimDeletedAt: expect.any(Date) });
  });

  test('every change is audited by user id and status, without personal data', async () => {
    const events = await auditEvents(stack, 'scim.');
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['scim.user_created', 'scim.user_updated', 'scim.user_deprovisioned', 'scim.user_reactivated', 'scim.user_deleted']));
    for (const e of events) expect(e).toMatchObject({ actor: `scim:${tenantA.id}`, target: expect.stringMatching(/^User:/) });
    expect(JSON.stringify(events)).not.toMatch(/@|Ada|Lovelace/);
  });
});

describe('SCIM tokens', () => {
  test('are stored as a SHA-256 hash; a new one is shown once and replaces the old one', async () => {
    const tenant = await identityModels(stack).Tenant.findById(tenantB.id).lean();
    expect(tenant!.scimTokenHash).toBe(tokenHash(tokenB));
    expect(JSON.stringify(tenant)).not.toContain(tokenB);
    const issued = await internalCall(stack, 'identity', `/internal/tenants/${tenantB.id}/scim-token`);
    expect(issued.status).toBe(200);
    const fresh = issued.body.scimToken as string;
    expect(fresh).toMatch(/^scim_[\w-]{43}$/);
    expect((await scim(stack, 'GET', '/Users?count=1', fresh)).status).toBe(200);
    expect((await scim(stack, 'GET', '/Users?count=1', tokenB)).status).toBe(401);
    expect((await identityModels(stack).Tenant.findById(tenantB.id).lean())!.scimTokenHash).toBe(tokenHash(fresh));
    expect((await internalCall(stack, 'identity', `/internal/tenants/${tenantB.id}/scim-token`, { principal: userOf(tenantB.id, 'SECURITY_ADMIN') })).status).toBe(403);
  });
});
