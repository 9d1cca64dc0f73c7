/**
 * The gateway's per-request status check: answers reused for the cache
 * lifetime on a frozen clock, concurrent requests share one question,
 * invalidation is immediate (also for SSO principals mapped to a user),
 * a revoked principal is PRINCIPAL_REVOKED, an unreachable authority 503.
 */
import { AuthError } from '../../lib/auth/errors';
import type { TenantPrincipal } from '../../lib/context';
import { HttpError } from '../../lib/http';
import type { InternalClient } from '../../gateway/internal-client';
import { createPrincipalStatusCheck, platformStatusSource, type PrincipalStatusSource, type StatusAnswer } from '../../gateway/principal-status';

const user: TenantPrincipal = { kind: 'user', id: 'u1', tenantId: 't1', roles: [], scopes: [], subjectType: 'user' };
const sso: TenantPrincipal = { ...user, id: 'https://idp.example#abc' };

function setup(answers: Record<string, StatusAnswer>, ttlMs = 5000) {
  let t = 0;
  const asked: string[] = [];
  const source: PrincipalStatusSource = async (q) => {
    asked.push(q.id + (q.externalSubject ? `(${q.externalSubject})` : ''));
    const a = answers[q.id];
    if (!a) throw new Error('down');
    return a;
  };
  const check = createPrincipalStatusCheck({ source, ttlMs, now: () => t });
  return { check, asked, answers, advance: (ms: number) => (t += ms) };
}

test('reuses an answer for the cache lifetime, then asks again', async () => {
  const s = setup({ u1: { active: true } });
  await s.check.check(user);
  await s.check.check(user);
  s.advance(4999);
  await s.check.check(user);
  expect(s.asked).toEqual(['u1']);
  s.advance(1);
  await s.check.check(user);
  expect(s.asked).toEqual(['u1', 'u1']);
});

test('concurrent requests of one principal share one question', async () => {
  const s = setup({ u1: { active: true } });
  await Promise.all([s.check.check(user), s.check.check(user), s.check.check(user)]);
  expect(s.asked).toEqual(['u1']);
});

test('an inactive principal is PRINCIPAL_REVOKED; invalidate makes the next request ask again', async () => {
  const s = setup({ u1: { active: true } });
  await s.check.check(user);
  s.answers.u1 = { active: false, reason: 'DEPROVISIONED' };
  await s.check.check(user);
  s.check.invalidate('u1');
  await expect(s.check.check(user)).rejects.toMatchObject({ extensions: { reason: 'PRINCIPAL_REVOKED' } });
  await expect(s.check.check(user)).rejects.toBeInstanceOf(AuthError);
});

test('SSO principals are asked about with their subject, and forgotten when their identity user changes', async () => {
  const s = setup({ [sso.id]: { active: true, userId: 'u9' } });
  await s.check.check(sso, 'abc');
  await s.check.check(sso, 'abc');
  expect(s.asked).toEqual([`${sso.id}(abc)`]);
  s.check.invalidate('u9');
  await s.check.check(sso, 'abc');
  expect(s.asked).toHaveLength(2);
});

test('an unreachable authority refuses with 503, and the failure is not cached', async () => {
  const s = setup({});
  await expect(s.check.check(user)).rejects.toBeInstanceOf(HttpError);
  await expect(s.check.check(user)).rejects.toMatchObject({ status: 503 });
  expect(s.asked).toEqual(['u1', 'u1']);
});

test('ttl 0 asks every time', async () => {
  const s = setup({ u1: { active: true } }, 0);
  await s.check.check(user);
  await s.check.check(user);
  expect(s.asked).toEqual(['u1', 'u1']);
});

test('invalidateTenant forgets the answers about that tenant’s people, and only those', async () => {
  const other: TenantPrincipal = { ...user, id: 'u2', tenantId: 't2' };
  const client: TenantPrincipal = { ...user, id: 'c1', subjectType: 'client' };
  const s = setup({ u1: { active: true }, u2: { active: true }, [sso.id]: { active: true }, c1: { active: true } });
  for (const p of [user, other, sso, client]) await s.check.check(p);
  s.check.invalidateTenant('t1');
  for (const p of [user, other, sso, client]) await s.check.check(p);
  // Asked again: the people of t1 (platform and SSO). Not: t2's person, t1's API client (no elevations).
  expect(s.asked).toEqual(['u1', 'u2', sso.id, 'c1', 'u1', sso.id]);
});

describe('platformStatusSource', () => {
  const device: TenantPrincipal = { ...user, id: 'd1', subjectType: 'device', roles: ['DEVICE'] };
  function clientAnswering(answers: Partial<Record<'identity' | 'device', { status: number; body: Record<string, unknown> }>>) {
    const calls: string[] = [];
    const client: InternalClient = {
      async postJson(subgraph, path) {
        calls.push(`${subgraph}${path}`);
        const a = answers[subgraph as 'identity' | 'device'];
        if (!a) throw new Error('unreachable');
        return a;
      },
      request: () => Promise.reject(new Error('not used')),
    };
    return { client, calls };
  }

  test('asks the device subgraph about devices and identity about everyone else', async () => {
    const { client, calls } = clientAnswering({ identity: { status: 200, body: { active: true } }, device: { status: 200, body: { active: false, reason: 'QUARANTINED' } } });
    const check = createPrincipalStatusCheck({ source: platformStatusSource(client), ttlMs: 0 });
    await expect(check.check(user)).resolves.toBe(user);
    await expect(check.check(device)).rejects.toMatchObject({ extensions: { code: 'UNAUTHENTICATED', reason: 'PRINCIPAL_REVOKED' } });
    expect(calls).toEqual(['identity/internal/principal-status', 'device/internal/device-status']);
  });

  test('a device subgraph that is down or answers nonsense refuses the device with 503 (fail closed)', async () => {
    for (const answers of [{}, { device: { status: 500, body: {} } }, { device: { status: 200, body: { active: 'yes' } } }]) {
      const check = createPrincipalStatusCheck({ source: platformStatusSource(clientAnswering(answers).client), ttlMs: 0 });
      await expect(check.check(device)).rejects.toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE' });
    }
  });
});

test('merges active elevations into roles and scopes and keeps which elevation granted what (for the audited SENSITIVE reveal)', async () => {
  const s = setup({
    u1: {
      active: true,
      elevatedRoles: ['PRIVACY_OFFICER'],
      elevatedScopes: ['users:write'],
      elevationExpiresAt: 60_000,
      elevations: [{ id: 'e1', role: 'PRIVACY_OFFICER' }, { id: 'e2', scope: 'users:write' }, { id: 'junk' } as never],
    },
  });
  const p = await s.check.check({ ...user, roles: ['SUPPORT_AGENT'], scopes: ['shipments:read'] });
  expect(p).toMatchObject({ roles: ['SUPPORT_AGENT', 'PRIVACY_OFFICER'], scopes: ['shipments:read', 'users:write'], elevations: [{ id: 'e1', role: 'PRIVACY_OFFICER' }, { id: 'e2', scope: 'users:write' }] });
  // Expired: neither the roles nor the list.
  s.advance(60_000);
  const later = await s.check.check({ ...user, roles: ['SUPPORT_AGENT'], scopes: [] });
  expect(later.elevations).toBeUndefined();
  expect(later.roles).toEqual(['SUPPORT_AGENT']);
});
