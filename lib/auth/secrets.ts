/**
 * Secrets people and machines present: API client secrets, passwords, SCIM
 * tokens. Generated from 32 random bytes; stored only as hashes.
 *
 * - Low-entropy or long-lived secrets a client chooses or keeps (passwords,
 *   client secrets) use scrypt with a per-secret salt, compared in constant
 *   time; the stored string names its parameters, so they can be raised
 *   later without breaking old hashes.
 * - Random bearer tokens looked up by value (SCIM tokens) use SHA-256: with
 *   256 bits of entropy a slow hash adds nothing, and the hash is the index.
 */
import { createHash, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** Prefix of API client secrets (secret scanners can match it). */
export const CLIENT_SECRET_PREFIX = 'tsk_';
/** Prefix of SCIM bearer tokens. */
export const SCIM_TOKEN_PREFIX = 'scim_';

/** scrypt cost: N = 2^15, r = 8, p = 1 (32 MiB, ~70 ms on one core). */
const COST = { N: 2 ** 15, r: 8, p: 1 };
const KEY_LENGTH = 32;
const SALT_BYTES = 16;

function derive(secret: string, salt: Buffer, params: { N: number; r: number; p: number }): Promise<Buffer> {
  const options: ScryptOptions = { ...params, maxmem: 256 * params.N * params.r };
  return new Promise((resolve, reject) => scrypt(secret.normalize('NFC'), salt, KEY_LENGTH, options, (err, key) => (err ? reject(err) : resolve(key))));
}

/** A new random secret: `prefix` + 32 random bytes, base64url. */
export function generateSecret(prefix = ''): string {
  return prefix + randomBytes(32).toString('base64url');
}

/** `scrypt$N$r$p$<salt>$<hash>` (salt and hash base64url). */
export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(secret, salt, COST);
  return ['scrypt', COST.N, COST.r, COST.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** True when `secret` matches `stored` (a `hashSecret` result). Malformed hashes never match. */
export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number);
  if (![N, r, p].every((n) => Number.isInteger(n) && n > 0) || N > 2 ** 20 || r > 32 || p > 16) return false;
  const expected = Buffer.from(parts[5], 'base64url');
  if (expected.length !== KEY_LENGTH) return false;
  const actual = await derive(secret, Buffer.from(parts[4], 'base64url'), { N, r, p });
  return timingSafeEqual(actual, expected);
}

/** A hash to compare against when there is no account, so unknown ids cost as much time as wrong secrets. */
let decoy: Promise<string> | undefined;
export async function verifyAgainstDecoy(secret: string): Promise<false> {
  decoy ??= hashSecret(generateSecret());
  await verifySecret(secret, await decoy);
  return false;
}

/** SHA-256 of a random bearer token, hex: what is stored and looked up. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
