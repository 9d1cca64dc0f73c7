/**
 * lib/crypto: field-level envelope encryption, master key providers, the
 * key vault, blind indexes, crypto-shredding and rotation primitives.
 * See README.md beside this file.
 */
export { canonicalContext, type Context } from './canonical';
export * from './errors';
export * from './providers';
export { MemoryKeyVaultStore, MongooseKeyVaultStore, DuplicateDataKeyError, type DataKeyRecord, type DataKeyScope, type DataKeyStatus, type DataKeyFilter, type DataKeySeries, type KeyVaultStore } from './vault-store';
export { KeyVault, createKeyVault, wrapContext, type DataKey, type DataKeyInfo, type DataKeyRequest, type KeyVaultOptions } from './key-vault';
export {
  createFieldEncryptor,
  sealValue,
  openValue,
  sealRecord,
  openRecord,
  DOCUMENT_FIELD,
  readKeyRef,
  fieldAad,
  envelopeBytes,
  ENVELOPE_FORMAT,
  ENVELOPE_SUBTYPE,
  ENVELOPE_HEADER_BYTES,
  type FieldContext,
  type FieldEncryptor,
  type FieldEncryptorOptions,
  type EnvelopeKeyRef,
  type PlainValue,
  type PlainRecord,
  type JsonValue,
} from './fields';
export * from './blind-index';
export { shredSubject, shredTenant, type ShredResult } from './shred';
export { rewrapAll, newDataKeyVersion, retireIfUnused, type RewrapOptions, type RewrapResult, type RetireOutcome } from './rotation';
export { reencryptTenant, retireUnused, findUnfinishedJob, listJobs, ReencryptJobError, KEY_ROTATION_JOBS, type ReencryptOptions, type ReencryptResult, type ReencryptCounts, type ReencryptProgress, type ReencryptJob } from './reencrypt';
export { loadCryptoConfig, CRYPTO_CONFIG_VARS, type CryptoConfig } from './config';
