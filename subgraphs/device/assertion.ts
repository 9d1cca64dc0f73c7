/**
 * A device proves possession of its key for the gateway's token endpoint
 * (RFC 7523 jwt-bearer grant, private_key_jwt style): a JWT signed with the
 * device's key, `iss` = `sub` = the device id, `aud` = the token endpoint
 * URL, `exp` at most 60 s after `iat`, and a `jti` that is good once (used
 * ids are stored until they expire; a second use is a replay). Every
 * refusal is the same `invalid_grant`; the audit record says why.
 */
import { decodeJwt, importJWK, jwtVerify, type JWK } from 'jose';
import type { AuditSink } from '../../lib/audit';
import { isDuplicateKey } from '../../lib/errors';
import type { DeviceDoc, DeviceModels } from './model';

/** Longest lifetime of an assertion (seconds). */
export const MAX_ASSERTION_LIFETIME = 60;
const CLOCK_TOLERANCE = 5;
const ALGORITHMS = ['ES256', 'EdDSA'];
const DEVICE_ID = /^[A-Za-z0-9_-]{1,64}$/;

export type AssertionResult = { ok: true; deviceId: string; tenantId: string } | { ok: false; reason: string };

export interface AssertionDeps {
  models: DeviceModels;
  audit: AuditSink;
  now: () => Date;
}

export async function verifyDeviceAssertion(deps: AssertionDeps, assertion: string, audience: string, requestId?: string): Promise<AssertionResult> {
  let device: DeviceDoc | null = null;
  const refuse = async (reason: string): Promise<AssertionResult> => {
    await deps.audit.record({ type: 'device.assertion_refused', actor: device ? `device:${device._id}` : 'anonymous', tenantId: device?.tenantId, requestId, details: { reason } });
    return { ok: false, reason };
  };
  let sub: unknown;
  try {
    sub = decodeJwt(assertion).sub;
  } catch {
    return refuse('malformed');
  }
  if (typeof sub !== 'string' || !DEVICE_ID.test(sub)) return refuse('malformed');
  device = await deps.models.Device.findOne({ _id: sub }).lean<DeviceDoc>();
  if (!device) return refuse('unknown_device');
  if (!device.publicJwk) return refuse('no_key');
  if (device.status !== 'ACTIVE') return refuse(`status_${device.status.toLowerCase()}`);

  const now = deps.now();
  let payload;
  try {
    const alg = typeof device.publicJwk.alg === 'string' ? device.publicJwk.alg : device.publicJwk.kty === 'OKP' ? 'EdDSA' : 'ES256';
    if (!ALGORITHMS.includes(alg)) return refuse('key_algorithm');
    const key = await importJWK(device.publicJwk as JWK, alg);
    ({ payload } = await jwtVerify(assertion, key, {
      algorithms: [alg],
      issuer: device._id,
      subject: device._id,
      audience,
      requiredClaims: ['iat', 'exp', 'jti'],
      clockTolerance: CLOCK_TOLERANCE,
      currentDate: now,
    }));
  } catch (err) {
    return refuse((err as { code?: string }).code === 'ERR_JWT_EXPIRED' ? 'expired' : (err as { claim?: string }).claim === 'aud' ? 'wrong_audience' : 'invalid');
  }
  const { iat, exp, jti } = payload as { iat: number; exp: number; jti: unknown };
  if (exp - iat > MAX_ASSERTION_LIFETIME) return refuse('lifetime_too_long');
  if (iat > now.getTime() / 1000 + CLOCK_TOLERANCE) return refuse('issued_in_future');
  if (typeof jti !== 'string' || !jti || jti.length > 128) return refuse('invalid');
  try {
    await deps.models.UsedAssertion.create({ _id: `${device._id}:${jti}`, expiresAt: new Date((exp + CLOCK_TOLERANCE) * 1000) });
  } catch (err) {
    if (isDuplicateKey(err)) return refuse('replayed');
    throw err;
  }
  return { ok: true, deviceId: device._id, tenantId: device.tenantId };
}
