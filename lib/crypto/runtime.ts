/**
 * The process's field encryption: opens the master key provider named by
 * the configuration, the key vault (`key_vault` collection on the same
 * connection) and binds both to the connection, so every encrypted model on
 * it encrypts and decrypts (lib/crypto/model-encryption.ts). One per
 * process and connection; `close` releases the provider (an HSM session).
 */
import type { Connection } from 'mongoose';
import type { AppEnv } from '../config';
import type { CryptoConfig } from './config';
import { createKeyVault, type KeyVault } from './key-vault';
import { bindFieldCrypto, ENCRYPTION_OFF, type UnreadableField } from './model-encryption';
import { openMasterKeyProvider, type MasterKeyProvider } from './providers';
import { MongooseKeyVaultStore } from './vault-store';

export interface FieldCryptoRuntime {
  vault: KeyVault;
  masterKey: MasterKeyProvider;
  /** The rotation schedule (config `KEY_ROTATION_DAYS`): data keys older than this are due. */
  rotationDays: number;
  close(): Promise<void>;
}

export interface OpenFieldCryptoOptions {
  appEnv: AppEnv;
  crypto: CryptoConfig;
  /** Hears of every stored value that could not be decrypted (never the value). */
  onUnreadable?: (field: UnreadableField) => void;
}

export async function openFieldCrypto(conn: Connection, opts: OpenFieldCryptoOptions): Promise<FieldCryptoRuntime> {
  const masterKey = await openMasterKeyProvider(opts.crypto.masterKey);
  try {
    const vault = await createKeyVault({
      store: new MongooseKeyVaultStore(conn),
      env: opts.appEnv,
      masterKey,
      cacheMaxKeys: opts.crypto.dataKeyCacheMax,
      cacheTtlMs: opts.crypto.dataKeyCacheTtlMs,
    });
    bindFieldCrypto(conn, { vault, onUnreadable: opts.onUnreadable });
    return { vault, masterKey, rotationDays: opts.crypto.rotationDays, close: () => masterKey.close() };
  } catch (err) {
    await masterKey.close().catch(() => undefined);
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
 * tampering, a key of another place — is a warning (reason, never value).
 */
export function fieldCryptoOptions(config: { appEnv: AppEnv; crypto: CryptoConfig }, logger?: { debug(o: object, m: string): void; warn(o: object, m: string): void }): OpenFieldCryptoOptions {
  return {
    appEnv: config.appEnv,
    crypto: config.crypto,
    onUnreadable: logger
      ? (f) => (f.reason === 'KEY_DESTROYED' ? logger.debug({ field: f }, 'erased value read as null') : logger.warn({ field: f }, 'stored value could not be decrypted'))
      : undefined,
  };
}
