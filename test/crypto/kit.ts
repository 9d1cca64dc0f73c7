/**
 * Shared helpers of the lib/crypto tests: temporary key folders, a vault
 * over devdb or memory, a frozen clock, providers that count or fail, and a
 * throw-away SoftHSM2 token (and a way to delete a key from it).
 */
import type * as Pkcs11 from 'pkcs11js';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import mongoose from 'mongoose';
import { startDevDb, type DevDb } from '../../devdb';
import type { Context } from '../../lib/crypto/canonical';
import { LocalMasterKeyProvider } from '../../lib/crypto/providers/local';
import { pkcs11Binding } from '../../lib/crypto/providers/pkcs11';
import type { MasterKeyProvider } from '../../lib/crypto/providers/types';
import { KeyVault, type KeyVaultOptions } from '../../lib/crypto/key-vault';
import { MemoryKeyVaultStore, MongooseKeyVaultStore, type KeyVaultStore } from '../../lib/crypto/vault-store';
import { loadCryptoConfig } from '../../lib/crypto/config';
import type { UnreadableField } from '../../lib/crypto/model-encryption';
import { openFieldCrypto, type FieldCryptoRuntime } from '../../lib/crypto/runtime';

export const SOFTHSM_LIB = process.env.SOFTHSM2_LIB || '/usr/lib/softhsm/libsofthsm2.so';
/**
 * SoftHSM2 tests skip only when the library file is absent — unless
 * TRACKSAFE_REQUIRE_SOFTHSM=1 (CI, which installs Debian's softhsm2): then
 * they run and fail, so a broken install cannot pass as skipped.
 */
export const softHsmRequired = process.env.TRACKSAFE_REQUIRE_SOFTHSM === '1';
export const softHsmInstalled = existsSync(SOFTHSM_LIB) || softHsmRequired;

