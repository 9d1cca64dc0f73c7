/**
 * Partner API clients end to end: `POST /oauth/token` with
 * `grant_type=client_credentials` at the gateway, checked by identity,
 * signed by the gateway; secrets stored hashed, shown once, rotated with an
 * overlap; a client past its contract end gets no token and its live token
 * stops working on its next request. The credential clock is frozen.
 */
import { randomBytes } from 'node:crypto';
import { createLockout } from '../../lib/auth/lockout';
import { verifySecret } from '../../lib/auth/secrets';
import { MemoryAuditSink } from '../../lib/audit';
import { demoClientSecret } from '../../lib/demo-credentials';
import { ClientCredentials } from '../../subgraphs/identity/credentials/clients';
import { createCredentialMetrics } from '../../subgraphs/identity/credentials/metrics';
import { auditEvents, claimsOf, gqlWithToken, identityModels, internalCall, manualClock, requestToken } from '../kit/credentials';
import { plan, startStack, tenantA, tenantB, userOf, type Stack } from '../kit/stack';

const clock = manualClock();
let stack: Stack;
const client = plan.apiClient;
const secret = demoClientSecret(client.id);
const SHIPMENTS = `{ shipments(first: 1) { totalCount } }`;
const HOUR = 3_600_000;

beforeAll(async () => {
  stack = await startStack({}, { credentialClock: clock });
}, 60_000);
afterAll(() => stack?.stop());

/** A fresh client of tenant A, issued through identity's client service (its secret is in the result only). */
async function newClient(overrides: { contractEndsAt?: Date; scopes?: string[] } = {}) {
  const service = new ClientCredentials({
    models: identityModels(stack),
    audit: new MemoryAuditSink(),
    now: clock,
    overlapSeconds: 86_400,
    lockout: createLockout(),
    ipLockout: createLockout(),
    metrics: createCredentialMetrics(),
  });
  return service.create('system:test', { tenantId: tenantA.id, name: 'Test partner', scopes: overrides.scopes ?? ['shipments:read', 'events:write'], partnerOf: [tenantB.id], contractEndsAt: overrides.contractEndsAt ?? new Date(clock().getTime() + 365 * 24 * HOUR) });
}

describe('client_credentials', () => {
  test('HTTP Basic: a 15-minute PARTNER token for the client, its tenant and its contracted tenants, all granted scopes', async () => {
    const res = await requestToken(stack, { grant_type: 'client_credentials' }, { basic: [client.id, secret] });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 900, scope: 'shipments:read events:write' });
    const claims = claimsOf(res.body.access_token);
    expect(claims).toMatchObject({ sub: client.id, sub_type: 'client', tid: tenantA.id, roles: ['PARTNER'], partner_of: [tenantB.id], scope: 'shipments:read events:write' });
    expect(claims.exp! - claims.iat!).toBe(900);
    const used = await gqlWithToken(stack, res.body.access_token, SHIPMENTS);
    expect(used.status).toBe(200);
    expect(used.body.errors).toBeUndefined();
  });

  test('form fields and JSON bodies work too; a requested scope that is a subset narrows the token', async () => {
    const form = await requestToken(stack, { grant_type: 'client_credentials', client_id: client.id, client_secret: secret, scope: 'shipments:read' });
    expect(form.status).toBe(200);
    expect(form.body.scope).toBe('shipments:read');
    expect(claimsOf(form.body.access_token).scope).toBe('shipments:read');
    const json = await requestToken(stack, { grant_type: 'client_credentials', client_id: client.id, client_secret: secret, scope: 'events:write' }, { json: true });
    expect(json.status).toBe(200);
    expect(json.body.scope).toBe('events:write');
  });

  test('a scope beyond the granted ones is invalid_scope', async () => {
    const res = await requestToken(stack, { grant_type: 'client_credentials', scope: 'shipments:read users:write' }, { basic: [client.id, secret] });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'invalid_scope', error_description: expect.any(String) });
  });

  test('a wrong secret and an unknown client id get the same invalid_client answer', async () => {
    const wrong = await requestToken(stack, { grant_type: 'client_credentials' }, { basic: [client.id, `${secret}x`] });
    const unknown = await requestToken(stack, { grant_type: 'client_credentials' }, { basic: [randomBytes(12).toString('hex'), secret] });
    const junk = await requestToken(stack, { grant_type: 'client_credentials', client_id: 'no-such-client', client_secret: secret });
    for (const res of [wrong, unknown, junk]) {
      expect(res.status).toBe(401);
      expect(res.body).toEqual(wrong.body);
    }
    expect(wrong.body.error).toBe('invalid_client');
    expect(wrong.headers.get('www-authenticate')).toBe('Basic realm="tracksafe"');
    expect(JSON.stringify(wrong.body)).not.toMatch(/exist|unknown|secret/i);
    // The audit trail knows which it was; it never holds a secret.
    const refused = await auditEvents(stack, 'oauth.client_credentials.refused');
    expect(refused.map((e) => e.details?.reason)).toEqual(expect.arrayContaining(['wrong_secret', 'unknown_client']));
    expect(JSON.stringify(refused)).not.toContain(secret);
  });

  test('malformed requests: no grant type, an unknown one, credentials twice, no credentials, GET', async () => {
    expect((await requestToken(stack, { client_id: client.id, client_secret: secret })).body.error).toBe('invalid_request');
    expect((await requestToken(stack, { grant_type: 'password' }, { basic: [client.id, secret] })).body.error).toBe('unsupported_grant_type');
    expect((await requestToken(stack, { grant_type: 'client_credentials', client_id: client.id, client_secret: secret }, { basic: [client.id, secret] })).body.error).toBe('invalid_request');
    const none = await requestToken(stack, { grant_type: 'client_credentials' });
    expect([none.status, none.body.error]).toEqual([401, 'invalid_client']);
    expect((await fetch(`${stack.platform.gatewayUrl.replace('/graphql', '')}/oauth/token`)).status).toBe(405);
  });
});

