/**
 * Token verification refuses every classic JWT attack with a stable reason.
 * The clock is frozen: issue and verify times are explicit.
 */
import { SignJWT, UnsecuredJWT, base64url, decodeJwt, exportJWK, generateKeyPair } from 'jose';
import { createHmac } from 'node:crypto';
import type { TenantPrincipal } from '../../lib/context';
import { createTokenIssuer } from '../../lib/auth/access-token';
import { AuthError } from '../../lib/auth/errors';
import { MemoryKeyStore } from '../../lib/auth/keys';
import { createTokenVerifier } from '../../lib/auth/verify-token';
import { loadConfig } from '../../lib/config';

const ISSUER = 'https://tracksafe.test';
const T0 = 1_790_000_000; // frozen "now", epoch seconds

const alice: TenantPrincipal = { kind: 'user', id: 'u-alice', tenantId: 't-1', roles: ['DISPATCHER'], scopes: ['shipments:read'], subjectType: 'user', amr: ['pwd', 'otp'], authTime: T0 - 60 };

async function setup() {
  const keys = await MemoryKeyStore.create('development', 'platform');
  let now = T0;
  const issuer = createTokenIssuer({ issuer: ISSUER, keys, now: () => now });
  const verifier = createTokenVerifier({ issuer: ISSUER, keys, currentDate: () => new Date(now * 1000) });
  return { keys, issuer, verifier, at: (t: number) => (now = t) };
}

const claimsOfToken = (token: string) => decodeJwt(token);

async function reasonOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(AuthError);
    return (err as AuthError).reason;
  }
  throw new Error('expected a refusal');
}

function resign(token: string, mutate: (header: any, payload: any) => void, sign: (input: string) => string): string {
  const [h, p] = token.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url').toString());
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString());
  mutate(header, payload);
  const input = `${base64url.encode(JSON.stringify(header))}.${base64url.encode(JSON.stringify(payload))}`;
  return `${input}.${sign(input)}`;
}

