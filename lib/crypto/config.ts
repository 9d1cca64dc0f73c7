/**
 * Crypto settings from the environment. `CRYPTO_CONFIG_VARS` is part of
 * lib/config.ts's `CONFIG_VARS` (the README's configuration table), and
 * `loadConfig` puts the result in `config.crypto`.
 *
 * Master keys are named by a reference, `<provider>:<name>` (`local:acme`,
 * `pkcs11:tenant-acme`), resolved in the process's environment exactly as
 * the platform key is: a local file `<KEYS_DIR>/<env>/master-<name>.key`
 * labelled for that environment, or the PKCS#11 key labelled `<env>/<name>`
 * on the configured token. `<provider>:<env>/<name>` is accepted when `<env>`
 * is the process's own, so a reference can never reach another environment's
 * key.
 */
import { readFileSync } from 'node:fs';
import type { AppEnv } from '../config';
import { KeyEnvironmentMismatchError, KeyProviderConfigError } from './errors';
import type { MasterKeyConfig } from './providers';
import { assertKeyName, parseMasterKeyId } from './providers/types';

/** The token every `pkcs11` master key of the process lives in (the platform's and the tenants'). */
export interface Pkcs11Settings {
  modulePath: string;
  tokenLabel?: string;
  slotIndex: number;
  pin: string;
  gcmParams: 'v2.40' | 'v2.30';
}

/** What a master key reference is resolved against. */
export interface MasterKeySettings {
  env: AppEnv;
  keysDir: string;
  allowLocalInProduction: boolean;
  /** Unset when PKCS11_MODULE is: then no `pkcs11` reference resolves. */
  pkcs11?: Pkcs11Settings;
}

/** A tenant whose data keys are wrapped by its own (customer-managed) master key. */
export interface TenantMasterKey {
  tenantId: string;
  /** As configured, e.g. `pkcs11:tenant-acme`. */
  ref: string;
  /** Never generated: a customer key that is missing is revoked, not new. */
  masterKey: MasterKeyConfig;
}

export interface CryptoConfig {
  /** The platform master key: wraps the data keys of every tenant without its own. */
  masterKey: MasterKeyConfig;
  /** TENANT_MASTER_KEYS / TENANT_MASTER_KEYS_FILE (BYOK). @default [] */
  tenantMasterKeys?: TenantMasterKey[];
  /** For references given later (`npm run keys:rotate-master -- --to pkcs11:name`). @default derived from `masterKey` */
  keySettings?: MasterKeySettings;
  dataKeyCacheMax: number;
  dataKeyCacheTtlMs: number;
  /** Data keys older than this are due for rotation (`npm run keys:rotate-data`); admins see every key's age. */
  rotationDays: number;
}

export const CRYPTO_CONFIG_VARS: Array<{ name: string; default: string; meaning: string }> = [
  { name: 'MASTER_KEY_PROVIDER', default: 'local', meaning: 'local (a key file, development) or pkcs11 (an HSM); local is refused in production unless allowed' },
  { name: 'MASTER_KEY_NAME', default: 'local: 1 · pkcs11: tracksafe-master', meaning: 'the platform master key: local file <KEYS_DIR>/<env>/master-<name>.key; PKCS#11 key label <env>/<name>' },
  {
    name: 'TENANT_MASTER_KEYS',
    default: '(none)',
    meaning:
      "tenants' own master keys (BYOK), `<tenant id>=<provider>:<name>` separated by commas, e.g. `3f93c4…=pkcs11:tenant-acme`: the tenant's new data keys are wrapped by that key (a local file <KEYS_DIR>/<env>/master-<name>.key, never generated, or the PKCS#11 key labelled <env>/<name> on the PKCS11_* token); tenants not listed use the platform key. A listed key that is missing counts as revoked: the tenant's values read as null (MASTER_KEY_UNAVAILABLE), its writes are refused, other tenants are served. Move existing data keys with `npm run keys:rotate-master -- --tenant <id> --to <provider>:<name>`",
  },
  { name: 'TENANT_MASTER_KEYS_FILE', default: '(none)', meaning: 'the same entries in a file, one or more per line, `#` starts a comment (instead of TENANT_MASTER_KEYS, not with it)' },
  { name: 'LOCAL_MASTER_KEY_ALLOW_IN_PRODUCTION', default: 'false', meaning: 'accept a master key file on disk in production (no HSM), for the platform key and tenant keys alike' },
  { name: 'PKCS11_MODULE', default: '(required for pkcs11)', meaning: 'path of the PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so' },
  { name: 'PKCS11_TOKEN_LABEL / PKCS11_SLOT_INDEX', default: '(unset) / 0', meaning: 'the token holding the master keys, by label or by position among slots with a token' },
  { name: 'PKCS11_PIN / PKCS11_PIN_FILE', default: '(required for pkcs11)', meaning: 'the token user PIN, or a file holding it (preferred: environment variables are visible in /proc)' },
  { name: 'PKCS11_GCM_PARAMS', default: 'v2.40', meaning: 'CK_GCM_PARAMS layout of the module: v2.40 (with ulIvBits) or v2.30' },
  { name: 'DATA_KEY_CACHE_MAX', default: '1000', meaning: 'unwrapped data keys kept in memory per process (LRU)' },
  { name: 'KEY_ROTATION_DAYS', default: '90', meaning: 'rotation schedule: data keys older than this are reported due (keyInventory, `npm run keys:rotate-data -- --due`)' },
  {
    name: 'DATA_KEY_CACHE_TTL_MS',
    default: '60000',
    meaning: 'how long a cached data key is used without asking the key vault; also how long another process may still use a shredded key, or one whose master key was revoked',
  },
];

