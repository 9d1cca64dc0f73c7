/**
 * The device token grant end to end (RFC 7523 jwt-bearer at
 * `POST /oauth/token`): a sensor tag signs an assertion with its key (the
 * demo key pair, derivable in development), the device subgraph checks it
 * against the stored public key, the gateway issues a 5-minute DEVICE token
 * bound to the device and its tenant. Refusals are all invalid_grant. The
 * credential clock is frozen: assertion times come from it. Once issued,
 * the token works only while the device is ACTIVE: the gateway asks the
 * device subgraph on every request (cached 5 s on the same clock).
 */
import { randomUUID } from 'node:crypto';
import { SignJWT, generateKeyPair, importJWK, type JWK } from 'jose';
import { demoDeviceKey } from '../../lib/demo-credentials';
import { JWT_BEARER } from '../../gateway/oauth/token-route';
import type { Principal } from '../../lib/context';
import { createModels as createDeviceModels } from '../../subgraphs/device/model';
import { auditEvents, claimsOf, gqlWithToken, internalCall, manualClock, requestToken, tokenEndpointAudience } from '../kit/credentials';
import { plan, startStack, type Stack } from '../kit/stack';

const clock = manualClock();
let stack: Stack;
const tag = plan.devices.find((d) => d.kind === 'SENSOR_TAG')!;
const scanner = plan.devices.find((d) => d.kind === 'SCANNER')!;
const shipment = plan.shipments.find((s) => s.deviceIds.includes(tag.id))!;

beforeAll(async () => {
  stack = await startStack({}, { credentialClock: clock });
}, 60_000);
afterAll(() => stack?.stop());

interface AssertionOptions {
  deviceId?: string;
  key?: Parameters<SignJWT['sign']>[0];
  aud?: string;
  iat?: number;
  lifetime?: number;
  jti?: string;
}

async function assertion(o: AssertionOptions = {}): Promise<string> {
  const deviceId = o.deviceId ?? tag.id;
  const key = o.key ?? (await importJWK(demoDeviceKey(deviceId).privateJwk as JWK, 'ES256'));
  const iat = o.iat ?? clock.seconds();
  return new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', typ: 'JWT' })
    .setIssuer(deviceId)
    .setSubject(deviceId)
    .setAudience(o.aud ?? tokenEndpointAudience(stack))
    .setIssuedAt(iat)
    .setExpirationTime(iat + (o.lifetime ?? 60))
    .setJti(o.jti ?? randomUUID())
    .sign(key);
}

const grant = (a: string, extra: Record<string, string> = {}) => requestToken(stack, { grant_type: JWT_BEARER, assertion: a, ...extra });

async function expectInvalidGrant(a: string, reason: string): Promise<void> {
  const res = await grant(a);
  expect([res.status, res.body]).toEqual([400, { error: 'invalid_grant', error_description: expect.any(String) }]);
  expect((await auditEvents(stack, 'device.assertion_refused')).at(-1)!.details).toEqual({ reason });
}

test('a signed assertion gives a 5-minute DEVICE token bound to the device and its tenant', async () => {
  const res = await grant(await assertion());
  expect(res.status).toBe(200);
  expect(res.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 300, scope: 'readings:write events:write' });
  const claims = claimsOf(res.body.access_token);
  expect(claims).toMatchObject({ sub: tag.id, tid: tag.tenantId, sub_type: 'device', roles: ['DEVICE'], scope: 'readings:write events:write' });
  expect(claims.exp! - claims.iat!).toBe(300);
  // The token works for what a device does: report a reading of its own.
  const recorded = await gqlWithToken(
    stack,
    res.body.access_token,
    `mutation($input: RecordSensorReadingInput!) { recordSensorReading(input: $input) { deviceId value } }`,
    { input: { deviceId: tag.id, clientReadingId: randomUUID(), shipmentId: shipment.id, recordedAt: new Date().toISOString(), type: 'TEMPERATURE', value: 4.5, unit: 'CEL' } },
  );
  expect(recorded.body.errors).toBeUndefined();
  expect(recorded.body.data.recordSensorReading).toEqual({ deviceId: tag.id, value: 4.5 });
});

test('an assertion is good once: a replayed jti is invalid_grant', async () => {
  const once = await assertion({ jti: 'once-only' });
  expect((await grant(once)).status).toBe(200);
  await expectInvalidGrant(once, 'replayed');
  // The same jti in a new assertion is a replay too.
  await expectInvalidGrant(await assertion({ jti: 'once-only', iat: clock.seconds() + 1 }), 'replayed');
});

test('an expired assertion, or one living longer than 60 s, is invalid_grant', async () => {
  await expectInvalidGrant(await assertion({ iat: clock.seconds() - 120 }), 'expired');
  await expectInvalidGrant(await assertion({ lifetime: 300 }), 'lifetime_too_long');
  // Valid when signed, expired once the clock has moved past exp (+5 s tolerance).
  const a = await assertion();
  clock.advance(66_000);
  await expectInvalidGrant(a, 'expired');
});