describe('platform access tokens', () => {
  test('a fresh token verifies into the principal it was issued for', async () => {
    const { issuer, verifier } = await setup();
    const { token, expiresAt } = await issuer.issue(alice);
    expect(expiresAt).toBe(T0 + 900);
    const p = await verifier.verify(token);
    expect(p).toMatchObject({ id: 'u-alice', tenantId: 't-1', roles: ['DISPATCHER'], scopes: ['shipments:read'], amr: ['pwd', 'otp'], authTime: T0 - 60, expiresAt: T0 + 900 });
  });

  test('ABAC attributes travel as claims: data regions (absent: no restriction) and clearances; unknown values are dropped', async () => {
    const { issuer, verifier } = await setup();
    const restricted = await issuer.issue({ ...alice, dataRegions: ['EU', 'APAC'], clearances: ['MEDICAL'] });
    expect(claimsOfToken(restricted.token)).toMatchObject({ data_regions: ['EU', 'APAC'], clearances: ['MEDICAL'] });
    expect(await verifier.verify(restricted.token)).toMatchObject({ dataRegions: ['EU', 'APAC'], clearances: ['MEDICAL'] });
    // Restricted to no region at all is kept as such, never dropped into "unrestricted".
    const none = await verifier.verify((await issuer.issue({ ...alice, dataRegions: [] })).token);
    expect(none.dataRegions).toEqual([]);
    const plain = await verifier.verify((await issuer.issue(alice)).token);
    expect(plain.dataRegions).toBeUndefined();
    expect(plain.clearances).toBeUndefined();
    const odd = await verifier.verify((await issuer.issue({ ...alice, dataRegions: ['EU', 'MARS'] as never, clearances: ['SECRET', 'HAZMAT'] as never })).token);
    expect(odd).toMatchObject({ dataRegions: ['EU'], clearances: ['HAZMAT'] });
  });

  test('tokens live at most 15 minutes', async () => {
    const { issuer } = await setup();
    await expect(issuer.issue(alice, 901)).rejects.toThrow();
  });

  test('alg "none" is refused', async () => {
    const { verifier } = await setup();
    const token = new UnsecuredJWT({ tid: 't-1', roles: ['TENANT_ADMIN'], scope: '', sub_type: 'user', jti: 'x' }).setIssuer(ISSUER).setAudience('tracksafe-api').setSubject('u').setIssuedAt(T0).setExpirationTime(T0 + 60).encode();
    expect(await reasonOf(verifier.verify(token))).toBe('TOKEN_INVALID');
  });

  test('HS256 signed with the public key (algorithm confusion) is refused', async () => {
    const { issuer, keys, verifier } = await setup();
    const { token } = await issuer.issue(alice);
    const publicPem = JSON.stringify(keys.jwks().keys[0]);
    const forged = resign(token, (h, p) => ((h.alg = 'HS256'), (p.roles = ['TENANT_ADMIN'])), (input) => createHmac('sha256', publicPem).update(input).digest('base64url'));
    expect(await reasonOf(verifier.verify(forged))).toBe('TOKEN_INVALID');
  });

  test('an expired token is refused as expired; clock skew within 30 s is tolerated', async () => {
    const { issuer, verifier, at } = await setup();
    const { token } = await issuer.issue(alice, 60);
    at(T0 + 60 + 29);
    await expect(verifier.verify(token)).resolves.toMatchObject({ id: 'u-alice' });
    at(T0 + 60 + 31);
    expect(await reasonOf(verifier.verify(token))).toBe('TOKEN_EXPIRED');
  });

  test('a token not yet valid is refused as such', async () => {
    const { issuer, verifier, at } = await setup();
    at(T0 + 120);
    const { token } = await issuer.issue(alice);
    at(T0);
    expect(await reasonOf(verifier.verify(token))).toBe('TOKEN_NOT_YET_VALID');
  });

  test.each([
    ['issuer', { issuer: 'https://evil.test' }],
    ['audience', { audience: 'another-api' }],
  ])('a wrong %s is refused', async (_what, override) => {
    const { keys, verifier } = await setup();
    const other = createTokenIssuer({ issuer: ISSUER, keys, now: () => T0, ...override });
    expect(await reasonOf(verifier.verify((await other.issue(alice)).token))).toBe('TOKEN_INVALID');
  });

  test('a wrong typ (an ID token or an internal token presented as an access token) is refused', async () => {
    const { keys, verifier } = await setup();
    const k = keys.current();
    const token = await new SignJWT({ tid: 't-1', roles: [], scope: '', sub_type: 'user' }).setProtectedHeader({ alg: 'ES256', kid: k.kid, typ: 'JWT' }).setIssuer(ISSUER).setAudience('tracksafe-api').setSubject('u').setJti('j').setIssuedAt(T0).setExpirationTime(T0 + 60).sign(k.privateKey);
    expect(await reasonOf(verifier.verify(token))).toBe('TOKEN_INVALID');
  });

  test('an unknown kid (a key of another environment) is refused', async () => {
    const { verifier } = await setup();
    const staging = await MemoryKeyStore.create('staging', 'platform');
    const foreign = createTokenIssuer({ issuer: ISSUER, keys: staging, now: () => T0 });
    expect(await reasonOf(verifier.verify((await foreign.issue(alice)).token))).toBe('TOKEN_INVALID');
  });

  test('a tampered payload is refused', async () => {
    const { issuer, verifier } = await setup();
    const { token } = await issuer.issue(alice);
    const [h, p, s] = token.split('.');
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString());
    payload.roles = ['TENANT_ADMIN'];
    payload.tid = 't-2';
    expect(await reasonOf(verifier.verify(`${h}.${base64url.encode(JSON.stringify(payload))}.${s}`))).toBe('TOKEN_INVALID');
  });

  test('a jku header pointing elsewhere is refused without fetching it', async () => {
    const { issuer, verifier } = await setup();
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const jwk = await exportJWK(publicKey);
    const { token } = await issuer.issue(alice);
    const payload = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
    const forged = await new SignJWT(payload).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', jku: 'https://evil.test/jwks.json', kid: 'evil' }).sign(privateKey);
    expect(await reasonOf(verifier.verify(forged))).toBe('TOKEN_INVALID');
    const embedded = await new SignJWT(payload).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', jwk }).sign(privateKey);
    expect(await reasonOf(verifier.verify(embedded))).toBe('TOKEN_INVALID');
  });

  test('garbage is refused', async () => {
    const { verifier } = await setup();
    for (const junk of ['', 'abc', 'a.b.c', 'eyJhbGciOiJFUzI1NiJ9..']) expect(await reasonOf(verifier.verify(junk))).toBe('TOKEN_INVALID');
  });

  test('after a rotation, tokens of the previous key still verify; two rotations later they do not', async () => {
    const { issuer, keys, verifier } = await setup();
    const { token } = await issuer.issue(alice);
    await keys.rotate();
    await expect(verifier.verify(token)).resolves.toMatchObject({ id: 'u-alice' });
    expect(keys.jwks().keys).toHaveLength(2);
    await keys.rotate();
    expect(await reasonOf(verifier.verify(token))).toBe('TOKEN_INVALID');
  });
});

