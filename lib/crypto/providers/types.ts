/**
 * The master key provider contract (a keyring, in the AWS Encryption SDK's
 * terms): wraps and unwraps 256-bit data keys with AES-256-GCM under a
 * master key that never leaves the provider, the context as associated
 * data. Providers: `local` (a key file, development) and `pkcs11` (an HSM).
 *
 * Every provider writes the same wrapped-key layout, so a stored data key
 * says nothing about where its master key lives except through its
 * `masterKeyId`:
 *
 *   0x01 ‖ nonce (12 bytes) ‖ ciphertext (32 bytes) ‖ tag (16 bytes)   = 61 bytes
 */
import type { AppEnv } from '../../config';
import { canonicalContext, type Context } from '../canonical';
import { KeyEnvironmentMismatchError, KeyProviderConfigError } from '../errors';

export interface MasterKeyProvider {
  /**
   * Stable id stored with every data key this provider wraps, `<kind>:<env>/<name>`:
   * `local:development/master-1`, `pkcs11:production/tracksafe-master`.
   */
  readonly id: string;
  /** The environment the master key is labelled for; the provider refuses contexts of another. */
  readonly env: AppEnv;
  /**
   * AES-256-GCM of `plain` (a data key) under the master key, `context` as
   * associated data. Throws `KeyEnvironmentMismatchError` when
   * `context.env` names another environment.
   */
  wrap(plain: Buffer, context: Context): Promise<Buffer>;
  /**
   * The inverse of `wrap`; the same context is needed. Throws
   * `KeyUnwrapFailedError` (fixed message) when the tag does not verify:
   * another master key, another context, or a tampered wrapped key.
   */
  unwrap(wrapped: Buffer, context: Context): Promise<Buffer>;
  /** Releases what the provider holds (an HSM session); it must not be used afterwards. */
  close(): Promise<void>;
}

export type MasterKeyKind = 'local' | 'pkcs11';

export const WRAP_FORMAT = 0x01;
export const WRAP_DOMAIN = 'tracksafe/data-key-wrap/v1';
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
export const DATA_KEY_BYTES = 32;
export const WRAPPED_KEY_BYTES = 1 + NONCE_BYTES + DATA_KEY_BYTES + TAG_BYTES;

const ENVS: readonly AppEnv[] = ['development', 'staging', 'production'];
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Key names become file names and HSM labels: letters, digits, `.`, `_`, `-`, at most 64. */
export function assertKeyName(name: string): void {
  if (!NAME.test(name)) throw new KeyProviderConfigError(`invalid master key name "${name}": use letters, digits, ".", "_" and "-" (at most 64)`);
}

/** Splits `<kind>:<env>/<name>`; throws on anything else. */
export function parseMasterKeyId(id: string): { kind: string; env: AppEnv; name: string } {
  const m = /^([a-z0-9]+):([a-z]+)\/(.+)$/.exec(id);
  if (!m || !ENVS.includes(m[2] as AppEnv)) throw new KeyProviderConfigError(`invalid master key id "${id}"`);
  return { kind: m[1], env: m[2] as AppEnv, name: m[3] };
}

/** The associated data of a wrap; refuses a context labelled for another environment. */
export function wrapAad(provider: { env: AppEnv; id: string }, context: Context): Buffer {
  if (context.env !== undefined && context.env !== provider.env) throw new KeyEnvironmentMismatchError(`a data key for ${provider.id}`, context.env, provider.env);
  return canonicalContext(WRAP_DOMAIN, context);
}
