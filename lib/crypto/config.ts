/**
 * Crypto settings from the environment. `CRYPTO_CONFIG_VARS` is part of
 * lib/config.ts's `CONFIG_VARS` (the README's configuration table), and
 * `loadConfig` puts the result in `config.crypto`.
 */
import { readFileSync } from 'node:fs';
import type { AppEnv } from '../config';
import { KeyProviderConfigError } from './errors';
import type { MasterKeyConfig } from './providers';

export interface CryptoConfig {
  masterKey: MasterKeyConfig;
  dataKeyCacheMax: number;
  dataKeyCacheTtlMs: number;
  /** Data keys older than this are due for rotation (`npm run keys:rotate-data`); admins see every key's age. */
  rotationDays: number;
}

export const CRYPTO_CONFIG_VARS: Array<{ name: string; default: string; meaning: string }> = [
  { name: 'MASTER_KEY_PROVIDER', default: 'local', meaning: 'local (a key file, development) or pkcs11 (an HSM); local is refused in production unless allowed' },
  { name: 'MASTER_KEY_NAME', default: 'local: 1 · pkcs11: tracksafe-master', meaning: 'the platform master key: local file <KEYS_DIR>/<env>/master-<name>.key; PKCS#11 key label <env>/<name>' },
  { name: 'LOCAL_MASTER_KEY_ALLOW_IN_PRODUCTION', default: 'false', meaning: 'accept a master key file on disk in production (no HSM)' },
  { name: 'PKCS11_MODULE', default: '(required for pkcs11)', meaning: 'path of the PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so' },
  { name: 'PKCS11_TOKEN_LABEL / PKCS11_SLOT_INDEX', default: '(unset) / 0', meaning: 'the token holding the master key, by label or by position among slots with a token' },
  { name: 'PKCS11_PIN / PKCS11_PIN_FILE', default: '(required for pkcs11)', meaning: 'the token user PIN, or a file holding it (preferred: environment variables are visible in /proc)' },
  { name: 'PKCS11_GCM_PARAMS', default: 'v2.40', meaning: 'CK_GCM_PARAMS layout of the module: v2.40 (with ulIvBits) or v2.30' },
  { name: 'DATA_KEY_CACHE_MAX', default: '1000', meaning: 'unwrapped data keys kept in memory per process (LRU)' },
  { name: 'KEY_ROTATION_DAYS', default: '90', meaning: 'rotation schedule: data keys older than this are reported due (keyInventory, `npm run keys:rotate-data -- --due`)' },
  { name: 'DATA_KEY_CACHE_TTL_MS', default: '60000', meaning: 'how long a cached data key is used without asking the key vault; also how long another process may still use a shredded key' },
];

export function loadCryptoConfig(env: NodeJS.ProcessEnv, base: { appEnv: AppEnv; keysDir: string }): CryptoConfig {
  const problems: string[] = [];
  const int = (name: string, fallback: number, min: number) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) problems.push(`${name} must be an integer ≥ ${min}, got "${raw}"`);
    return n;
  };
  const bool = (name: string) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return false;
    if (!['true', 'false', '1', '0'].includes(raw)) problems.push(`${name} must be true or false, got "${raw}"`);
    return raw === 'true' || raw === '1';
  };
  const kind = env.MASTER_KEY_PROVIDER || 'local';
  let masterKey: MasterKeyConfig | undefined;
  if (kind === 'local') {
    masterKey = { kind, env: base.appEnv, keysDir: base.keysDir, name: env.MASTER_KEY_NAME || '1', allowLocalInProduction: bool('LOCAL_MASTER_KEY_ALLOW_IN_PRODUCTION') };
  } else if (kind === 'pkcs11') {
    let pin = env.PKCS11_PIN;
    if (env.PKCS11_PIN_FILE) {
      try {
        pin = readFileSync(env.PKCS11_PIN_FILE, 'utf8').trim();
      } catch (err) {
        problems.push(`PKCS11_PIN_FILE cannot be read: ${(err as Error).message}`);
      }
    }
    if (!env.PKCS11_MODULE) problems.push('PKCS11_MODULE is required with MASTER_KEY_PROVIDER=pkcs11');
    if (!pin) problems.push('PKCS11_PIN or PKCS11_PIN_FILE is required with MASTER_KEY_PROVIDER=pkcs11');
    const gcm = env.PKCS11_GCM_PARAMS || 'v2.40';
    if (gcm !== 'v2.40' && gcm !== 'v2.30') problems.push(`PKCS11_GCM_PARAMS must be v2.40 or v2.30, got "${gcm}"`);
    masterKey = {
      kind,
      env: base.appEnv,
      modulePath: env.PKCS11_MODULE ?? '',
      tokenLabel: env.PKCS11_TOKEN_LABEL || undefined,
      slotIndex: int('PKCS11_SLOT_INDEX', 0, 0),
      pin: pin ?? '',
      keyLabel: `${base.appEnv}/${env.MASTER_KEY_NAME || 'tracksafe-master'}`,
      gcmParams: gcm as 'v2.40' | 'v2.30',
    };
  } else {
    problems.push(`MASTER_KEY_PROVIDER must be local or pkcs11, got "${kind}"`);
  }
  const config = { masterKey: masterKey!, dataKeyCacheMax: int('DATA_KEY_CACHE_MAX', 1000, 1), dataKeyCacheTtlMs: int('DATA_KEY_CACHE_TTL_MS', 60_000, 1), rotationDays: int('KEY_ROTATION_DAYS', 90, 1) };
  if (problems.length) throw new KeyProviderConfigError(`invalid crypto configuration:\n  - ${problems.join('\n  - ')}`);
  return config;
}