describe('external OIDC issuers (tenant SSO)', () => {
  test("a tenant IdP's RS256 token verifies into a person of that tenant; roles outside person roles are dropped; unknown kids cannot force JWKS refetches inside the cooldown", async () => {
    const { createServer } = await import('node:http');
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'idp-1', alg: 'RS256', use: 'sig' };
    let fetches = 0;
    const idp = createServer((_req, res) => {
      fetches++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((r) => idp.listen(0, '127.0.0.1', () => r()));
    const port = (idp.address() as { port: number }).port;
    try {
      const keys = await MemoryKeyStore.create('development', 'platform');
      const verifier = createTokenVerifier({
        issuer: ISSUER,
        keys,
        externalIssuers: [{ issuer: 'https://idp.northwind.test', jwksUri: `http://127.0.0.1:${port}/jwks`, tenantId: 't-1', audience: 'tracksafe' }],
      });
      const sso = (kid: string) =>
        // The IdP is not trusted for ABAC attributes: its `clearances` and `data_regions` are ignored.
        new SignJWT({ roles: ['DISPATCHER', 'PARTNER', 'GOD'], amr: ['pwd', 'mfa'], clearances: ['HAZMAT'], data_regions: ['US'] })
          .setProtectedHeader({ alg: 'RS256', kid })
          .setIssuer('https://idp.northwind.test')
          .setAudience('tracksafe')
          .setSubject('bob')
          .setIssuedAt()
          .setExpirationTime('5m')
          .sign(privateKey);
      const p = await verifier.verify(await sso('idp-1'));
      expect(p).toMatchObject({ tenantId: 't-1', roles: ['DISPATCHER'], amr: ['pwd', 'mfa'], subjectType: 'user' });
      expect(p.scopes).toContain('shipments:write');
      // No clearances (least privilege); data regions only from the issuer's configuration (none here: no restriction).
      expect(p.clearances).toEqual([]);
      expect(p.dataRegions).toBeUndefined();
      expect(fetches).toBe(1);
      // Unknown kids right after a fetch: refused, and the 30 s cooldown keeps them from hammering the IdP.
      expect(await reasonOf(verifier.verify(await sso('idp-unknown')))).toBe('TOKEN_INVALID');
      expect(await reasonOf(verifier.verify(await sso('idp-unknown-2')))).toBe('TOKEN_INVALID');
      expect(fetches).toBe(1);
      // An issuer configured with data regions restricts its people to them.
      const euOnly = createTokenVerifier({
        issuer: ISSUER,
        keys,
        externalIssuers: [{ issuer: 'https://idp.northwind.test', jwksUri: `http://127.0.0.1:${port}/jwks`, tenantId: 't-1', audience: 'tracksafe', dataRegions: ['EU'] }],
      });
      expect(await euOnly.verify(await sso('idp-1'))).toMatchObject({ dataRegions: ['EU'], clearances: [] });
    } finally {
      idp.close();
    }
  });
});

describe('TRUSTED_ISSUERS', () => {
  const issuer = { issuer: 'https://idp.example', jwksUri: 'https://idp.example/jwks', tenantId: 't-1', audience: 'tracksafe' };
  const load = (entry: Record<string, unknown>) => loadConfig({ APP_ENV: 'development', LOG_LEVEL: 'silent', TRUSTED_ISSUERS: JSON.stringify([entry]) });

  test('dataRegions, when given, must list known regions', () => {
    expect(load({ ...issuer, dataRegions: ['EU', 'US'] }).trustedIssuers[0].dataRegions).toEqual(['EU', 'US']);
    expect(load(issuer).trustedIssuers[0].dataRegions).toBeUndefined();
    expect(() => load({ ...issuer, dataRegions: ['MARS'] })).toThrow(/dataRegions/);
    expect(() => load({ ...issuer, dataRegions: 'EU' })).toThrow(/dataRegions/);
  });
});
