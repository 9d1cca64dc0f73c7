/**
 * Field encryption for tests: a local master key in a temporary folder of
 * its own (never the data folder), removed when the process exits.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AppEnv } from '../../lib/config';
import { loadCryptoConfig } from '../../lib/crypto';
import type { OpenFieldCryptoOptions } from '../../lib/crypto/runtime';

const dirs: string[] = [];
process.once('exit', () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Options for `connectDataStores`: a fresh local master key per call. */
export function testFieldCrypto(appEnv: AppEnv = 'development'): OpenFieldCryptoOptions {
  const keysDir = mkdtempSync(path.join(os.tmpdir(), 'tracksafe-test-keys-'));
  dirs.push(keysDir);
  // Tests run in development mode for the key file; the vault's environment is the subgraph's.
  const crypto = loadCryptoConfig({}, { appEnv, keysDir });
  // A throwaway key in any environment; production refuses key files unless allowed, so tests allow it.
  const masterKey = { ...crypto.masterKey, generate: true, allowLocalInProduction: appEnv === 'production' } as typeof crypto.masterKey;
  return { appEnv, crypto: { ...crypto, masterKey } };
}
