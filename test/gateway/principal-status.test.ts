/**
 * The gateway's per-request status check: answers reused for the cache
 * lifetime on a frozen clock, concurrent requests share one question,
 * invalidation is immediate (also for SSO principals mapped to a user),
 * a revoked principal is PRINCIPAL_REVOKED, an unreachable authority 503.
 */
import { AuthError } from '../../lib/auth/errors';
import type { TenantPrincipal } from '../../lib/context';
import { HttpError } from '../../lib/http';
import { createPrincipalStatusCheck, type PrincipalStatusSource, type StatusAnswer } from '../../gateway/principal-status';

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
