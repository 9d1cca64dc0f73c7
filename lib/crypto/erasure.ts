/**
 * Erasure: crypto-shredding (shred.ts) carried through to the stored
 * documents. Shredding a data key makes every value encrypted under it
 * unreadable, but the blind indexes stored beside those values at
 * `bidx.<name>` are HMACs under the tenant's index root, which shredding a
 * subject does not touch: left in place they would still tell which
 * documents belong to someone with a given email or phone. So an erasure
 * shreds the keys, then removes those indexes from the documents.
 *
 * The documents themselves stay (a legal hold may need them, e.g. customs
 * records: DOMAIN.md); their personal fields read as null from then on.
 * Deleting documents is a retention job, not this one.
 *
 * Document envelopes (`envelope: 'document'`, shipments) need nothing more:
 * one envelope holds all of a document's values under the same subject (or
 * tenant) key a per-field one would use, so shredding that key erases them
 * all at once; the envelope stays, unreadable, and its values read as null.
 *
 * Both functions are idempotent: a second run destroys no key and
 * un-indexes no document, so a caller that failed half-way simply runs
 * them again. They never see a personal value: results are counts.
 *
 * Other processes. Shredding evicts the keys from this process's cache
 * only; every other process holding the same key vault (each subgraph is a
 * process of its own) may keep decrypting with a cached key for up to
 * `DATA_KEY_CACHE_TTL_MS` (lib/crypto/config.ts), and a write it makes
 * about the subject in that window may encrypt under the destroyed key
 * (unreadable after the window) and write blind indexes again. Removing
 * blind indexes takes effect for every process at once (they live in the
 * documents). Run the erasure again after the window when writes about the
 * subject may have happened meanwhile; it only finds what is left.
 *
 * Not reached: copies of the documents taken before the erasure (backups,
 * exports) keep their blind indexes — unreadable values, but linkable by an
 * index until those copies age out — and see shred.ts for copies of the
 * key vault itself.
 */
import type { Model } from 'mongoose';
import type { KeyVault } from './key-vault';
import { encryptedFieldsOf, type EncryptedFieldsOptions } from './model-encryption';
import { shredSubject, shredTenant } from './shred';

export interface ErasureResult {
  /** Data key versions destroyed by this run (0 when they already were). */
  keysDestroyed: number;
  /**
   * Documents whose blind indexes this run removed, by collection: every
   * collection that can hold the erased data's indexes is listed, 0 included.
   */
  documentsUnindexed: Record<string, number>;
}

/** One data subject of one tenant (the ids the models' `subjectPath` and `tenantPath` hold). */
export interface ErasureSubject {
  tenantId: string;
  subjectId: string;
}

interface Indexed {
  model: Model<any>;
  spec: Readonly<EncryptedFieldsOptions>;
  tenantPath: string;
  fields: string[];
}

/** The models with blind indexes, and where their indexes are stored. */
function indexedModels(models: readonly Model<any>[]): Indexed[] {
  const out: Indexed[] = [];
  for (const model of models) {
    const spec = encryptedFieldsOf(model);
    if (!spec?.blindIndexes?.length) continue;
    out.push({ model, spec, tenantPath: spec.tenantPath ?? 'tenantId', fields: spec.blindIndexes.map((bi) => `bidx.${bi.name}`) });
  }
  return out;
}

/**
 * `value` as stored at `path` of the model (the raw collection does not cast
 * filters: a string id against an ObjectId path would match nothing, and
 * the erasure would silently miss). Undefined when it cannot be one.
 */
function storedForm(model: Model<any>, path: string, value: string): unknown {
  const type = model.schema.path(path) as { cast?: (v: unknown) => unknown } | undefined;
  if (!type?.cast) return value;
  try {
    return type.cast(value);
  } catch {
    return undefined;
  }
}

/**
 * Removes the blind indexes of the documents `filter` matches, through the
 * raw collection: the plugin refuses multi-document writes near encrypted
 * paths, and nothing here is encrypted. Only documents that still hold one
 * are written, so the count is what this run removed.
 */
async function unindex(m: Indexed, filter: Record<string, unknown>): Promise<number> {
  const res = await m.model.collection.updateMany(
    { ...filter, $or: m.fields.map((f) => ({ [f]: { $exists: true } })) },
    { $unset: Object.fromEntries(m.fields.map((f) => [f, ''])) },
  );
  return res.modifiedCount;
}

/**
 * Erases one data subject of one tenant across `models` (every encrypted
 * model: subgraphs/encrypted-models.ts): destroys the subject's data keys,
 * then removes the blind indexes of the tenant's documents about that
 * subject (models with a `subjectPath`; a model without one encrypts under
 * the tenant's key and holds nothing of the subject's to erase).
 */
export async function eraseSubject(models: readonly Model<any>[], vault: KeyVault, subject: ErasureSubject): Promise<ErasureResult> {
  if (!subject.tenantId || !subject.subjectId) throw new TypeError('tenantId and subjectId are required');
  // Keys first: they are what makes the values unreadable. Should the index removal fail after it, running again
  // finishes it (the keys are already gone, the shred counts 0).
  const { destroyed } = await shredSubject(vault, subject);
  const documentsUnindexed: Record<string, number> = {};
  for (const m of indexedModels(models)) {
    const subjectPath = m.spec.subjectPath;
    if (!subjectPath) continue;
    const stored = storedForm(m.model, subjectPath, subject.subjectId);
    documentsUnindexed[m.spec.collection] = stored === undefined ? 0 : await unindex(m, { [m.tenantPath]: subject.tenantId, [subjectPath]: stored });
  }
  return { keysDestroyed: destroyed, documentsUnindexed };
}

/**
 * Erases a whole tenant across `models`: destroys every data key of the
 * tenant (its own and all its subjects'; the blind-index root dies with the
 * tenant key), then removes the blind indexes of all its documents.
 */
export async function eraseTenant(models: readonly Model<any>[], vault: KeyVault, tenantId: string): Promise<ErasureResult> {
  if (!tenantId) throw new TypeError('tenantId is required');
  const { destroyed } = await shredTenant(vault, tenantId);
  const documentsUnindexed: Record<string, number> = {};
  for (const m of indexedModels(models)) documentsUnindexed[m.spec.collection] = await unindex(m, { [m.tenantPath]: tenantId });
  return { keysDestroyed: destroyed, documentsUnindexed };
}

/** Documents un-indexed in all collections. */
export function totalUnindexed(result: ErasureResult): number {
  return Object.values(result.documentsUnindexed).reduce((n, c) => n + c, 0);
}
