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
  | 'KEY_DESTROYED'
  /**
   * The master key that wraps the data key is not available to this process:
   * a tenant's own key (BYOK) revoked or removed, or one the process is not
   * configured with. Readable again once the key is back.
   */
  | 'MASTER_KEY_UNAVAILABLE';

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

/**
 * The master key itself is absent: no key file (and none may be generated),
 * no object with the label on the token. A kind of configuration error (same
 * code), told apart because a tenant's own key that is gone means "revoked"
 * rather than "misconfigured": that tenant's data becomes unreadable, the
 * process keeps serving the others.
 */
export class MasterKeyNotFoundError extends KeyProviderConfigError {
  constructor(
    readonly masterKeyId: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A tenant's data cannot be encrypted because the master key its data keys
 * must be wrapped by (its own, BYOK) is unavailable: revoked, removed, or
 * not configured in this process. Never falls back to another master key.
 */
export class MasterKeyUnavailableError extends CryptoError {
  static override readonly code = 'MASTER_KEY_UNAVAILABLE';
  constructor(
    readonly masterKeyId: string,
    readonly tenantId?: string,
  ) {
    super(MasterKeyUnavailableError.code, `master key ${masterKeyId} is unavailable${tenantId ? ` (tenant ${tenantId})` : ''}`);
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