const PROVIDERS = ['local', 'pkcs11'] as const;
const TENANT_ID = /^[A-Za-z0-9._-]{1,128}$/;
const REF = /^([a-z0-9]+):(?:([a-z]+)\/)?(.+)$/;

/**
 * The master key a reference names: `<provider>:<name>` or
 * `<provider>:<env>/<name>` with the settings' environment. Throws
 * `KeyProviderConfigError` (unknown provider, bad name, no PKCS#11 token
 * configured, a key file in production without the allowance) or
 * `KeyEnvironmentMismatchError`.
 */
export function masterKeyFromRef(ref: string, settings: MasterKeySettings): MasterKeyConfig {
  const m = REF.exec(ref);
  if (!m) throw new KeyProviderConfigError(`master key reference "${clip(ref)}" must be <provider>:<name> (local or pkcs11)`);
  const [, kind, env, name] = m;
  if (!(PROVIDERS as readonly string[]).includes(kind)) throw new KeyProviderConfigError(`master key reference "${clip(ref)}" names the unknown provider "${kind}": use local or pkcs11`);
  if (env !== undefined && env !== settings.env) throw new KeyEnvironmentMismatchError(`master key reference "${clip(ref)}"`, env, settings.env);
  assertKeyName(name);
  if (kind === 'local') {
    if (settings.env === 'production' && !settings.allowLocalInProduction) {
      throw new KeyProviderConfigError(`master key reference "${clip(ref)}" is a local key file, refused in production unless LOCAL_MASTER_KEY_ALLOW_IN_PRODUCTION=true`);
    }
    return { kind: 'local', env: settings.env, keysDir: settings.keysDir, name, allowLocalInProduction: settings.allowLocalInProduction };
  }
  if (!settings.pkcs11) throw new KeyProviderConfigError(`master key reference "${clip(ref)}" is a PKCS#11 key: set PKCS11_MODULE and PKCS11_PIN (or PKCS11_PIN_FILE)`);
  return { kind: 'pkcs11', env: settings.env, ...settings.pkcs11, keyLabel: `${settings.env}/${name}` };
}

/**
 * The master key a stored data key names by id (`local:<env>/master-<name>`,
 * `pkcs11:<env>/<name>`), to open it again: rotation moves keys away from
 * whatever wraps them now.
 */
export function masterKeyFromId(id: string, settings: MasterKeySettings): MasterKeyConfig {
  const { kind, env, name } = parseMasterKeyId(id);
  if (env !== settings.env) throw new KeyEnvironmentMismatchError(`master key ${id}`, env, settings.env);
  if (kind === 'local') {
    if (!name.startsWith('master-')) throw new KeyProviderConfigError(`invalid local master key id "${id}"`);
    return { ...masterKeyFromRef(`local:${name.slice('master-'.length)}`, settings), generate: false } as MasterKeyConfig;
  }
  if (kind === 'pkcs11') return masterKeyFromRef(`pkcs11:${name}`, settings);
  throw new KeyProviderConfigError(`master key ${id} is of the unknown provider "${kind}"`);
}

/** The settings a configuration's references resolve against (those of its platform key when none were loaded). */
export function keySettingsOf(crypto: Pick<CryptoConfig, 'masterKey' | 'keySettings'>): MasterKeySettings {
  if (crypto.keySettings) return crypto.keySettings;
  const k = crypto.masterKey;
  if (k.kind === 'local') return { env: k.env, keysDir: k.keysDir, allowLocalInProduction: k.allowLocalInProduction ?? false };
  return {
    env: k.env,
    keysDir: '',
    allowLocalInProduction: false,
    pkcs11: { modulePath: k.modulePath, tokenLabel: k.tokenLabel, slotIndex: k.slotIndex ?? 0, pin: k.pin, gcmParams: k.gcmParams ?? 'v2.40' },
  };
}

function clip(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}…` : s;
}

/**
 * `<tenant>=<provider>:<name>` entries, separated by commas or newlines,
 * `#` to the end of a line a comment. Problems go to `problems`, each naming
 * the entry (references and tenant ids are not secret).
 */