export function tempDir(prefix = 'tracksafe-crypto-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A clock tests move by hand. */
export function frozenClock(start = '2026-01-15T09:00:00.000Z'): { now: () => Date; advance(ms: number): void } {
  let t = Date.parse(start);
  return { now: () => new Date(t), advance: (ms) => void (t += ms) };
}

/** Wraps a provider, counting calls; `failWrapAfter` makes the n+1-th wrap throw (a crash mid-rotation). */
export function instrument(inner: MasterKeyProvider, opts: { failWrapAfter?: number } = {}): MasterKeyProvider & { wraps: number; unwraps: number } {
  const p = {
    id: inner.id,
    env: inner.env,
    wraps: 0,
    unwraps: 0,
    async wrap(plain: Buffer, ctx: Context) {
      if (opts.failWrapAfter !== undefined && p.wraps >= opts.failWrapAfter) throw new Error('simulated provider outage');
      p.wraps++;
      return inner.wrap(plain, ctx);
    },
    async unwrap(wrapped: Buffer, ctx: Context) {
      p.unwraps++;
      return inner.unwrap(wrapped, ctx);
    },
    close: () => inner.close(),
  };
  return p;
}

export function localKey(keysDir: string, name = '1'): Promise<LocalMasterKeyProvider> {
  return LocalMasterKeyProvider.open({ keysDir, env: 'development', name });
}

export function memoryVault(masterKey: MasterKeyProvider, opts: Partial<KeyVaultOptions> = {}): KeyVault {
  return new KeyVault({ store: new MemoryKeyVaultStore(), env: 'development', masterKey, ...opts });
}

/** devdb on port 0 and a mongoose connection to a fresh database. */
export async function startVaultDb(): Promise<{ devdb: DevDb; conn: mongoose.Connection; store(): KeyVaultStore; close(): Promise<void> }> {
  const devdb = await startDevDb({ port: 0 });
  const conn = await mongoose.createConnection(devdb.uri, { dbName: `crypto_${randomBytes(4).toString('hex')}` }).asPromise();
  return {
    devdb,
    conn,
    store: () => new MongooseKeyVaultStore(conn),
    close: async () => {
      await conn.close();
      await devdb.stop();
    },
  };
}

/**
 * devdb on port 0, a connection to a fresh database with field encryption
 * bound (a development master key in a temporary folder), and one `close`
 * for all of it: what the encryption plugin's tests run on.
 */
export async function startEncryptedDb(onUnreadable?: (f: UnreadableField) => void): Promise<{ devdb: DevDb; conn: mongoose.Connection; runtime: FieldCryptoRuntime; close(): Promise<void> }> {
  const db = await startVaultDb();
  const keys = tempDir();
  const runtime = await openFieldCrypto(db.conn, { appEnv: 'development', crypto: loadCryptoConfig({}, { appEnv: 'development', keysDir: keys.dir }), onUnreadable });
  return {
    devdb: db.devdb,
    conn: db.conn,
    runtime,
    close: async () => {
      await db.close();
      await runtime.close();
      keys.cleanup();
    },
  };
}

export interface SoftHsmToken {
  tokenLabel: string;
  pin: string;
  soPin: string;
}

/**
 * Initialises a fresh token with softhsm2-util in the SoftHSM2 folder of
 * the test file's environment (./softhsm-environment.ts), which removes it.
 */
export function createSoftHsmToken(tokenLabel = `tracksafe-${randomBytes(3).toString('hex')}`): SoftHsmToken {
  if (!existsSync(SOFTHSM_LIB)) throw new Error(`${SOFTHSM_LIB} not found and TRACKSAFE_REQUIRE_SOFTHSM=1: apt-get install -y softhsm2`);
  if (!process.env.SOFTHSM2_CONF) throw new Error('SOFTHSM2_CONF is unset: give the test file the docblock @jest-environment <rootDir>/test/crypto/softhsm-environment.ts');
  const pin = '246810';
  const soPin = '13579111';
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', tokenLabel, '--pin', pin, '--so-pin', soPin], { env: process.env, stdio: 'pipe' });
  return { tokenLabel, pin, soPin };
}

/** Raw PKCS#11 access to a SoftHSM2 token, logged in as its user (as an attacker with the PIN, or the HSM's tooling, would have). */
export function withSoftHsmSession<T>(token: SoftHsmToken, run: (lib: Pkcs11.PKCS11, session: Pkcs11.Handle, b: typeof Pkcs11) => T): T {
  const b = pkcs11Binding();
  const lib = new b.PKCS11();
  lib.load(SOFTHSM_LIB);
  try {
    lib.C_Initialize();
  } catch (err) {
    if ((err as { code?: number }).code !== b.CKR_CRYPTOKI_ALREADY_INITIALIZED) throw err;
  }
  const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trimEnd() === token.tokenLabel);
  if (slot === undefined) throw new Error(`no SoftHSM2 token labelled ${token.tokenLabel}`);
  const session = lib.C_OpenSession(slot, b.CKF_SERIAL_SESSION | b.CKF_RW_SESSION);
  try {
    try {
      lib.C_Login(session, b.CKU_USER, token.pin);
    } catch (err) {
      if ((err as { code?: number }).code !== b.CKR_USER_ALREADY_LOGGED_IN) throw err;
    }
    return run(lib, session, b);
  } finally {
    lib.C_CloseSession(session);
  }
}

/**
 * Deletes the key labelled `label` from a SoftHSM2 token, as the HSM's
 * tooling does when a customer revokes their key. Returns how many objects
 * it destroyed.
 */
export function destroySoftHsmKey(token: SoftHsmToken, label: string): number {
  return withSoftHsmSession(token, (lib, session, b) => {
    lib.C_FindObjectsInit(session, [{ type: b.CKA_LABEL, value: label }]);
    const found = lib.C_FindObjects(session, 10);
    lib.C_FindObjectsFinal(session);
    for (const handle of found) lib.C_DestroyObject(session, handle);
    return found.length;
  });
}
