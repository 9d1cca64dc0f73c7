/**
 * Failures of the crypto layer. Like jose's error tree, each class carries a
 * stable `code` (static and on the instance) that callers and tests branch
 * on; messages of failures an attacker could provoke are fixed and say
 * nothing about keys, values or which check failed.
 *
 * These are plain `Error`s, not GraphQL errors: a service decides what a
 * client sees (a shredded field is rendered as erased, anything else is an
 * internal error and is masked by `formatError`).
 */

export class CryptoError extends Error {
  static readonly code: string = 'CRYPTO_ERROR';
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Why a decryption failed; never part of the message. */
export type DecryptionFailureReason =
  /** The envelope is not one of ours (wrong type, truncated, unknown format version). */
  | 'MALFORMED'
  /** The authentication tag did not verify: tampered, or moved to another tenant, collection, field or document. */
  | 'AUTHENTICATION'
  /** The envelope names a data key the vault does not hold, or one of another tenant or subject. */
  | 'KEY_NOT_FOUND'
  /** The data key was destroyed (crypto-shredding): the value is gone for good. */
  | 'KEY_DESTROYED';

/**
 * A field could not be decrypted. The message is always the same; `reason`
 * tells the cases apart for the code that renders erased values.
 */
export class DecryptionFailedError extends CryptoError {
  static override readonly code = 'DECRYPTION_FAILED';
  constructor(readonly reason: DecryptionFailureReason) {
    super(DecryptionFailedError.code, 'Decryption failed');
  }
}

/** A master key could not unwrap a data key: wrong master key, wrong context, or a tampered wrapped key. */
export class KeyUnwrapFailedError extends CryptoError {
  static override readonly code = 'KEY_UNWRAP_FAILED';
  constructor() {
    super(KeyUnwrapFailedError.code, 'Key unwrap failed');
  }
}

/** A key, key file, HSM object or stored data key is labelled for another environment than this process's. */
export class KeyEnvironmentMismatchError extends CryptoError {
  static override readonly code = 'KEY_ENVIRONMENT_MISMATCH';
  constructor(what: string, labelled: string, env: string) {
    super(KeyEnvironmentMismatchError.code, `refusing ${what} labelled for environment "${labelled}" in ${env}`);
  }
}

/** A master key provider is misconfigured or refused by policy (e.g. the local provider in production). */
export class KeyProviderConfigError extends CryptoError {
  static override readonly code = 'KEY_PROVIDER_CONFIG';
  constructor(message: string) {
    super(KeyProviderConfigError.code, message);
  }
}

/** The HSM (PKCS#11 module) failed for another reason than a bad wrapped key; `ckr` is the PKCS#11 return value name. */
export class KeyProviderUnavailableError extends CryptoError {
  static override readonly code = 'KEY_PROVIDER_UNAVAILABLE';
  constructor(readonly providerId: string, readonly ckr: string) {
    super(KeyProviderUnavailableError.code, `master key provider ${providerId} failed (${ckr})`);
  }
}

/** The key vault was asked for something its state does not allow (a master key it does not know, a bad id). */
export class KeyVaultError extends CryptoError {
  static override readonly code = 'KEY_VAULT';
  constructor(message: string) {
    super(KeyVaultError.code, message);
  }
}

/** A value cannot be encrypted (null, undefined, a function, a non-JSON object). Never echoes the value. */
export class UnsupportedValueError extends CryptoError {
  static override readonly code = 'UNSUPPORTED_VALUE';
  constructor(kind: string) {
    super(UnsupportedValueError.code, `cannot encrypt a value of type ${kind}`);
  }
}
