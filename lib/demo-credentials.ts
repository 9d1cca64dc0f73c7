/**
 * Credentials of the demo data, derived from the demo ids so `npm start`
 * can print them and tests can use them: the partner client's secret, each
 * demo user's password and TOTP secret, each demo tenant's SCIM token and
 * each sensor tag's key pair. Anyone can compute them from this file: they
 * exist only in development databases (seeding is refused elsewhere, see
 * lib/config.ts) and must never be used for anything real.
 */
import { createECDH, createHash } from 'node:crypto';
import type { JWK } from 'jose';
import { CLIENT_SECRET_PREFIX, SCIM_TOKEN_PREFIX } from './auth/secrets';

const derive = (label: string): Buffer => createHash('sha256').update(`tracksafe-demo-credential:${label}`).digest();

/** RFC 4648 base32 without padding (the encoding authenticator apps take TOTP secrets in). */
export function base32(bytes: Uint8Array): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

export const demoClientSecret = (clientId: string): string => CLIENT_SECRET_PREFIX + derive(`client-secret:${clientId}`).toString('base64url');

export const demoPassword = (userId: string): string => `demo-${derive(`password:${userId}`).toString('base64url').slice(0, 12)}`;

/** 20 bytes, base32 (what otplib and authenticator apps expect). */
export const demoTotpSecret = (userId: string): string => base32(derive(`totp:${userId}`).subarray(0, 20));

export const demoScimToken = (tenantId: string): string => SCIM_TOKEN_PREFIX + derive(`scim-token:${tenantId}`).toString('base64url');

/** A P-256 key pair for a demo device (private JWK with `d`, public JWK without), `kid` = the device id. */
export function demoDeviceKey(deviceId: string): { privateJwk: JWK; publicJwk: JWK } {
  const ecdh = createECDH('prime256v1');
  // A hash is a valid P-256 scalar unless it is ≥ the group order (odds ~2^-32): then hash again.
  for (let n = 0; ; n++) {
    try {
      ecdh.setPrivateKey(derive(`device-key:${deviceId}:${n}`));
      break;
    } catch {
      continue;
    }
  }
  const point = ecdh.getPublicKey();
  const publicJwk: JWK = { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33, 65).toString('base64url'), kid: deviceId, alg: 'ES256' };
  return { publicJwk, privateJwk: { ...publicJwk, d: ecdh.getPrivateKey().toString('base64url') } };
}