describe('secrets', () => {
  test('are stored as scrypt hashes only', async () => {
    const doc = await identityModels(stack).ApiClient.findById(client.id).lean();
    expect(doc!.secrets).toHaveLength(1);
    expect(doc!.secrets![0].hash).toMatch(/^scrypt\$32768\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    expect(JSON.stringify(doc)).not.toContain(secret);
    expect(await verifySecret(secret, doc!.secrets![0].hash)).toBe(true);
  });

  test('a new client shows its tsk_ secret once; rotation shows a new one once and keeps the previous one for the overlap', async () => {
    const { client: created, clientSecret } = await newClient();
    expect(clientSecret).toMatch(/^tsk_[\w-]{43}$/);
    const ask = (s: string) => requestToken(stack, { grant_type: 'client_credentials' }, { basic: [created._id, s] });
    expect((await ask(clientSecret)).status).toBe(200);

    const rotated = await internalCall(stack, 'identity', `/internal/clients/${created._id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    expect(rotated.headers.get('cache-control')).toBe('no-store');
    const next = rotated.body.clientSecret as string;
    expect(next).toMatch(/^tsk_/);
    expect(next).not.toBe(clientSecret);
    expect(Date.parse(rotated.body.previousValidUntil)).toBe(clock().getTime() + 24 * HOUR);
    expect((await ask(next)).status).toBe(200);
    expect((await ask(clientSecret)).status).toBe(200);

    const stored = await identityModels(stack).ApiClient.findById(created._id).lean();
    expect(JSON.stringify(stored)).not.toContain(next);
    expect(stored!.secrets!.map((s) => s.expiresAt === null)).toEqual([true, false]);

    clock.advance(24 * HOUR + 1000);
    expect((await ask(clientSecret)).status).toBe(401);
    expect((await ask(next)).status).toBe(200);
    expect((await auditEvents(stack, 'client.secret_rotated')).at(-1)).toMatchObject({ actor: 'system:gateway', target: `ApiClient:${created._id}` });
  });

  test('rotation is for system callers only, and unknown clients are 404', async () => {
    const { client: created } = await newClient();
    const path = `/internal/clients/${created._id}/rotate-secret`;
    expect((await internalCall(stack, 'identity', path, { principal: null })).status).toBe(401);
    expect((await internalCall(stack, 'identity', path, { principal: userOf(tenantA.id, 'SECURITY_ADMIN') })).status).toBe(403);
    expect((await internalCall(stack, 'identity', `/internal/clients/${randomBytes(12).toString('hex')}/rotate-secret`)).status).toBe(404);
  });
});

describe('contract end', () => {
  test('a client past its contract end gets invalid_client, and its live token is refused on its next request', async () => {
    const { client: created, clientSecret } = await newClient({ contractEndsAt: new Date(clock().getTime() + 2 * HOUR) });
    const issued = await requestToken(stack, { grant_type: 'client_credentials' }, { basic: [created._id, clientSecret] });
    expect(issued.status).toBe(200);
    const token = issued.body.access_token as string;
    expect((await gqlWithToken(stack, token, SHIPMENTS)).body.errors).toBeUndefined();

    clock.advance(2 * HOUR);
    const refused = await requestToken(stack, { grant_type: 'client_credentials' }, { basic: [created._id, clientSecret] });
    expect([refused.status, refused.body.error]).toEqual([401, 'invalid_client']);
    const next = await gqlWithToken(stack, token, SHIPMENTS);
    expect(next.status).toBe(401);
    expect(next.body.errors[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'PRINCIPAL_REVOKED' });
  });

  test('a token never outlives the contract; a revoked client is refused the same way', async () => {
    const { client: created, clientSecret } = await newClient({ contractEndsAt: new Date(clock().getTime() + 5 * 60_000) });
    const issued = await requestToken(stack, { grant_type: 'client_credentials' }, { basic: [created._id, clientSecret] });
    expect(issued.body.expires_in).toBe(300);
    await identityModels(stack).ApiClient.updateOne({ _id: created._id }, { $set: { status: 'REVOKED' } });
    expect((await requestToken(stack, { grant_type: 'client_credentials' }, { basic: [created._id, clientSecret] })).body.error).toBe('invalid_client');
    clock.advance(5001);
    const next = await gqlWithToken(stack, issued.body.access_token, SHIPMENTS);
    expect(next.body.errors[0].extensions.reason).toBe('PRINCIPAL_REVOKED');
  });
});

describe('failed attempts', () => {
  test('lock the client id from this IP after 5 failures, even for the right secret, with Retry-After', async () => {
    const { client: created, clientSecret } = await newClient();
    const ask = (s: string) => requestToken(stack, { grant_type: 'client_credentials' }, { basic: [created._id, s] });
    for (let i = 0; i < 5; i++) expect((await ask('tsk_wrong')).status).toBe(401);
    const locked = await ask(clientSecret);
    expect(locked.status).toBe(429);
    expect(locked.body.error).toBe('invalid_client');
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(50);
    expect((await auditEvents(stack, 'auth.lockout')).at(-1)).toMatchObject({ actor: `client:${created._id}`, details: { kind: 'client', seconds: 60 } });
    const metrics = await internalCall(stack, 'identity', '/internal/metrics', { method: 'GET' });
    expect(metrics.body.credentials.failedClientAuthentications).toBeGreaterThanOrEqual(5);
    expect(metrics.body.credentials.lockouts).toBeGreaterThanOrEqual(1);
  });
});
