/**
 * Personal data: the PII map read from the schema's `@pii`, the storage
 * registry, retention defaults, the inventory, log redaction and masking by
 * default. See README.md.
 */
export { type BuildPiiMapOptions, type PiiEntry, buildPiiMap, piiKeys, piiMap } from './map';
export { type PiiKind } from './sdl';
export { PII_STORAGE, type StoredPiiPath, storageOf, storedPiiPaths } from './storage';
export { RETENTION, type Retention, type RetentionKey, retentionOf } from './retention';
export { type InventoryCounts, type PiiInventory, buildPiiInventory, renderPiiInventoryJson, renderPiiInventoryMarkdown } from './inventory';
export {
  CENSOR,
  CREDENTIAL_KEYS,
  NEVER_LOGGED_KEYS,
  REDACT_DEPTH,
  type RedactOptions,
  logScrubber,
  normaliseLogKey,
  redactOptions,
  sensitiveLogKeys,
} from './redaction';
export { type Scrubber, type ScrubberOptions, createScrubber } from './scrub';
export {
  COARSE_ACCURACY_METERS,
  EXEMPTIONS,
  type ExemptionName,
  MASK,
  MASKERS,
  MASKING,
  type MaskerName,
  type MaskingPrincipal,
  type MaskingRule,
  REVEALED,
  REVEALS,
  type RevealName,
  UnmaskedPiiFieldError,
  applyMasking,
  isRevealed,
  markRevealed,
  revealedClassesOf,
  maskEmail,
  maskGeoPoint,
  maskPersonName,
  maskPhone,
  maskPostalCode,
  maskValue,
} from './masking';