function parseTenantMasterKeys(text: string, source: string, settings: MasterKeySettings, problems: string[]): TenantMasterKey[] {
  const out: TenantMasterKey[] = [];
  const seen = new Set<string>();
  const entries = text
    .split('\n')
    .map((line) => line.replace(/#.*$/, ''))
    .join(',')
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e.length > 0);
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    const tenantId = eq < 0 ? '' : entry.slice(0, eq).trim();
    const ref = eq < 0 ? '' : entry.slice(eq + 1).trim();
    if (!tenantId || !ref) {
      problems.push(`${source}: entry "${clip(entry)}" must be <tenant id>=<provider>:<name>`);
      continue;
    }
    if (!TENANT_ID.test(tenantId)) {
      problems.push(`${source}: tenant id "${clip(tenantId)}" must be 1–128 letters, digits, ".", "_" or "-"`);
      continue;
    }
    if (seen.has(tenantId)) {
      problems.push(`${source}: tenant ${tenantId} is listed more than once`);
      continue;
    }
    seen.add(tenantId);
    try {
      out.push({ tenantId, ref, masterKey: { ...masterKeyFromRef(ref, settings), ...(ref.startsWith('local:') ? { generate: false } : {}) } as MasterKeyConfig });
    } catch (err) {
      problems.push(`${source}: tenant ${tenantId}: ${(err as Error).message}`);
    }
  }
  return out;
}

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

  let tenantText: { text: string; source: string } | undefined;
  if (env.TENANT_MASTER_KEYS && env.TENANT_MASTER_KEYS_FILE) problems.push('set TENANT_MASTER_KEYS or TENANT_MASTER_KEYS_FILE, not both');
  else if (env.TENANT_MASTER_KEYS) tenantText = { text: env.TENANT_MASTER_KEYS, source: 'TENANT_MASTER_KEYS' };
  else if (env.TENANT_MASTER_KEYS_FILE) {
    try {
      tenantText = { text: readFileSync(env.TENANT_MASTER_KEYS_FILE, 'utf8'), source: `TENANT_MASTER_KEYS_FILE (${env.TENANT_MASTER_KEYS_FILE})` };
    } catch (err) {
      problems.push(`TENANT_MASTER_KEYS_FILE cannot be read: ${(err as Error).message}`);
    }
  }

  const kind = env.MASTER_KEY_PROVIDER || 'local';
  if (kind !== 'local' && kind !== 'pkcs11') problems.push(`MASTER_KEY_PROVIDER must be local or pkcs11, got "${kind}"`);
  // The token settings are read when any key lives in a token: the platform key or a tenant's.
  const wantsPkcs11 = kind === 'pkcs11' || (tenantText !== undefined && /=\s*pkcs11:/.test(tenantText.text));
  let pkcs11: Pkcs11Settings | undefined;
  if (wantsPkcs11) {
    const why = kind === 'pkcs11' ? 'MASTER_KEY_PROVIDER=pkcs11' : `a pkcs11 key in ${tenantText!.source}`;
    let pin = env.PKCS11_PIN;
    if (env.PKCS11_PIN_FILE) {
      try {
        pin = readFileSync(env.PKCS11_PIN_FILE, 'utf8').trim();
      } catch (err) {
        problems.push(`PKCS11_PIN_FILE cannot be read: ${(err as Error).message}`);
      }
    }
    if (!env.PKCS11_MODULE) problems.push(`PKCS11_MODULE is required with ${why}`);
    if (!pin) problems.push(`PKCS11_PIN or PKCS11_PIN_FILE is required with ${why}`);
    const gcm = env.PKCS11_GCM_PARAMS || 'v2.40';
    if (gcm !== 'v2.40' && gcm !== 'v2.30') problems.push(`PKCS11_GCM_PARAMS must be v2.40 or v2.30, got "${gcm}"`);
    pkcs11 = { modulePath: env.PKCS11_MODULE ?? '', tokenLabel: env.PKCS11_TOKEN_LABEL || undefined, slotIndex: int('PKCS11_SLOT_INDEX', 0, 0), pin: pin ?? '', gcmParams: gcm as 'v2.40' | 'v2.30' };
  }
  const keySettings: MasterKeySettings = { env: base.appEnv, keysDir: base.keysDir, allowLocalInProduction: bool('LOCAL_MASTER_KEY_ALLOW_IN_PRODUCTION'), ...(pkcs11 ? { pkcs11 } : {}) };

  let masterKey: MasterKeyConfig | undefined;
  if (kind === 'local') {
    masterKey = { kind, env: base.appEnv, keysDir: base.keysDir, name: env.MASTER_KEY_NAME || '1', allowLocalInProduction: keySettings.allowLocalInProduction };
  } else if (kind === 'pkcs11') {
    masterKey = { kind, env: base.appEnv, ...pkcs11!, keyLabel: `${base.appEnv}/${env.MASTER_KEY_NAME || 'tracksafe-master'}` };
  }
  const tenantMasterKeys = tenantText ? parseTenantMasterKeys(tenantText.text, tenantText.source, keySettings, problems) : [];
  const config: CryptoConfig = {
    masterKey: masterKey!,
    tenantMasterKeys,
    keySettings,
    dataKeyCacheMax: int('DATA_KEY_CACHE_MAX', 1000, 1),
    dataKeyCacheTtlMs: int('DATA_KEY_CACHE_TTL_MS', 60_000, 1),
    rotationDays: int('KEY_ROTATION_DAYS', 90, 1),
  };
  if (problems.length) throw new KeyProviderConfigError(`invalid crypto configuration:\n  - ${problems.join('\n  - ')}`);
  return config;
}
