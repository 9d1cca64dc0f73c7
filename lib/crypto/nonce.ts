/**
 * Internal: 96-bit GCM nonces from the CSPRNG, handed out of a 4 KiB pool
 * so that encrypting a field costs one `getrandom` per 341 nonces instead
 * of one each (the way Node pools the randomness of `randomUUID`). A pool
 * is never refilled in place: each refill is a new buffer, so a nonce
 * handed out earlier never changes. Nonces are public; only their
 * uniqueness matters, and 96 random bits give it for far more than the
 * 2^32 encryptions per key NIST SP 800-38D allows with random nonces.
 */
import { randomBytes } from 'node:crypto';

export const NONCE_BYTES = 12;
const POOL_BYTES = NONCE_BYTES * 341;

let pool = Buffer.alloc(0);
let offset = 0;

export function randomNonce(): Buffer {
  if (offset + NONCE_BYTES > pool.length) {
    pool = randomBytes(POOL_BYTES);
    offset = 0;
  }
  const nonce = pool.subarray(offset, offset + NONCE_BYTES);
  offset += NONCE_BYTES;
  return nonce;
}
