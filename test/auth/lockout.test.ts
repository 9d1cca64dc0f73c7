/**
 * Progressive lockout: the failure that reaches the limit locks the key,
 * each further lockout of the key within a day doubles, up to the maximum;
 * clearing forgets failures, not the lockout history; keys are independent.
 */
import { createLockout } from '../../lib/auth/lockout';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('the 3rd of 3 allowed failures locks the key for the base time', async () => {
  const lockout = createLockout({ maxFailures: 3, baseSeconds: 60 });
  expect(await lockout.fail('user:a')).toBe(0);
  expect(await lockout.fail('user:a')).toBe(0);
  expect(await lockout.retryAfter('user:a')).toBe(0);
  expect(await lockout.fail('user:a')).toBe(60);
  expect(await lockout.retryAfter('user:a')).toBe(60);
  expect(await lockout.retryAfter('user:b')).toBe(0);
});

test('each further lockout doubles, capped at the maximum', async () => {
  const lockout = createLockout({ maxFailures: 1, baseSeconds: 1, maxSeconds: 3 });
  expect(await lockout.fail('k')).toBe(1);
  await sleep(1100);
  expect(await lockout.retryAfter('k')).toBe(0);
  expect(await lockout.fail('k')).toBe(2);
  expect(await lockout.retryAfter('k')).toBe(2);
  await sleep(2100);
  expect(await lockout.fail('k')).toBe(3);
});

test('clearing forgets the failures so far', async () => {
  const lockout = createLockout({ maxFailures: 2 });
  await lockout.fail('k');
  await lockout.clear('k');
  expect(await lockout.fail('k')).toBe(0);
  expect(await lockout.fail('k')).toBe(60);
});
