/**
 * Secrets: generated with enough entropy and a recognisable prefix, stored
 * as salted scrypt hashes that name their parameters, compared in constant
 * time; bearer tokens hashed with SHA-256 for lookup.
 */
import { CLIENT_SECRET_PREFIX, generateSecret, hashSecret, tokenHash, verifyAgainstDecoy, verifySecret } from '../../lib/auth/secrets';

test('a generated secret is the prefix and 32 random bytes in base64url', () => {
  const a = generateSecret(CLIENT_SECRET_PREFIX);
  expect(a).toMatch(/^tsk_[A-Za-z0-9_-]{43}$/);
  expect(generateSecret(CLIENT_SECRET_PREFIX)).not.toBe(a);
});

test('a hash names scrypt and its parameters, is salted, and verifies only the secret it was made from', async () => {
  const [h1, h2] = await Promise.all([hashSecret('correct horse'), hashSecret('correct horse')]);
  expect(h1).toMatch(/^scrypt\$32768\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
  expect(h1).not.toBe(h2);
  expect(await verifySecret('correct horse', h1)).toBe(true);
  expect(await verifySecret('correct horse', h2)).toBe(true);
  expect(await verifySecret('correct horsE', h1)).toBe(false);
});

test('malformed or hostile stored hashes never verify (and never run an unbounded scrypt)', async () => {
  for (const stored of ['', 'plain', 'scrypt$1$1$1$aa$bb', 'scrypt$4294967296$8$1$aaaa$bbbb', 'bcrypt$x', 'scrypt$16384$8$1$c2FsdA$dG9vc2hvcnQ']) {
    expect(await verifySecret('x', stored)).toBe(false);
  }
});

test('the decoy check always fails; token hashes are SHA-256 hex', async () => {
  expect(await verifyAgainstDecoy('anything')).toBe(false);
  expect(tokenHash('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});
