/**
 * Zero trust end to end: the gateway verifies the caller's token, each hop
 * to a subgraph carries a short-lived internal token for that subgraph, and
 * a subgraph reached directly — bypassing the gateway — answers nothing.
 */
import { SignJWT, generateKeyPair } from 'jose';
import { INTERNAL_ISSUER, INTERNAL_TOKEN_TYP, createInternalTokenSigner } from '../../lib/auth/internal-token';
import { MemoryKeyStore } from '../../lib/auth/keys';
import { codes, postGraphQL, startStack, tenantA, userOf, type Stack } from '../kit/stack';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

describe('at the gateway', () => {
  test('without a token only public fields answer', async () => {
    const denied = await stack.gql(`{ shipments(first: 1) { totalCount } }`, undefined, { principal: null });
    expect(codes(denied)).toEqual(['UNAUTHENTICATED']);
    const pub = await stack.gql(`{ trackShipment(trackingNumber: "TS000000XX", token: "nope") { status } }`, undefined, { principal: null });
    expect(pub.errors ?? []).toEqual([]);
    expect(pub.data!.trackShipment).toBeNull();
  });

  test('a token that fails verification is a 401, never an anonymous request', async () => {
    const valid = await stack.tokenFor(userOf(tenantA.id));
    const tampered = valid.slice(0, -4) + (valid.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    for (const authorization of [`Bearer ${tampered}`, 'Bearer not.a.jwt', 'Basic dXNlcjpwYXNz']) {
      const res = await stack.gql(`{ trackShipment(trackingNumber: "X", token: "Y") { status } }`, undefined, { principal: null, headers: { authorization } });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toContain('invalid_token');
      expect(codes(res)).toEqual(['UNAUTHENTICATED']);
      expect(res.errors![0].extensions!.reason).toBe('TOKEN_INVALID');
    }
  });

  test('the JWKS of the platform issuer is published; the dev token mint works in development', async () => {
    const base = stack.platform.gatewayUrl.replace('/graphql', '');
    const jwks = (await (await fetch(`${base}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string; d?: string }> };
    expect(jwks.keys.length).toBeGreaterThan(0);
    for (const k of jwks.keys) expect(k.d).toBeUndefined();
    const minted = await fetch(`${base}/dev/token`, { method: 'POST', body: JSON.stringify({ user: 'dispatcher@northwind.example' }) });
    expect(minted.status).toBe(200);
    const { access_token } = (await minted.json()) as { access_token: string };
    const res = await postGraphQL(stack.platform.gatewayUrl, `{ shipments(first: 1) { totalCount } }`, undefined, { authorization: `Bearer ${access_token}` });
    expect(res.errors).toBeUndefined();
  });
});

describe('a subgraph reached directly', () => {
  const OPERATIONS = [
    ['a root field', `{ shipments(first: 1) { totalCount } }`],
    ['_service', `{ _service { sdl } }`],
    ['_entities', `{ _entities(representations: [{ __typename: "Shipment", id: "x" }]) { __typename } }`],
  ] as const;

  test.each(OPERATIONS)('refuses %s without an internal token', async (_name, query) => {
    const res = await postGraphQL(stack.platform.subgraphUrls.shipment, query);
    expect(res.status).toBe(401);
    expect(res.data).toBeUndefined();
    expect(res.errors![0].extensions!.reason).toBe('INTERNAL_TOKEN_REQUIRED');
  });

  test.each(OPERATIONS)("refuses %s with the caller's own access token instead of an internal one", async (_name, query) => {
    const token = await stack.tokenFor(userOf(tenantA.id));
    const res = await postGraphQL(stack.platform.subgraphUrls.shipment, query, undefined, { authorization: `Bearer ${token}` });
    expect(res.status).toBe(401);
  });

  test('refuses a forged internal token (signed with another key) and one minted for another subgraph', async () => {
    const principal = { kind: 'system' as const, id: 'forger' };
    const otherKeys = await MemoryKeyStore.create('development', 'internal');
    const forged = await createInternalTokenSigner(otherKeys).tokenFor(principal, 'shipment');
    const { privateKey } = await generateKeyPair('ES256');
    const selfSigned = await new SignJWT({ p: principal }).setProtectedHeader({ alg: 'ES256', typ: INTERNAL_TOKEN_TYP, kid: stack.platform.auth.internalKeys.current().kid }).setIssuer(INTERNAL_ISSUER).setAudience('shipment').setIssuedAt().setExpirationTime('60s').sign(privateKey);
    const forDevice = await createInternalTokenSigner(stack.platform.auth.internalKeys).tokenFor(principal, 'device');
    for (const token of [forged, selfSigned, forDevice]) {
      const res = await postGraphQL(stack.platform.subgraphUrls.shipment, `{ _service { sdl } }`, undefined, { authorization: `Bearer ${token}` });
      expect(res.status).toBe(401);
    }
    // The genuine article for this subgraph works: the refusals above are about the token, nothing else.
    const genuine = await createInternalTokenSigner(stack.platform.auth.internalKeys).tokenFor(principal, 'shipment');
    const ok = await postGraphQL<{ _service: { sdl: string } }>(stack.platform.subgraphUrls.shipment, `{ _service { sdl } }`, undefined, { authorization: `Bearer ${genuine}` });
    expect(ok.status).toBe(200);
    expect(ok.data!._service.sdl).toContain('type Shipment');
  });
});
