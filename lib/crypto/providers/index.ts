/**
 * Master key providers and the one function that opens the configured one.
 * See ./types.ts for the contract.
 */
import { LocalMasterKeyProvider, type LocalMasterKeyOptions } from './local';
import { Pkcs11MasterKeyProvider, type Pkcs11MasterKeyOptions } from './pkcs11';
import type { MasterKeyProvider } from './types';

export * from './types';
export { LocalMasterKeyProvider, localKeyFile, type LocalMasterKeyOptions } from './local';
export { Pkcs11MasterKeyProvider, ensurePkcs11MasterKey, pkcs11Binding, type Pkcs11KeyInfo, type Pkcs11MasterKeyOptions } from './pkcs11';

export type MasterKeyConfig = ({ kind: 'local' } & LocalMasterKeyOptions) | ({ kind: 'pkcs11' } & Pkcs11MasterKeyOptions);

/**
 * The id the provider of `config` will have (`<kind>:<env>/<name>`), without
 * opening it: to tell two configurations of one key apart from two keys, and
 * to name a key that cannot be opened.
 */
export function masterKeyIdOf(config: MasterKeyConfig): string {
  if (config.kind === 'local') return `local:${config.env}/master-${config.name ?? '1'}`;
  return `pkcs11:${config.keyLabel ?? `${config.env}/tracksafe-master`}`;
}

/** Opens the provider a configuration names (see `loadCryptoConfig` in ../config.ts). */
export async function openMasterKeyProvider(config: MasterKeyConfig): Promise<MasterKeyProvider> {
  if (config.kind === 'local') return LocalMasterKeyProvider.open(config);
  return Pkcs11MasterKeyProvider.open(config);
}