test('an assertion for another audience is invalid_grant', async () => {
  await expectInvalidGrant(await assertion({ aud: 'https://elsewhere.example/oauth/token' }), 'wrong_audience');
});

test('an unknown device, a device without a key, and a key that is not the device’s are invalid_grant', async () => {
  const { privateKey } = await generateKeyPair('ES256');
  await expectInvalidGrant(await assertion({ deviceId: 'a0b1c2d3e4f5a6b7c8d9e0f1', key: privateKey }), 'unknown_device');
  await expectInvalidGrant(await assertion({ deviceId: scanner.id, key: privateKey }), 'no_key');
  await expectInvalidGrant(await assertion({ key: privateKey }), 'invalid');
});

test('malformed and unsigned assertions, and scopes a device does not have, are refused', async () => {
  await expectInvalidGrant('not-a-jwt', 'malformed');
  const header = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
  const payload = Buffer.from(JSON.stringify({ iss: tag.id, sub: tag.id, aud: tokenEndpointAudience(stack), iat: clock.seconds(), exp: clock.seconds() + 60, jti: randomUUID() })).toString('base64url');
  await expectInvalidGrant(`${header}.${payload}.`, 'invalid');
  expect((await grant(await assertion(), { scope: 'shipments:read' })).body.error).toBe('invalid_scope');
  expect((await requestToken(stack, { grant_type: JWT_BEARER })).body.error).toBe('invalid_request');
});

describe('device status on every request', () => {
  // Its own sensor tag, so the status changes below touch no other test.
  const device = plan.devices.filter((d) => d.kind === 'SENSOR_TAG' && d.tenantId === tag.tenantId)[1];
  const itsShipment = plan.shipments.find((s) => s.deviceIds.includes(device.id))!;
  const devices = () => createDeviceModels(stack.platform.stores.forRegion()).Device;
  const setStatus = (status: string) => devices().updateOne({ _id: device.id }, { $set: { status } });
  const reading = (token: string) =>
    gqlWithToken(stack, token, `mutation($input: RecordSensorReadingInput!) { recordSensorReading(input: $input) { deviceId } }`, {
      input: { deviceId: device.id, clientReadingId: randomUUID(), shipmentId: itsShipment.id, recordedAt: new Date().toISOString(), type: 'TEMPERATURE', value: 5, unit: 'CEL' },
    });
  /** Past the gateway's status cache (5 s on the credential clock). */
  const pastCache = () => clock.advance(5_001);

  afterEach(() => setStatus('ACTIVE'));

  test('a quarantined, then retired, device is refused on its next request after the status cache; reactivated, it works again', async () => {
    const res = await grant(await assertion({ deviceId: device.id }));
    expect(res.status).toBe(200);
    const token: string = res.body.access_token;
    expect((await reading(token)).body.errors).toBeUndefined();

    for (const status of ['QUARANTINED', 'RETIRED']) {
      await setStatus(status);
      pastCache();
      const refused = await reading(token);
      expect([status, refused.status, refused.body.errors?.[0]?.extensions]).toEqual([status, 401, { code: 'UNAUTHENTICATED', reason: 'PRINCIPAL_REVOKED' }]);
      expect(refused.body.data ?? null).toBeNull();
      // No new token either.
      expect((await grant(await assertion({ deviceId: device.id }))).body.error).toBe('invalid_grant');
      await setStatus('ACTIVE');
      pastCache();
      expect((await reading(token)).body.errors).toBeUndefined();
    }
  });

  test('the device subgraph answers for devices (its tenant, its status, a key), to the gateway only', async () => {
    const ask = (body: unknown, principal?: Principal | null) => internalCall(stack, 'device', '/internal/device-status', { body, principal });
    expect((await ask({ id: device.id, tenantId: device.tenantId })).body).toEqual({ active: true });
    const other = plan.tenants.find((t) => t.id !== device.tenantId)!;
    expect((await ask({ id: device.id, tenantId: other.id })).body).toEqual({ active: false, reason: 'TENANT_MISMATCH' });
    expect((await ask({ id: 'a0b1c2d3e4f5a6b7c8d9e0f1', tenantId: device.tenantId })).body).toEqual({ active: false, reason: 'UNKNOWN' });
    // The demo scanners have no key registered: no token can be theirs.
    expect((await ask({ id: scanner.id, tenantId: scanner.tenantId })).body).toEqual({ active: false, reason: 'NO_KEY' });
    await setStatus('PENDING');
    expect((await ask({ id: device.id, tenantId: device.tenantId })).body).toEqual({ active: false, reason: 'PENDING' });
    // Refusals: no internal token, a user's hop token, a malformed body.
    expect((await ask({ id: device.id, tenantId: device.tenantId }, null)).status).toBe(401);
    const asDevice: Principal = { kind: 'user', id: device.id, tenantId: device.tenantId, roles: ['DEVICE'], scopes: [], subjectType: 'device' };
    expect((await ask({ id: device.id, tenantId: device.tenantId }, asDevice)).status).toBe(403);
    expect((await ask({ id: device.id })).status).toBe(400);
    expect((await ask({ id: { $ne: null }, tenantId: device.tenantId })).status).toBe(400);
  });
});
