/**
 * Public tracking tokens: 128 random bits, base64url, handed out once when a
 * shipment is created. Only the SHA-256 of a token is stored; a presented
 * token is compared in constant time, and against a dummy hash when no
 * shipment matches, so timing tells nothing about which numbers exist.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Longest token we hash; real ones are 22 characters. */
const MAX_TOKEN_LENGTH = 128;

/** A new random token (16 bytes, base64url: 22 characters). */
export function newTrackingToken(): string {
  return randomBytes(16).toString('base64url');
}

/** What is stored: hex SHA-256 of the token. */
export function hashTrackingToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

const DUMMY_HASH = Buffer.from(hashTrackingToken('tracksafe:no-such-shipment'), 'hex');

/**
 * A presented token, hashed once, ready to be compared against stored hashes.
 * Comparing always costs one `timingSafeEqual` of 32 bytes, whether the
 * stored hash exists, is malformed or matches.
 */
export class PresentedToken {
  private readonly digest: Buffer;
  private readonly usable: boolean;

  constructor(token: string) {
    // An over-long token still costs a hash (of a placeholder) and can never match.
    const usable = token.length <= MAX_TOKEN_LENGTH;
    this.digest = createHash('sha256').update(usable ? token : 'tracksafe:over-long-token', 'utf8').digest();
    this.usable = usable;
  }

  /** True when the token hashes to `storedHex`; a missing hash is compared against a dummy. */
  matches(storedHex: string | null | undefined): boolean {
    const stored = storedHex && /^[0-9a-f]{64}$/.test(storedHex) ? Buffer.from(storedHex, 'hex') : DUMMY_HASH;
    const equal = timingSafeEqual(stored, this.digest);
    return equal && this.usable && stored !== DUMMY_HASH;
  }
}

/**
 * Fixed label of the development-only demo tokens. Anyone reading the source
 * can derive them: demo shipments exist only where the seed runs (development).
 */
export const DEMO_TOKEN_LABEL = 'tracksafe-dev:demo-public-tracking-token:v1';

/** The public tracking token of a demo shipment: HMAC-SHA256(label, id), first 16 bytes, base64url. */
export function demoTrackingToken(shipmentId: string): string {
  return createHmac('sha256', DEMO_TOKEN_LABEL).update(shipmentId, 'utf8').digest().subarray(0, 16).toString('base64url');
}
