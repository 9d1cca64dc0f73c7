/**
 * HTTPS at the gateway: TLS 1.3 only (a TLS 1.2 client is refused), HSTS
 * on HTTPS responses, certificates from files checked at start, and the
 * self-signed development certificate (TLS=dev) generated with openssl.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import { loadConfig } from '../../lib/config';
import { HSTS_VALUE, generateSelfSigned, loadTls, TlsSetupError } from '../../lib/transport';
import { startEdgeGateway, type EdgeGateway } from './gateway-kit';

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
if (!hasOpenssl) console.warn('Skipping the TLS tests: openssl is not installed (apt-get install -y openssl).');
const describeTls = hasOpenssl ? describe : describe.skip;

function handshake(port: number, ca: string, version: 'TLSv1.2' | 'TLSv1.3'): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket: TLSSocket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca, minVersion: version, maxVersion: version }, () => {
      const protocol = socket.getProtocol() ?? 'none';
      socket.end();
      resolve(protocol);
    });
    socket.on('error', reject);
  });
}

function httpsGet(url: string, ca: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, servername: 'localhost' }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describeTls('HTTPS with TLS_CERT_FILE / TLS_KEY_FILE', () => {
  let dir: string;
  let cert: string;
  let g: EdgeGateway;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'tracksafe-tls-'));
    const files = generateSelfSigned(dir, 2);
    cert = readFileSync(files.certFile, 'utf8');
    g = await startEdgeGateway('production', { TLS_CERT_FILE: files.certFile, TLS_KEY_FILE: files.keyFile });
  });
  afterAll(async () => {
    await g?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('serves https', () => {
    expect(g.gw.protocol).toBe('https');
    expect(g.base).toMatch(/^https:/);
  });

  test('a TLS 1.3 client connects', async () => {
    await expect(handshake(g.port, cert, 'TLSv1.3')).resolves.toBe('TLSv1.3');
  });

  test('a TLS 1.2-only client is refused during the handshake', async () => {
    await expect(handshake(g.port, cert, 'TLSv1.2')).rejects.toThrow(/protocol version|alert|handshake/i);
  });

  test('HTTPS responses carry HSTS for a year with subdomains, health and errors included', async () => {
    for (const p of ['/healthz', '/nope', '/.well-known/security.txt']) {
      const res = await httpsGet(`${g.base}${p}`, cert);
      expect({ p, hsts: res.headers['strict-transport-security'] }).toEqual({ p, hsts: HSTS_VALUE });
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    }
    expect(HSTS_VALUE).toBe('max-age=31536000; includeSubDomains');
  });
});

describeTls('certificates', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'tracksafe-tls-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('a key that does not belong to the certificate stops the start', () => {
    const a = generateSelfSigned(path.join(dir, 'a'));
    const b = generateSelfSigned(path.join(dir, 'b'));
    expect(() => loadTls({ mode: 'files', certFile: a.certFile, keyFile: b.keyFile })).toThrow(TlsSetupError);
    expect(() => loadTls({ mode: 'files', certFile: a.certFile, keyFile: b.keyFile })).toThrow(/does not belong/);
    expect(() => loadTls({ mode: 'files', certFile: path.join(dir, 'missing.pem'), keyFile: a.keyFile })).toThrow(/cannot be read/);
    writeFileSync(path.join(dir, 'junk.pem'), 'not a certificate');
    expect(() => loadTls({ mode: 'files', certFile: path.join(dir, 'junk.pem'), keyFile: a.keyFile })).toThrow(/not a PEM X.509/);
  });

  test('TLS=dev generates a localhost certificate into DATA_DIR/tls once and reuses it', () => {
    const config = loadConfig({ APP_ENV: 'development', TLS: 'dev', DATA_DIR: dir });
    expect(config.transport.tls).toEqual({ mode: 'dev', dir: path.join(dir, 'tls') });
    const first = loadTls(config.transport.tls)!;
    const second = loadTls(config.transport.tls)!;
    expect(second.cert).toBe(first.cert);
    expect(first.cert).toContain('BEGIN CERTIFICATE');
    const text = spawnSync('openssl', ['x509', '-noout', '-ext', 'subjectAltName'], { input: first.cert, encoding: 'utf8' }).stdout;
    expect(text).toContain('DNS:localhost');
    expect(text).toContain('IP Address:127.0.0.1');
  });

  test('configuration: TLS=dev only in development, certificate and key together', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env);
        return [];
      } catch (err) {
        return (err as { problems: string[] }).problems;
      }
    };
    expect(problems({ APP_ENV: 'production', TLS: 'dev' })).toEqual(['TLS=dev (a self-signed certificate) is allowed only with APP_ENV=development']);
    expect(problems({ TLS_CERT_FILE: '/x/cert.pem' })).toEqual(['TLS_CERT_FILE and TLS_KEY_FILE must be set together']);
    expect(problems({ TLS: 'yes' })).toHaveLength(1);
  });
});
