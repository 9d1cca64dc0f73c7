/**
 * The process's field encryption: opens the master key providers named by
 * the configuration — the platform's and every tenant's own (BYOK,
 * TENANT_MASTER_KEYS) — the key vault (`key_vault` collection on the same
 * connection) and binds both to the connection, so every encrypted model on
 * it encrypts and decrypts (lib/crypto/model-encryption.ts). One per
 * process and connection; `close` releases every provider (HSM sessions).
 *
 * A tenant's own key that is missing when the process starts (the file or
 * the HSM object gone: the customer revoked it) does not stop the process:
 * that tenant's values read as null (MASTER_KEY_UNAVAILABLE), its writes are
 * refused (`MasterKeyUnavailableError`, never a fallback to the platform
 * key), and every other tenant is served. Any other failure to open a key —
 * another environment's key, a file others can read, an extractable HSM key
 * — refuses the start, as for the platform key.
 */
import type { Connection } from 'mongoose';
import type { AppEnv } from '../config';
import type { CryptoConfig } from './config';
import { MasterKeyNotFoundError, MasterKeyUnavailableError } from './errors';
import { createKeyVault, type KeyVault } from './key-vault';
import { bindFieldCrypto, ENCRYPTION_OFF, type UnreadableField } from './model-encryption';
import { masterKeyIdOf, openMasterKeyProvider, type MasterKeyProvider } from './providers';
import { MongooseKeyVaultStore } from './vault-store';

/** Which master key wraps a tenant's new data keys. */
export interface TenantMasterKeyState {
  masterKeyId: string;
  /** The tenant's own key (TENANT_MASTER_KEYS), rather than the platform's. */
  customerManaged: boolean;
  /** False when the tenant's own key could not be found (revoked): its data is unreadable here. */
  available: boolean;
}

export interface FieldCryptoRuntime {
  vault: KeyVault;
  /** The platform master key. */
  masterKey: MasterKeyProvider;
  /** The rotation schedule (config `KEY_ROTATION_DAYS`): data keys older than this are due. */
  rotationDays: number;
  /** The master key of a tenant's new data keys (for the admin view). */
  masterKeyOf(tenantId: string): TenantMasterKeyState;
  close(): Promise<void>;
}

export interface OpenFieldCryptoOptions {
  appEnv: AppEnv;
  crypto: CryptoConfig;
  /** Hears of every stored value that could not be decrypted (never the value). */
  onUnreadable?: (field: UnreadableField) => void;
  /** Hears of each tenant master key missing at start (revoked): the tenants it serves read as null. */
  onMasterKeyUnavailable?: (info: { masterKeyId: string; tenantIds: string[] }) => void;
}

export async function openFieldCrypto(conn: Connection, opts: OpenFieldCryptoOptions): Promise<FieldCryptoRuntime> {
  const masterKey = await openMasterKeyProvider(opts.crypto.masterKey);
  // Every provider opened, once each: several tenants may share a key, a tenant may name the platform key.
  const opened = new Map<string, MasterKeyProvider>([[masterKey.id, masterKey]]);
  const closeAll = async () => {
    await Promise.all([...opened.values()].map((p) => p.close().catch(() => undefined)));
  };
  try {
    const tenants = new Map<string, TenantMasterKeyState>();
    const missing = new Map<string, string[]>();
    for (const t of opts.crypto.tenantMasterKeys ?? []) {
      const id = masterKeyIdOf(t.masterKey);
      if (!opened.has(id) && !missing.has(id)) {
        try {
          const p = await openMasterKeyProvider(t.masterKey);
          opened.set(p.id, p);
        } catch (err) {
          if (!(err instanceof MasterKeyNotFoundError)) throw err;
          missing.set(id, []);
        }
      }
      missing.get(id)?.push(t.tenantId);
      tenants.set(t.tenantId, { masterKeyId: id, customerManaged: id !== masterKey.id, available: opened.has(id) });
    }
    const vault = await createKeyVault({
      store: new MongooseKeyVaultStore(conn),
      env: opts.appEnv,
      masterKey,
      providers: [...opened.values()].filter((p) => p !== masterKey),
      masterKeyFor: (tenantId) => {
        const own = tenants.get(tenantId);
        if (!own) return masterKey;
        const p = opened.get(own.masterKeyId);
        if (!p) throw new MasterKeyUnavailableError(own.masterKeyId, tenantId);
        return p;
      },
      cacheMaxKeys: opts.crypto.dataKeyCacheMax,
      cacheTtlMs: opts.crypto.dataKeyCacheTtlMs,
    });
    bindFieldCrypto(conn, { vault, onUnreadable: opts.onUnreadable });
    for (const [masterKeyId, tenantIds] of missing) opts.onMasterKeyUnavailable?.({ masterKeyId, tenantIds });
    const platform: TenantMasterKeyState = { masterKeyId: masterKey.id, customerManaged: false, available: true };
    return {
      vault,
      masterKey,
      rotationDays: opts.crypto.rotationDays,
      masterKeyOf: (tenantId) => ({ ...(tenants.get(tenantId) ?? platform) }),
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/** Benchmarks only: the models on `conn` store plaintext (refused in production). */
export function disableFieldCrypto(conn: Connection): void {
  bindFieldCrypto(conn, ENCRYPTION_OFF);
}

/**
 * The encryption options of a process from its configuration: values erased
 * by crypto-shredding are expected (debug); any other unreadable value —
 * tampering, a key of another place, a revoked tenant master key — is a
 * warning (reason, never value). A tenant master key missing at start is a
 * warning naming the key and its tenants.
 */
export function fieldCryptoOptions(config: { appEnv: AppEnv; crypto: CryptoConfig }, logger?: { debug(o: object, m: string): void; warn(o: object, m: string): void }): OpenFieldCryptoOptions {
  return {
    appEnv: config.appEnv,
    crypto: config.crypto,
    onUnreadable: logger
      ? (f) => (f.reason === 'KEY_DESTROYED' ? logger.debug({ field: f }, 'erased value read as null') : logger.warn({ field: f }, 'stored value could not be decrypted'))
      : undefined,
    onMasterKeyUnavailable: logger ? (info) => logger.warn(info, "tenant master key unavailable (revoked?): the tenants' values read as null and their writes are refused") : undefined,
  };
}
