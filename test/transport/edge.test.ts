/**
 * The gateway's transport edge over real HTTP: security headers on every
 * kind of response, the Sandbox CSP where the landing page is served, the
 * CORS allow-list and preflights, body size and CSRF-safe content types,
 * request timeouts, and security.txt.
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import { loadConfig } from '../../lib/config';
import { post, startEdgeGateway, type EdgeGateway } from './gateway-kit';

/** Headers every response must carry, whatever produced it. */
function expectSecurityHeaders(h: Headers): void {
  expect(h.get('x-content-type-options')).toBe('nosniff');
  expect(h.get('x-frame-options')).toBe('DENY');
  expect(h.get('referrer-policy')).toBe('no-referrer');
  expect(h.get('cross-origin-opener-policy')).toBe('same-origin');
  expect(h.get('cross-origin-resource-policy')).toBe('same-origin');
  expect(h.get('content-security-policy')).toContain("default-src 'none'");
  expect(h.get('content-security-policy')).toContain("frame-ancestors 'none'");
  expect(h.get('x-powered-by')).toBeNull();
  // Plain HTTP: no HSTS (see tls.test.ts for HTTPS).
  expect(h.get('strict-transport-security')).toBeNull();
}

describe('in production', () => {
  let g: EdgeGateway;
  beforeAll(async () => {
    g = await startEdgeGateway('production', {
      CORS_ORIGINS: 'https://app.tracksafe.example,https://partner.example',
      MAX_BODY_BYTES: '2048',
      REQUEST_TIMEOUT_MS: '5000',
      HEADERS_TIMEOUT_MS: '1000',
      SECURITY_CONTACT: 'mailto:security@tracksafe.example,https://tracksafe.example/security',
      SECURITY_TXT_EXPIRES: '2031-01-01T00:00:00Z',
      SECURITY_TXT_LANGUAGES: 'en, nl',
      PLATFORM_ISSUER: 'https://api.tracksafe.example',
      SECURITY_POLICY_URL: 'https://tracksafe.example/disclosure',
    });
  });
  afterAll(() => g.stop());

  describe('security headers on every response', () => {
    test('a GraphQL response', async () => {
      const res = await post(g.base, { query: '{ __typename }' });
      expect([res.status, res.json]).toEqual([200, { data: { __typename: 'Query' } }]);
      expectSecurityHeaders(res.headers);
    });

    test('health, readiness, JWKS and security.txt', async () => {
      for (const path of ['/healthz', '/readyz', '/.well-known/jwks.json', '/.well-known/security.txt']) {
        const res = await fetch(`${g.base}${path}`);
        expect({ path, ok: res.status < 600 }).toEqual({ path, ok: true });
        expectSecurityHeaders(res.headers);
      }
    });

    test('errors: unknown route (404), malformed JSON (400), a GraphQL error, a refused origin (403)', async () => {
      const notFound = await fetch(`${g.base}/nope`);
      expect(notFound.status).toBe(404);
      expectSecurityHeaders(notFound.headers);
      const bad = await fetch(`${g.base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
      expect(bad.status).toBe(400);
      expectSecurityHeaders(bad.headers);
      const invalid = await post(g.base, { query: '{ nope }' });
      expect(invalid.status).toBe(400);
      expectSecurityHeaders(invalid.headers);
      const refused = await post(g.base, { query: '{ __typename }' }, { origin: 'https://evil.example' });
      expect(refused.status).toBe(403);
      expectSecurityHeaders(refused.headers);
    });

    test('no landing page and no relaxed CSP in production', async () => {
      const res = await fetch(`${g.base}/graphql`, { headers: { accept: 'text/html' } });
      expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(await res.text()).not.toContain('embeddable-sandbox');
    });
  });

  describe('CORS allow-list', () => {
    test('a listed origin gets its own origin back (never *), with Vary: Origin and the rate-limit headers exposed', async () => {
      const res = await post(g.base, { query: '{ __typename }' }, { origin: 'https://app.tracksafe.example' });
      expect(res.status).toBe(200);
      expect(res.headers.get('access-control-allow-origin')).toBe('https://app.tracksafe.example');
      expect(res.headers.get('access-control-allow-credentials')).toBeNull();
      expect(res.headers.get('vary')).toMatch(/Origin/);
      expect(res.headers.get('access-control-expose-headers')).toContain('ratelimit');
    });

    test('any other origin is refused with 403 CORS_ORIGIN_REFUSED before GraphQL runs, and gets no CORS headers', async () => {
      for (const origin of ['https://evil.example', 'null', 'https://app.tracksafe.example.evil.example', 'http://app.tracksafe.example']) {
        const res = await post(g.base, { query: '{ __typename }' }, { origin });
        expect({ origin, status: res.status, code: res.json.errors?.[0]?.extensions?.code }).toEqual({ origin, status: 403, code: 'CORS_ORIGIN_REFUSED' });
        expect(res.headers.get('access-control-allow-origin')).toBeNull();
      }
    });

    test('a preflight from a listed origin is answered 204 with methods, headers and max-age', async () => {
      const res = await fetch(`${g.base}/graphql`, {
        method: 'OPTIONS',
        headers: { origin: 'https://partner.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' },
      });
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe('https://partner.example');
      expect(res.headers.get('access-control-allow-methods')).toBe('GET, POST, OPTIONS');
      expect(res.headers.get('access-control-allow-headers')).toContain('authorization');
      expect(res.headers.get('access-control-allow-headers')).toContain('content-type');
      expect(res.headers.get('access-control-max-age')).toBe('600');
      expectSecurityHeaders(res.headers);
    });

    test('a preflight from another origin is refused', async () => {
      const res = await fetch(`${g.base}/graphql`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
      expect(res.status).toBe(403);
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
    });

    test('same-origin requests and requests without Origin (servers, curl) pass untouched', async () => {
      const same = await post(g.base, { query: '{ __typename }' }, { origin: g.base });
      expect(same.status).toBe(200);
      expect(same.headers.get('access-control-allow-origin')).toBeNull();
      const none = await post(g.base, { query: '{ __typename }' });
      expect(none.status).toBe(200);
    });
  });

  describe('bodies', () => {
    test('a body over MAX_BODY_BYTES is refused with 413 (declared length)', async () => {
      const res = await post(g.base, { query: `{ __typename } # ${'x'.repeat(3000)}` });
      expect([res.status, res.json.errors[0].extensions.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
      expectSecurityHeaders(res.headers);
    });

    test('a chunked body that grows over the limit is refused with 413 too', async () => {
      const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(`${g.base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode!, body: text }));
        });
        req.on('error', reject);
        for (let i = 0; i < 4; i++) req.write('x'.repeat(1000));
        req.end();
      });
      expect(status).toBe(413);
      expect(JSON.parse(body).errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
    });

    test('form bodies (urlencoded, multipart) are refused with 415 on /graphql: no CSRF through HTML forms', async () => {
      for (const type of ['application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'Application/X-WWW-Form-Urlencoded; charset=utf-8']) {
        const res = await fetch(`${g.base}/graphql`, { method: 'POST', headers: { 'content-type': type }, body: 'query=%7B__typename%7D' });
        expect({ type, status: res.status, code: ((await res.json()) as any).errors[0].extensions.code }).toEqual({ type, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
      }
    });

    test("a simple text/plain request is still stopped by Apollo's CSRF prevention, and a mutation over GET with 405", async () => {
      const plain = await fetch(`${g.base}/graphql`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"query":"{ __typename }"}' });
      expect(plain.status).toBe(400);
      const get = await fetch(`${g.base}/graphql?query=${encodeURIComponent('mutation { __typename }')}`, { headers: { 'apollo-require-preflight': 'true' } });
      expect(get.status).toBe(405);
    });
  });

  describe('timeouts', () => {
    test('the server carries the configured request and header timeouts', () => {
      expect(g.gw.server.requestTimeout).toBe(5000);
      expect(g.gw.server.headersTimeout).toBe(1000);
    });

    test('a client that never finishes its headers is cut off (408) after HEADERS_TIMEOUT_MS', async () => {
      const started = Date.now();
      const reply = await new Promise<string>((resolve) => {
        const socket = connect(g.port, '127.0.0.1', () => socket.write('POST /graphql HTTP/1.1\r\nHost: x\r\n'));
        let text = '';
        socket.on('data', (c) => (text += c));
        socket.on('close', () => resolve(text));
        socket.on('error', () => resolve(text));
      });
      expect(reply).toMatch(/^HTTP\/1\.1 408/);
      expect(Date.now() - started).toBeLessThan(4000);
    });
  });

  describe('/.well-known/security.txt (RFC 9116)', () => {
    test('has Contact, Expires, Preferred-Languages, Canonical and Policy from configuration, as text/plain', async () => {
      const res = await fetch(`${g.base}/.well-known/security.txt`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(await res.text()).toBe(
        [
          'Contact: mailto:security@tracksafe.example',
          'Contact: https://tracksafe.example/security',
          'Expires: 2031-01-01T00:00:00Z',
          'Preferred-Languages: en, nl',
          'Canonical: https://api.tracksafe.example/.well-known/security.txt',
          'Policy: https://tracksafe.example/disclosure',
          '',
        ].join('\n'),
      );
    });
  });
});

describe('in development', () => {
  let g: EdgeGateway;
  beforeAll(async () => {
    g = await startEdgeGateway('development');
  });
  afterAll(() => g.stop());

  test('the Sandbox landing page gets a CSP it can run under; API responses keep the strict one', async () => {
    const page = await fetch(`${g.base}/graphql`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain('https://embeddable-sandbox.cdn.apollographql.com');
    expect(csp).toContain('frame-src https://sandbox.embed.apollographql.com');
    expect(csp).not.toContain('upgrade-insecure-requests');
    expect(await page.text()).toContain('embeddable-sandbox');
    expectSecurityHeaders((await post(g.base, { query: '{ __typename }' })).headers);
  });

  test('the embedded Sandbox may call from its origin by default', async () => {
    const res = await post(g.base, { query: '{ __typename }' }, { origin: 'https://sandbox.embed.apollographql.com' });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://sandbox.embed.apollographql.com');
  });

  test('security.txt has sane defaults: a contact, an expiry within a year, English, its canonical URL', async () => {
    const text = await (await fetch(`${g.base}/.well-known/security.txt`)).text();
    expect(text).toMatch(/^Contact: mailto:\S+@\S+$/m);
    expect(text).toMatch(/^Preferred-Languages: en$/m);
    expect(text).toMatch(/^Canonical: http:\/\/127\.0\.0\.1:4000\/\.well-known\/security\.txt$/m);
    const expires = Date.parse(/^Expires: (\S+)$/m.exec(text)![1]);
    expect(expires).toBeGreaterThan(Date.now());
    expect(expires).toBeLessThan(Date.now() + 366 * 86_400_000);
  });
});

describe('configuration', () => {
  const problems = (env: Record<string, string>): string[] => {
    try {
      loadConfig(env);
      return [];
    } catch (err) {
      return (err as { problems: string[] }).problems;
    }
  };

  test('production refuses a wildcard CORS origin and plain-http origins, and says which', () => {
    expect(problems({ APP_ENV: 'production', CORS_ORIGINS: '*' })).toEqual(['CORS_ORIGINS=* (any origin) is refused in production: list the origins']);
    expect(problems({ APP_ENV: 'production', CORS_ORIGINS: 'http://app.example' })[0]).toMatch(/production origins must be https/);
    expect(problems({ APP_ENV: 'development', CORS_ORIGINS: '*' })).toEqual([]);
  });

  test('origins are scheme://host[:port] only', () => {
    expect(problems({ CORS_ORIGINS: 'https://app.example/path' })).toHaveLength(1);
    expect(problems({ CORS_ORIGINS: 'app.example' })).toHaveLength(1);
    expect(loadConfig({ CORS_ORIGINS: 'https://app.example, http://localhost:3000' }).transport.corsOrigins).toEqual(['https://app.example', 'http://localhost:3000']);
  });

  test('limits must be sane numbers; the header timeout fits in the request timeout', () => {
    expect(problems({ MAX_BODY_BYTES: 'lots' })).toHaveLength(1);
    expect(problems({ REQUEST_TIMEOUT_MS: '2000', HEADERS_TIMEOUT_MS: '5000' })).toHaveLength(1);
    expect(problems({ SECURITY_CONTACT: 'security@example.com' })).toHaveLength(1);
    expect(problems({ SECURITY_TXT_EXPIRES: 'soon' })).toHaveLength(1);
  });
});
