/**
 * The cache of verified tokens (lib/auth/verified-cache.ts): a token is
 * remembered until it expires, never longer than its maximum age, and
 * forgotten when the keys change; its value cannot be changed by a reader.
 */
import { createVerifiedTokenCache } from '../../lib/auth/verified-cache';

describe('verified token cache', () => {
  let now = 1_700_000_000_000;
  const clock = () => now;
  const sec = () => Math.floor(now / 1000);
  beforeEach(() => {
    now = 1_700_000_000_000;
  });

  it('remembers a token until its exp, and not a moment longer', () => {
    const cache = createVerifiedTokenCache<{ id: string }>({ now: clock });
    cache.set('t1', { id: 'a' }, { exp: sec() + 60, iat: sec() });
    now += 59_999;
    expect(cache.get('t1')).toEqual({ id: 'a' });
    now += 1;
    expect(cache.get('t1')).toBeUndefined();
  });

  it('never keeps a token beyond iat + maxAgeMs, even when exp is later', () => {
    const cache = createVerifiedTokenCache<string>({ now: clock, maxAgeMs: 10_000 });
    cache.set('t', 'p', { exp: sec() + 3600, iat: sec() });
    now += 10_000;
    expect(cache.get('t')).toBeUndefined();
  });

  it('keeps nothing without exp, or already expired', () => {
    const cache = createVerifiedTokenCache<string>({ now: clock });
    cache.set('no-exp', 'p', {});
    cache.set('old', 'p', { exp: sec() - 1 });
    expect(cache.get('no-exp')).toBeUndefined();
    expect(cache.get('old')).toBeUndefined();
  });

  it('forgets every token when the keys change', () => {
    let version = 1;
    const cache = createVerifiedTokenCache<string>({ now: clock, keysVersion: () => version });
    cache.set('t', 'p', { exp: sec() + 60 });
    expect(cache.get('t')).toBe('p');
    version = 2;
    expect(cache.get('t')).toBeUndefined();
  });

  it('holds at most `max` tokens, dropping the least recently used', () => {
    const cache = createVerifiedTokenCache<string>({ now: clock, max: 2 });
    const claims = { exp: sec() + 60 };
    cache.set('a', 'A', claims);
    cache.set('b', 'B', claims);
    cache.get('a');
    cache.set('c', 'C', claims);
    expect([cache.get('a'), cache.get('b'), cache.get('c')]).toEqual(['A', undefined, 'C']);
  });

  it('is off with max 0', () => {
    const cache = createVerifiedTokenCache<string>({ now: clock, max: 0 });
    cache.set('t', 'p', { exp: sec() + 60 });
    expect(cache.get('t')).toBeUndefined();
  });

  it('hands out frozen values: one request cannot change what the next one sees', () => {
    const cache = createVerifiedTokenCache<{ roles: string[] }>({ now: clock });
    cache.set('t', { roles: ['DRIVER'] }, { exp: sec() + 60 });
    const hit = cache.get('t')!;
    expect(() => hit.roles.push('TENANT_ADMIN')).toThrow(TypeError);
    expect(cache.get('t')).toEqual({ roles: ['DRIVER'] });
  });
});
