/**
 * TLS material for the gateway: PEM files from configuration, or in
 * development a self-signed certificate for localhost generated with the
 * `openssl` command line (node:crypto can make keys but not certificates)
 * and kept under DATA_DIR for reuse. The server accepts TLS 1.3 only.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { SecureContextOptions, TlsOptions } from 'node:tls';
import type { TlsSettings } from './settings';

/** TLS 1.3 only: no downgrade to 1.2 cipher suites or renegotiation. */
export const TLS_PROTOCOL = { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' } as const satisfies Pick<SecureContextOptions, 'minVersion' | 'maxVersion'>;

export interface TlsMaterial {
  cert: string;
  key: string;
}

export class TlsSetupError extends Error {
  readonly code = 'TLS_SETUP_FAILED';
}

/** The options for `https.createServer`: the material plus TLS 1.3 only. */
export function tlsServerOptions(m: TlsMaterial): TlsOptions {
  return { cert: m.cert, key: m.key, ...TLS_PROTOCOL };
}

function checkPair(cert: string, key: string, where: string): void {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    throw new TlsSetupError(`${where}: the certificate is not a PEM X.509 certificate`);
  }
  let matches = false;
  try {
    matches = x509.checkPrivateKey(createPrivateKey(key));
  } catch {
    throw new TlsSetupError(`${where}: the private key is not a PEM private key`);
  }
  if (!matches) throw new TlsSetupError(`${where}: the private key does not belong to the certificate`);
  if (Date.parse(x509.validTo) < Date.now()) throw new TlsSetupError(`${where}: the certificate expired on ${x509.validTo}`);
}

/**
 * Generates a self-signed P-256 certificate for localhost, 127.0.0.1 and ::1
 * (valid `days`) with openssl. Throws `TlsSetupError` saying what to do when
 * openssl is not installed.
 */
export function generateSelfSigned(dir: string, days = 30): { certFile: string; keyFile: string } {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const certFile = path.join(dir, 'dev-cert.pem');
  const keyFile = path.join(dir, 'dev-key.pem');
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', String(days), '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1', '-keyout', keyFile, '-out', certFile],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
  } catch (err) {
    rmSync(keyFile, { force: true });
    rmSync(certFile, { force: true });
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new TlsSetupError(
      missing
        ? 'TLS=dev needs the openssl command to generate a development certificate: install openssl (apt-get install -y openssl) or set TLS_CERT_FILE and TLS_KEY_FILE'
        : `TLS=dev: openssl failed to generate a certificate: ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`,
    );
  }
  chmodSync(keyFile, 0o600);
  return { certFile, keyFile };
}

/**
 * The certificate and key to serve, or undefined for plain HTTP. In `dev`
 * mode an existing certificate under `dir` is reused while it is valid for
 * at least another day, otherwise a new one is generated.
 */
export function loadTls(settings: TlsSettings): TlsMaterial | undefined {
  if (settings.mode === 'off') return undefined;
  if (settings.mode === 'files') {
    let cert: string;
    let key: string;
    try {
      cert = readFileSync(settings.certFile, 'utf8');
      key = readFileSync(settings.keyFile, 'utf8');
    } catch (err) {
      throw new TlsSetupError(`TLS_CERT_FILE/TLS_KEY_FILE cannot be read: ${(err as Error).message}`);
    }
    checkPair(cert, key, 'TLS_CERT_FILE/TLS_KEY_FILE');
    return { cert, key };
  }
  const certFile = path.join(settings.dir, 'dev-cert.pem');
  const keyFile = path.join(settings.dir, 'dev-key.pem');
  if (existsSync(certFile) && existsSync(keyFile)) {
    try {
      const cert = readFileSync(certFile, 'utf8');
      const key = readFileSync(keyFile, 'utf8');
      checkPair(cert, key, certFile);
      if (Date.parse(new X509Certificate(cert).validTo) > Date.now() + 86_400_000) return { cert, key };
    } catch {
      // unusable: generate a new one below
    }
  }
  const files = generateSelfSigned(settings.dir);
  return { cert: readFileSync(files.certFile, 'utf8'), key: readFileSync(files.keyFile, 'utf8') };
}
