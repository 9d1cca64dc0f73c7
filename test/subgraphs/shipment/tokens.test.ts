import { createHash } from 'node:crypto';
import { DEMO_TOKEN_LABEL, PresentedToken, demoTrackingToken, hashTrackingToken, newTrackingToken } from '../../../subgraphs/shipment/tokens';

describe('public tracking tokens', () => {
  test('are 128 random bits in base64url, different every time', () => {
    const tokens = new Set(Array.from({ length: 100 }, newTrackingToken));
    expect(tokens.size).toBe(100);
    for (const t of tokens) expect(Buffer.from(t, 'base64url')).toHaveLength(16);
    for (const t of tokens) expect(t).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  test('are stored as their hex SHA-256', () => {
    expect(hashTrackingToken('abc')).toBe(createHash('sha256').update('abc').digest('hex'));
  });

  test('match only their own hash', () => {
    const token = newTrackingToken();
    const presented = new PresentedToken(token);
    expect(presented.matches(hashTrackingToken(token))).toBe(true);
    expect(presented.matches(hashTrackingToken(newTrackingToken()))).toBe(false);
    expect(new PresentedToken(token.slice(1)).matches(hashTrackingToken(token))).toBe(false);
  });

  test('never match a missing or malformed hash (compared against a dummy instead)', () => {
    const presented = new PresentedToken(newTrackingToken());
    expect(presented.matches(null)).toBe(false);
    expect(presented.matches(undefined)).toBe(false);
    expect(presented.matches('zz')).toBe(false);
    expect(presented.matches('A'.repeat(64))).toBe(false);
  });

  test('the dummy never matches, even for the token that hashes to it', () => {
    expect(new PresentedToken('tracksafe:no-such-shipment').matches(null)).toBe(false);
  });

  test('refuse over-long tokens even when their hash is stored', () => {
    const long = 'a'.repeat(129);
    expect(new PresentedToken(long).matches(hashTrackingToken(long))).toBe(false);
  });

  test('demo tokens are derived from the shipment id with the fixed development label', () => {
    const id = '0123456789abcdef01234567';
    expect(demoTrackingToken(id)).toBe(demoTrackingToken(id));
    expect(demoTrackingToken(id)).not.toBe(demoTrackingToken(`${id.slice(0, 23)}8`));
    expect(demoTrackingToken(id)).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(DEMO_TOKEN_LABEL).toMatch(/dev/);
  });
});
