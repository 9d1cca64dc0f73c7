/**
 * The device token grant end to end (RFC 7523 jwt-bearer at
 * `POST /oauth/token`): a sensor tag signs an assertion with its key (the
 * demo key pair, derivable in development), the device subgraph checks it
 * against the stored public key, the gateway issues a 5-minute DEVICE token
 * bound to the device and its tenant. Refusals are all invalid_grant. The
 * credential clock is frozen: assertion times come from it.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT, generateKeyPair, importJWK, type JWK } from 'jose';
import { demoDeviceKey } from '../../lib/demo-credentials';
import { JWT_BEARER } from '../../gateway/oauth/token-route';
import { auditEvents, claimsOf, gqlWithToken, manualClock, requestToken, tokenEndpointAudience } from '../kit/credentials';
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
