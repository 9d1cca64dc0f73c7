/**
 * The development login end to end: `POST /auth/login` with email,
 * password and TOTP code (generated from the demo secret at the frozen
 * credential clock) → an MFA token; every refusal the same LOGIN_FAILED;
 * progressive lockout with Retry-After; admin failures counted; the route
 * does not exist outside development, at the gateway or at identity.
 */
import { createGateway } from '../../gateway/server';
import { createGatewayAuth } from '../../lib/auth/runtime';
import { loadConfig } from '../../lib/config';
import { createLogger } from '../../lib/logger';
import { SUBGRAPH_NAMES, loadSupergraphSdl, type SubgraphName } from '../../schema';
import { auditEvents, claimsOf, demoLogin, gqlWithToken, identityModels, internalCall, login, manualClock } from '../kit/credentials';
import { plan, startStack, tenantA, type Stack } from '../kit/stack';
import { startSubgraph, systemPrincipal } from '../kit/subgraph';

const clock = manualClock();
let stack: Stack;
const STEP = 30_000;

beforeAll(async () => {
  stack = await startStack({}, { credentialClock: clock });
}, 60_000);
afterAll(() => stack?.stop());

const userByEmail = (email: string) => plan.users.find((u) => u.email === email)!;

test('password and TOTP code give a 15-minute token with amr pwd/otp/mfa and auth_time now', async () => {
  const before = Math.floor(Date.now() / 1000);
  const res = await login(stack, await demoLogin('dispatcher@northwind.example', clock));
  expect(res.status).toBe(200);
  expect(res.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 900 });
  const claims = claimsOf(res.body.access_token);
  const user = userByEmail('dispatcher@northwind.example');
  expect(claims).toMatchObject({ sub: user.id, tid: tenantA.id, sub_type: 'user', roles: ['DISPATCHER'], amr: ['pwd', 'otp', 'mfa'] });
  expect(claims.auth_time).toBeGreaterThanOrEqual(before);
  const me = await gqlWithToken(stack, res.body.access_token, `{ me { id lastLoginAt } }`);
  expect(me.body.data.me).toEqual({ id: user.id, lastLoginAt: clock().toISOString() });
  expect((await auditEvents(stack, 'auth.login.succeeded')).at(-1)).toMatchObject({ actor: `user:${user.id}` });
});

test('a TOTP code is good once', async () => {
  clock.advance(STEP);
  const body = await demoLogin('auditor@northwind.example', clock);
  expect((await login(stack, body)).status).toBe(200);
  const replay = await login(stack, body);
  expect(replay.status).toBe(401);
  expect(replay.body.errors[0].extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'LOGIN_FAILED' });
  expect((await auditEvents(stack, 'auth.login.failed')).at(-1)!.details).toEqual({ reason: 'totp_replayed', admin: false });
});

test('a wrong password, a wrong code and an unknown email get the same LOGIN_FAILED', async () => {
  clock.advance(STEP);
  const good = await demoLogin('support.agent@northwind.example', clock);
  const code = Number(good.totp);
  const attempts = [
    { ...good, password: `${good.password}!` },
    { ...good, totp: String((code + 1) % 1_000_000).padStart(6, '0') },
    { ...good, totp: 'abcdef' },
    { ...good, email: 'nobody@northwind.example' },
  ];
  const answers = [];
  for (const a of attempts) answers.push(await login(stack, a));
  for (const res of answers) {
    expect(res.status).toBe(401);
    expect(res.body).toEqual(answers[0].body);
  }
  expect(answers[0].body.errors[0].extensions.reason).toBe('LOGIN_FAILED');
  const failed = await auditEvents(stack, 'auth.login.failed');
  expect(failed.map((e) => e.details?.reason)).toEqual(expect.arrayContaining(['wrong_password', 'wrong_totp', 'unknown_user']));
  // No password, code or email in the audit trail.
  expect(JSON.stringify(failed)).not.toMatch(new RegExp(`${good.password}|${good.totp}|@`));
  // The right credentials still work: three failures are below the lockout.
  expect((await login(stack, good)).status).toBe(200);
});

test('five failures lock the account: even the right credentials get 429 LOCKED_OUT with Retry-After; admin failures are counted', async () => {
  clock.advance(STEP);
  const email = 'tenant.admin@pacific.example';
  const good = await demoLogin(email, clock);
  const before = (await internalCall(stack, 'identity', '/internal/metrics', { method: 'GET' })).body.credentials;
  for (let i = 0; i < 5; i++) expect((await login(stack, { ...good, password: 'guess' })).status).toBe(401);
  const locked = await login(stack, good);
  expect(locked.status).toBe(429);
  expect(locked.headers.get('retry-after')).toMatch(/^(59|60)$/);
  expect(locked.body.errors[0].extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'LOCKED_OUT' });
  const after = (await internalCall(stack, 'identity', '/internal/metrics', { method: 'GET' })).body.credentials;
  expect(after.failedAdminLogins - before.failedAdminLogins).toBe(5);
  expect(after.failedLogins - before.failedLogins).toBe(5);
  expect(after.lockouts - before.lockouts).toBe(1);
  expect((await auditEvents(stack, 'auth.lockout')).at(-1)).toMatchObject({ actor: `user:${userByEmail(email).id}`, details: { kind: 'login', seconds: 60, admin: true } });
  // Other accounts are not affected.
  expect((await login(stack, await demoLogin('driver@pacific.example', clock))).status).toBe(200);
});

test('a deprovisioned user cannot log in', async () => {
  clock.advance(STEP);
  const email = 'privacy.officer@pacific.example';
  await identityModels(stack).User.updateOne({ _id: userByEmail(email).id }, { $set: { status: 'DEPROVISIONED' } });
  expect((await login(stack, await demoLogin(email, clock))).status).toBe(401);
});

describe('outside development', () => {
  test.each(['staging', 'production'] as const)('the gateway has no /auth/login (or /dev/token) in %s', async (appEnv) => {
    const urls = Object.fromEntries(SUBGRAPH_NAMES.map((n) => [n, 'http://127.0.0.1:9/graphql'])) as Record<SubgraphName, string>;
    const auth = await createGatewayAuth(loadConfig({ APP_ENV: appEnv, SEED: 'false' }), { ephemeral: true });
    const gw = await createGateway({ appEnv, supergraphSdl: loadSupergraphSdl(), subgraphUrls: urls, logger: createLogger('test', 'silent'), auth });
    try {
      const base = `http://127.0.0.1:${await gw.listen(0)}`;
      for (const path of ['/auth/login', '/dev/token']) {
        const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
        expect([path, res.status]).toEqual([path, 404]);
      }
    } finally {
      await gw.stop();
    }
  });

  test('identity has no /internal/login in production, even for the gateway', async () => {
    const kit = await startSubgraph('identity', { seed: true, appEnv: 'production' });
    try {
      const token = await kit.internalToken(systemPrincipal('gateway'));
      const res = await fetch(new URL('/internal/login', kit.url), { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}' });
      expect(res.status).toBe(404);
    } finally {
      await kit.stop();
    }
  });
});
