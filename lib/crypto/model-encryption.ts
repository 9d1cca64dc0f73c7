/**
 * Field-level encryption of mongoose models: the `encryptedFields` plugin.
 *
 * A model declares which dotted paths hold personal data (lib/pii/storage.ts
 * is the source); the plugin then
 *
 * - encrypts them on `save` / `Model.create` (and computes their blind
 *   indexes from the plaintext first),
 * - encrypts them inside `updateOne` / `findOneAndUpdate` / `replaceOne`
 *   updates addressed to one document by `_id`,
 * - decrypts them after `find` / `findOne` / `findOneAndUpdate` (lean or
 *   hydrated), with one key-vault round trip per page of documents,
 * - refuses every other write that would put plaintext at an encrypted path
 *   (`updateMany`, `bulkWrite`, `insertMany` with plaintext, an update
 *   without a single `_id`): `PLAINTEXT_WRITE_REFUSED`. Writers that go
 *   around mongoose (`Model.collection.*`) or read through `aggregate` call
 *   `encryptDocuments` / `decryptDocuments` themselves.
 *
 * Encrypted paths are declared `Schema.Types.Mixed` in the model (mongoose
 * would otherwise cast an envelope to a string); validation of the plain
 * value is the service's job, before the write. The process binds its key
 * vault to the connection once (`bindFieldCrypto`); a model on a connection
 * without one refuses to write plaintext and to read envelopes.
 *
 * Keys: a path is encrypted under the data key of the document's data
 * subject (`subjectPath`, personal data: shredding that key erases it) or,
 * without one, of its tenant. A value that cannot be decrypted — above all a
 * shredded subject's — reads as null; `onUnreadable` hears about it (reason
 * only, never the value).
 *
 * Two layouts (`envelope`): 'field', an envelope per path; 'document', the
 * values of every path sealed together into one envelope per document at
 * `envelopeField` (see "Document envelopes" below), which a read opens once
 * instead of once per value.
 */
import { createHmac, type KeyObject } from 'node:crypto';
import { Binary } from 'bson';
import { Schema, trusted, type Connection, type Model } from 'mongoose';
import { blindIndexKey, computeBlindIndex, normalisers } from './blind-index';
import { CryptoError, DecryptionFailedError, type DecryptionFailureReason } from './errors';
import {
  aadDocumentPart,
  DOCUMENT_FIELD,
  ENVELOPE_FORMAT,
  ENVELOPE_HEADER_BYTES,
  ENVELOPE_SUBTYPE,
  envelopeBytes,
  openEnvelope,
  openRecord,
  openRecordEnvelope,
  openValue,
  readKeyRef,
  sealRecord,
  sealValue,
  type FieldContext,
  type PlainValue,
} from './fields';
import type { DataKey, KeyVault } from './key-vault';

/** A blind index kept beside an encrypted path, at `bidx.<name>`. */
export interface BlindIndexDeclaration {
  /** The encrypted path it indexes, e.g. `recipient.email`. */
  path: string;
  /** Stored at `bidx.<name>`; also indexed with the tenant. */
  name: string;
  normalise: keyof typeof normalisers;
  /**
   * Bits kept: 1–32 for a coarse index sized by planBlindIndexBits (lookups
   * filter false positives); 256 for a value unique in its tenant (an email
   * that signs in), where the full HMAC is stored and a unique index may
   * stand on it — unique values have no frequencies to leak.
   */
  bits: number;
  /** A unique index on (tenant, index); needs `bits: 256`. */
  unique?: boolean;
}

export interface EncryptedFieldsOptions {
  /** The collection: bound into every value's associated data. */
  collection: string;
  /** Dotted paths stored as envelopes. Each must be declared `Schema.Types.Mixed`. */
  paths: readonly string[];
  /** Path of the tenant id. @default 'tenantId' */
  tenantPath?: string;
  /**
   * Path of the data subject's id (`_id` for a record that is the subject):
   * every path is encrypted under that subject's key. Without it, the
   * tenant's key.
   */
  subjectPath?: string;
  blindIndexes?: readonly BlindIndexDeclaration[];
  /**
   * 'field' (the default): each path is stored as an envelope of its own.
   * 'document': the values of all paths are sealed together into one
   * envelope per document, at `envelopeField`, and the paths themselves are
   * not stored; a read opens one envelope per document instead of one per
   * value. Documents stored in the 'field' layout (or in clear) still read,
   * and are converted by their next write.
   */
  envelope?: 'field' | 'document';
  /** Where a document envelope is stored (declared `Mixed` by the plugin when the schema lacks it). @default 'pii' */
  envelopeField?: string;
}

/** What could not be decrypted (never the value). */
export interface UnreadableField {
  collection: string;
  path: string;
  documentId: string;
  reason: DecryptionFailureReason;
}

/** What a process binds to its connection: the key vault, and who hears of unreadable values. */
export interface FieldCrypto {
  vault: KeyVault;
  onUnreadable?: (field: UnreadableField) => void;
}

/**
 * Benchmarks only (the encryption-off side of the PII list scenario): the
 * models store and read plaintext. `bindFieldCrypto` refuses it in production.
 */
export const ENCRYPTION_OFF = Object.freeze({ off: true as const });
export type FieldCryptoBinding = FieldCrypto | typeof ENCRYPTION_OFF;

/** A write that would store plaintext at an encrypted path, or one the plugin cannot encrypt. */
export class PlaintextWriteRefusedError extends CryptoError {
  constructor(detail: string) {
    super('PLAINTEXT_WRITE_REFUSED', `refused to store personal data unencrypted: ${detail}`);
    this.name = 'PlaintextWriteRefusedError';
  }
}

/** The connection has no key vault bound. */
export class FieldCryptoNotConfiguredError extends CryptoError {
  constructor() {
    super('FIELD_CRYPTO_NOT_CONFIGURED', 'field encryption is not configured on this connection (bindFieldCrypto)');
    this.name = 'FieldCryptoNotConfiguredError';
  }
}

const bound = new WeakMap<Connection, FieldCryptoBinding>();
const declared = new WeakMap<Schema, Required<Omit<EncryptedFieldsOptions, 'subjectPath'>> & { subjectPath?: string }>();

/** Binds the process's key vault to a connection: every encrypted model on it uses it. */
export function bindFieldCrypto(conn: Connection, crypto: FieldCryptoBinding): void {
  if ('off' in crypto && process.env.APP_ENV === 'production') throw new PlaintextWriteRefusedError('encryption off is for benchmarks and is refused in production');
  bound.set(conn, crypto);
}

/** The key vault bound to `conn` (undefined when none is, or encryption is off). */
export function fieldCryptoOf(conn: Connection): FieldCrypto | undefined {
  const c = bound.get(conn);
  return c && 'vault' in c ? c : undefined;
}

const isOff = (conn: Connection): boolean => {
  const c = bound.get(conn);
  return !!c && 'off' in c;
};

function cryptoFor(conn: Connection): FieldCrypto {
  const c = bound.get(conn);
  if (!c || !('vault' in c)) throw new FieldCryptoNotConfiguredError();
  return c;
}

type Spec = NonNullable<ReturnType<typeof declared.get>>;

/** The options a model was declared with (undefined when its schema has no encrypted fields). */
export function encryptedFieldsOf(model: Model<any>): Readonly<EncryptedFieldsOptions> | undefined {
  return declared.get(model.schema as Schema);
}

export function isEnvelope(value: unknown): value is Binary {
  return value instanceof Binary && value.sub_type === ENVELOPE_SUBTYPE;
}

// ---------------------------------------------------------------------------------------------
// Reading and writing dotted paths of plain objects and hydrated documents alike

interface Accessor {
  get(doc: object, path: string): unknown;
  set(doc: object, path: string, value: unknown): void;
}

// Declared paths are few and read for every document of every page: split once.
const splitPaths = new Map<string, readonly string[]>();
function partsOf(path: string): readonly string[] {
  let parts = splitPaths.get(path);
  if (!parts) {
    parts = path.split('.');
    if (splitPaths.size < 4096) splitPaths.set(path, parts);
  }
  return parts;
}

/** The value at a dotted path of a plain object (undefined when a step is missing). */
export function valueAtPath(doc: unknown, path: string): unknown {
  let v = doc;
  for (const part of partsOf(path)) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

const plainAccess: Accessor = {
  get: valueAtPath,
  set(doc, path, value) {
    const parts = partsOf(path);
    let o = doc as Record<string, unknown>;
    for (let i = 0; i < parts.length - 1; i++) {
      const next = o[parts[i]];
      if (next === null || typeof next !== 'object') return;
      o = next as Record<string, unknown>;
    }
    o[parts[parts.length - 1]] = value;
  },
};

interface HydratedLike {
  $__: unknown;
  get(path: string, type?: unknown, opts?: { getters: boolean }): unknown;
  set(path: string, value: unknown): void;
  $__setValue?(path: string, value: unknown): void;
}

const isHydrated = (doc: object): doc is HydratedLike => '$__' in doc && typeof (doc as HydratedLike).get === 'function';

const hydratedAccess: Accessor = {
  get: (doc, path) => (doc as HydratedLike).get(path, null, { getters: false }),
  // Decrypted values replace envelopes in memory without marking the path modified (a save re-encrypts anyway).
  set: (doc, path, value) => {
    const d = doc as HydratedLike;
    if (typeof d.$__setValue === 'function') d.$__setValue(path, value);
    else d.set(path, value);
  },
};

const accessOf = (doc: object): Accessor => (isHydrated(doc) ? hydratedAccess : plainAccess);

// Encryption of a hydrated document must mark what it writes modified, or a save of an existing document would drop it.
const hydratedWrite: Accessor = { get: hydratedAccess.get, set: (doc, path, value) => (doc as HydratedLike).set(path, value) };
const writeAccessOf = (doc: object): Accessor => (isHydrated(doc) ? hydratedWrite : plainAccess);

const isObject = (v: unknown): v is object => v !== null && typeof v === 'object';

/** Deletes a dotted path of a plain object (nothing when a step is missing). */
function deletePath(doc: object, path: string): void {
  const parts = partsOf(path);
  let o: unknown = doc;
  for (let i = 0; i < parts.length - 1 && isObject(o); i++) o = (o as Record<string, unknown>)[parts[i]];
  if (isObject(o)) delete (o as Record<string, unknown>)[parts[parts.length - 1]];
}

interface HydratedDocument extends HydratedLike {
  isNew: boolean;
  db: Connection;
  $where?: Record<string, unknown>;
  directModifiedPaths(): string[];
  markModified(path: string): void;
  unmarkModified(path: string): void;
}

/** A document id as a string: the string itself, or an ObjectId's hex form. */
export function idString(id: unknown): string | undefined {
  if (typeof id === 'string' && id.length > 0) return id;
  if (id && typeof (id as { toHexString?: unknown }).toHexString === 'function') return (id as { toHexString(): string }).toHexString();
  return undefined;
}

function contextOf(spec: Spec, a: Accessor, doc: object, path: string): FieldContext {
  const documentId = idString(a.get(doc, '_id'));
  const tenantId = a.get(doc, spec.tenantPath);
  if (!documentId) throw new PlaintextWriteRefusedError(`${spec.collection}.${path} of a document without an _id`);
  if (typeof tenantId !== 'string' || !tenantId) throw new PlaintextWriteRefusedError(`${spec.collection}.${path} of a document without a tenant`);
  const ctx: FieldContext = { tenantId, collection: spec.collection, field: path, documentId };
  if (spec.subjectPath) {
    const subject = spec.subjectPath === '_id' ? documentId : a.get(doc, spec.subjectPath);
    if (typeof subject !== 'string' || !subject) throw new PlaintextWriteRefusedError(`${spec.collection}.${path} of a document without its data subject (${spec.subjectPath})`);
    ctx.subjectId = subject;
  }
  return ctx;
}

function checkPlain(value: unknown, where: string): PlainValue {
  if (value instanceof Binary) throw new PlaintextWriteRefusedError(`${where} holds binary data that is not an envelope`);
  return value as PlainValue;
}

// ---------------------------------------------------------------------------------------------
// Encryption of whole documents

function indexValue(root: KeyObject, spec: Spec, bi: BlindIndexDeclaration, value: string): string {
  const key = blindIndexKey(root, `${spec.collection}.${bi.path}`);
  const normalise = normalisers[bi.normalise];
  if (bi.bits === 256) return createHmac('sha256', key).update(normalise(value), 'utf8').digest('hex');
  return computeBlindIndex(key, { bits: bi.bits, normalise }, value);
}

async function indexesFor(crypto: FieldCrypto, spec: Spec, tenantId: string, values: Map<string, unknown>): Promise<Record<string, string | null>> {
  const out: Record<string, string | null> = {};
  if (spec.blindIndexes.length === 0) return out;
  const root = await crypto.vault.indexRootKey(tenantId);
  for (const bi of spec.blindIndexes) {
    if (!values.has(bi.path)) continue;
    const v = values.get(bi.path);
    out[bi.name] = typeof v === 'string' && v.length > 0 ? indexValue(root, spec, bi, v) : null;
  }
  return out;
}

// The plaintext a hydrated document held before its save encrypted it: put back after the save.
const savedPlain = new WeakMap<object, Map<string, unknown>>();

async function encryptOne(crypto: FieldCrypto, spec: Spec, doc: object): Promise<void> {
  const a = writeAccessOf(doc);
  const plain = new Map<string, unknown>();
  if (isHydrated(doc)) savedPlain.set(doc, plain);
  let key: DataKey | undefined;
  let ctxBase: FieldContext | undefined;
  for (const path of spec.paths) {
    const value = a.get(doc, path);
    if (value === undefined || value === null || isEnvelope(value)) continue;
    ctxBase ??= contextOf(spec, a, doc, path);
    key ??= await crypto.vault.dataKeyFor({ tenantId: ctxBase.tenantId, subjectId: ctxBase.subjectId });
    plain.set(path, value);
    a.set(doc, path, sealValue(checkPlain(value, path), key, { ...ctxBase, field: path }));
  }
  if (spec.blindIndexes.length === 0) return;
  // Blind indexes follow the plaintext written now; an absent or null value clears its index.
  for (const bi of spec.blindIndexes) if (!plain.has(bi.path) && !isEnvelope(a.get(doc, bi.path))) plain.set(bi.path, null);
  const tenantId = a.get(doc, spec.tenantPath);
  if (typeof tenantId !== 'string') return;
  writeIndexes(doc, a, await indexesFor(crypto, spec, tenantId, plain));
}

/** Puts blind indexes into a document about to be written (null: removed). */
function writeIndexes(doc: object, a: Accessor, idx: Record<string, string | null>): void {
  if (Object.keys(idx).length === 0) return;
  const current = (a.get(doc, 'bidx') as Record<string, unknown> | undefined) ?? {};
  const merged = { ...(typeof current === 'object' && current ? plainCopy(current) : {}), ...idx };
  for (const [k, v] of Object.entries(merged)) if (v === null) delete merged[k];
  if (isHydrated(doc)) a.set(doc, 'bidx', merged);
  else (doc as Record<string, unknown>).bidx = merged;
}

// Plain objects and arrays copied; anything else (Date, Binary, ObjectId) shared. (structuredClone would build
// objects of another realm under jest, which the envelope encoder rightly refuses as non-plain.)
function deepCopy(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(deepCopy);
  if (v === null || typeof v !== 'object') return v;
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto !== Object.prototype && proto !== null) return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, deepCopy(x)]));
}

function plainCopy(o: object): Record<string, unknown> {
  const maybe = o as { toObject?: () => Record<string, unknown> };
  return typeof maybe.toObject === 'function' ? maybe.toObject() : { ...(o as Record<string, unknown>) };
}

/**
 * Encrypts the declared paths of documents about to be written around the
 * plugin (`Model.collection.bulkWrite`, seeds): in place; envelopes stay
 * as they are. Each needs `_id`, its tenant and (when declared) its subject.
 */
export async function encryptDocuments(model: Model<any>, docs: readonly object[]): Promise<void> {
  const spec = declared.get(model.schema as Schema);
  if (!spec || isOff(model.db)) return;
  if (isDocumentMode(spec)) {
    for (const doc of docs) await encryptRecordOne(() => cryptoFor(model.db), spec, doc);
    return;
  }
  const crypto = cryptoFor(model.db);
  for (const doc of docs) await encryptOne(crypto, spec, doc);
}

// ---------------------------------------------------------------------------------------------
// Decryption

/** An envelope found at a path of a document, with the key id it names ('' when malformed). */
interface Sealed {
  doc: object;
  a: Accessor;
  path: string;
  bytes: Buffer | undefined;
  keyId: string;
  /** Left encrypted (`leaveSealed`): its key is checked, the value not opened. */
  keep: boolean;
}

/** Every envelope of a page, in document order, and the key ids they name. */
function sealedOf(spec: Spec, docs: readonly object[], leave?: ReadonlySet<string>): { sealed: Sealed[]; keyIds: Set<string> } {
  const sealed: Sealed[] = [];
  const keyIds = new Set<string>();
  const paths = spec.paths;
  for (const doc of docs) {
    const a = accessOf(doc);
    // The values of one document nearly always name one key: its id is read as hex once.
    let last: Buffer | undefined;
    let lastId = '';
    for (const path of paths) {
      const stored = a.get(doc, path);
      if (!isEnvelope(stored)) continue;
      let bytes: Buffer | undefined;
      let keyId = '';
      try {
        bytes = envelopeBytes(stored);
        if (bytes.length > ENVELOPE_HEADER_BYTES && bytes[0] === ENVELOPE_FORMAT) {
          keyId = last && bytes.compare(last, 1, 17, 1, 17) === 0 ? lastId : bytes.toString('hex', 1, 17);
          last = bytes;
          lastId = keyId;
          keyIds.add(keyId);
        }
      } catch (err) {
        if (!(err instanceof DecryptionFailedError)) throw err;
      }
      sealed.push({ doc, a, path, bytes, keyId, keep: leave?.has(path) ?? false });
    }
  }
  return { sealed, keyIds };
}

/** The per-document part of a value's associated data, its tenant and subject; or why it has none. */
interface DocumentContext {
  documentId: string;
  tenantId: string;
  subjectId: string | undefined;
  aad: Buffer;
}

function documentContextOf(spec: Spec, a: Accessor, doc: object, path: string): DocumentContext | 'MALFORMED' {
  let ctx: FieldContext;
  try {
    ctx = contextOf(spec, a, doc, path);
  } catch (err) {
    if (err instanceof PlaintextWriteRefusedError) return 'MALFORMED';
    throw err;
  }
  const documentId = ctx.documentId as string;
  return { documentId, tenantId: ctx.tenantId, subjectId: ctx.subjectId, aad: aadDocumentPart(spec.collection, documentId) };
}

/**
 * Decrypts in place; does nothing (and needs no vault) when no document
 * holds an envelope. One pass finds the envelopes and the keys they name,
 * one key-vault query loads the keys not cached, then each value is opened
 * with the associated data built from parts shared by its document, its
 * field and its key. A value that cannot be opened becomes null and is
 * reported (reason, never value).
 */
async function decryptAll(conn: Connection, spec: Spec, docs: readonly object[], leave?: ReadonlySet<string>, unwanted?: ReadonlySet<string>): Promise<void> {
  // A document envelope is opened whole: leaving some of its values sealed would save nothing.
  if (isDocumentMode(spec)) await decryptRecords(conn, spec, docs, unwanted);
  else await decryptFields(conn, spec, docs, leave);
}

/** The page's keys, looked up once each after one prefetch; a key neither cached nor prefetched (a concurrent eviction) is fetched. */
async function pageKeys(crypto: FieldCrypto, keyIds: ReadonlySet<string>): Promise<Map<string, DataKey | DecryptionFailureReason>> {
  if (keyIds.size) await crypto.vault.prefetch(keyIds);
  const keys = new Map<string, DataKey | DecryptionFailureReason>();
  for (const id of keyIds) {
    const cached = crypto.vault.peekKey(id);
    if (cached === 'destroyed') keys.set(id, 'KEY_DESTROYED');
    else if (cached) keys.set(id, cached);
    else {
      try {
        keys.set(id, await crypto.vault.dataKeyById(id));
      } catch (err) {
        if (!(err instanceof DecryptionFailedError)) throw err;
        keys.set(id, err.reason);
      }
    }
  }
  return keys;
}

/** The field layout: every envelope at the declared paths opened on its own. */
async function decryptFields(conn: Connection, spec: Spec, docs: readonly object[], leave?: ReadonlySet<string>): Promise<void> {
  const { sealed, keyIds } = sealedOf(spec, docs, leave);
  if (sealed.length === 0) return;
  const crypto = cryptoFor(conn);
  const keys = await pageKeys(crypto, keyIds);
  let doc: object | undefined;
  let ctx: DocumentContext | 'MALFORMED' = 'MALFORMED';
  for (const s of sealed) {
    if (s.doc !== doc) {
      doc = s.doc;
      ctx = documentContextOf(spec, s.a, s.doc, s.path);
    }
    const key = s.keyId ? keys.get(s.keyId) : 'MALFORMED';
    let reason: DecryptionFailureReason | undefined;
    if (ctx === 'MALFORMED' || s.bytes === undefined) reason = 'MALFORMED';
    else if (key === undefined) reason = 'MALFORMED';
    else if (typeof key === 'string') reason = key;
    // The envelope names a key of another tenant or subject: it was not made for this place.
    else if (key.tenantId !== ctx.tenantId || (ctx.subjectId !== undefined && key.subjectId !== ctx.subjectId)) reason = 'KEY_NOT_FOUND';
    // Left sealed: its key exists and is this document's, so the value is there (an erased one still reads as null).
    else if (s.keep) continue;
    else {
      try {
        s.a.set(s.doc, s.path, openEnvelope(s.bytes, key, ctx.aad, s.path));
        continue;
      } catch (err) {
        if (!(err instanceof DecryptionFailedError)) throw err;
        reason = err.reason;
      }
    }
    s.a.set(s.doc, s.path, null);
    crypto.onUnreadable?.({ collection: spec.collection, path: s.path, documentId: idString(s.a.get(s.doc, '_id')) ?? '', reason });
  }
}

const sealedOnRead = new WeakMap<object, ReadonlySet<string>>();

/**
 * Leaves `paths` encrypted in the results of `query` (a find or findOne):
 * their envelopes stay as stored, nothing decrypts them — but their keys
 * are checked as for any value, so one whose key was destroyed (erased) or
 * is not this document's still reads as null and is reported. For reads whose
 * caller can only ever show those values as a fixed mask (a street line
 * shown as "•••"): the plaintext never exists in the process, and the
 * decryption is saved. Anything that would use such a value as a string
 * meets a Binary instead and fails loudly (GraphQL refuses to serialise
 * it), never shows it. Returns the query.
 *
 * A model with document envelopes opens each envelope whole (its key and
 * tag checked as always: an erased or tampered one reads as null): there
 * this changes nothing, the values are all opened at the cost of one.
 */
export function leaveSealed<Q extends object>(query: Q, paths: Iterable<string>): Q {
  const set = new Set(paths);
  if (set.size) sealedOnRead.set(query, set);
  return query;
}

/**
 * Decrypts documents read around the plugin (`aggregate`, `collection.find`):
 * in place; values that cannot be decrypted become null. `leaveSealed` does
 * nothing for a model with document envelopes (each is opened whole).
 */
export async function decryptDocuments(model: Model<any>, docs: readonly object[], opts: { leaveSealed?: Iterable<string> } = {}): Promise<void> {
  const spec = declared.get(model.schema as Schema);
  if (!spec || isOff(model.db)) return;
  await decryptAll(model.db, spec, docs, opts.leaveSealed ? new Set(opts.leaveSealed) : undefined);
}

// ---------------------------------------------------------------------------------------------
// Updates

type UpdateDoc = Record<string, unknown>;

/** Which declared paths an update key touches: itself, paths under it, or a path above it (refused). */
function touched(spec: Spec, key: string): { exact?: string; under: string[]; inside?: string } {
  const under: string[] = [];
  let exact: string | undefined;
  let inside: string | undefined;
  for (const p of spec.paths) {
    if (p === key) exact = p;
    else if (p.startsWith(`${key}.`)) under.push(p);
    else if (key.startsWith(`${p}.`)) inside = p;
  }
  return { exact, under, inside };
}

function updateTouchesEncrypted(spec: Spec, update: UpdateDoc): boolean {
  for (const [op, body] of Object.entries(update)) {
    if (!op.startsWith('$')) {
      const t = touched(spec, op);
      if (t.exact || t.under.length || t.inside) return true;
      continue;
    }
    if (op === '$inc' || op === '$currentDate' || op === '$unset') continue;
    if (!body || typeof body !== 'object') continue;
    for (const k of Object.keys(body as object)) {
      const t = touched(spec, k);
      if (t.exact || t.under.length || t.inside) return true;
    }
  }
  return false;
}

interface UpdateTarget {
  documentId: string;
  tenantId: string;
  subjectId?: string;
}

async function encryptUpdate(crypto: FieldCrypto, spec: Spec, update: UpdateDoc, target: UpdateTarget): Promise<UpdateDoc> {
  const out: UpdateDoc = {};
  const plainForIndex = new Map<string, unknown>();
  let key: DataKey | undefined;
  const seal = async (path: string, value: unknown) => {
    if (value === undefined || value === null || isEnvelope(value)) return value;
    key ??= await crypto.vault.dataKeyFor({ tenantId: target.tenantId, subjectId: target.subjectId });
    const ctx: FieldContext = { tenantId: target.tenantId, collection: spec.collection, field: path, documentId: target.documentId, ...(target.subjectId ? { subjectId: target.subjectId } : {}) };
    return sealValue(checkPlain(value, path), key, ctx);
  };
  const sealSet = async (set: UpdateDoc): Promise<UpdateDoc> => {
    const next: UpdateDoc = {};
    for (const [k, v] of Object.entries(set)) {
      const t = touched(spec, k);
      if (t.inside) throw new PlaintextWriteRefusedError(`${spec.collection}.${k} is inside the encrypted path ${t.inside}; set ${t.inside} whole`);
      if (t.exact) {
        plainForIndex.set(k, v);
        next[k] = await seal(k, v);
      } else if (t.under.length && v !== null && typeof v === 'object') {
        const copy = deepCopy(plainCopy(v as object)) as Record<string, unknown>;
        for (const p of t.under) {
          const rel = p.slice(k.length + 1);
          const val = plainAccess.get(copy, rel);
          plainForIndex.set(p, val ?? null);
          if (val !== undefined && val !== null) plainAccess.set(copy, rel, await seal(p, val));
        }
        next[k] = copy;
      } else {
        // The whole parent set to null (or a non-object): every path under it is gone.
        for (const p of t.under) plainForIndex.set(p, null);
        next[k] = v;
      }
    }
    return next;
  };
  for (const [op, body] of Object.entries(update)) {
    if (!op.startsWith('$')) {
      Object.assign(out, { $set: { ...((out.$set as UpdateDoc) ?? {}), ...(await sealSet({ [op]: body })) } });
      continue;
    }
    if (op === '$set') {
      out.$set = { ...((out.$set as UpdateDoc) ?? {}), ...(await sealSet(body as UpdateDoc)) };
      continue;
    }
    if (op === '$unset') {
      for (const k of Object.keys(body as object)) {
        const t = touched(spec, k);
        if (t.inside) throw new PlaintextWriteRefusedError(`${spec.collection}.${k} is inside the encrypted path ${t.inside}`);
        for (const p of t.exact ? [t.exact] : t.under) plainForIndex.set(p, null);
      }
      out[op] = body;
      continue;
    }
    if (body && typeof body === 'object' && op !== '$inc' && op !== '$currentDate') {
      for (const k of Object.keys(body as object)) {
        const t = touched(spec, k);
        if (t.exact || t.under.length || t.inside) throw new PlaintextWriteRefusedError(`${op} on the encrypted path ${spec.collection}.${k}`);
      }
    }
    out[op] = body;
  }
  const idx = await indexesFor(crypto, spec, target.tenantId, plainForIndex);
  if (Object.keys(idx).length) indexesIntoUpdate(out, (out.$set as UpdateDoc | undefined) ?? {}, (out.$unset as UpdateDoc | undefined) ?? {}, idx);
  return out;
}

/** Puts blind indexes into an update's `$set` (a value) or `$unset` (none), and those into the update when not empty. */
function indexesIntoUpdate(out: UpdateDoc, set: UpdateDoc, unset: UpdateDoc, idx: Record<string, string | null>): void {
  for (const [name, value] of Object.entries(idx)) {
    if (value === null) unset[`bidx.${name}`] = 1;
    else set[`bidx.${name}`] = value;
  }
  if (Object.keys(set).length) out.$set = set;
  if (Object.keys(unset).length) out.$unset = unset;
}

/**
 * Encrypts an update's values for one known document (writers that update
 * around the plugin, e.g. inside `bulkWrite`). Query updates through the
 * plugin need not call it.
 *
 * A model with document envelopes: the update becomes a rewrite of the
 * document's envelope from the one stored now (read here; values of older
 * layouts folded in, even for an empty update), and `filter` — the filter
 * the caller writes with, required — gets the compare-and-set on what was
 * read, in place: a concurrent write makes the caller's match nothing
 * instead of being overwritten. A value that cannot be opened refuses it
 * (DECRYPTION_FAILED).
 */
export async function encryptUpdateFor(model: Model<any>, update: UpdateDoc, target: UpdateTarget, filter?: Record<string, unknown>): Promise<UpdateDoc> {
  const spec = declared.get(model.schema as Schema);
  if (!spec || isOff(model.db)) return update;
  if (isDocumentMode(spec)) {
    if (!filter) throw new TypeError(`encryptUpdateFor(${spec.collection}): a model with document envelopes needs the write's filter (its compare-and-set)`);
    const crypto = cryptoFor(model.db);
    const where: Record<string, unknown> = { _id: storedId(model, target.documentId), [spec.tenantPath]: target.tenantId };
    const stored = (await model.collection.findOne(where as never, { projection: recordProjection(spec) })) as Record<string, unknown> | null;
    const current = await currentRecord(crypto, spec, stored, target, false);
    const out = await sealedUpdate(crypto, spec, update, target, current, stored === null);
    Object.assign(filter, current.guard);
    return out;
  }
  if (!updateTouchesEncrypted(spec, update)) return update;
  return encryptUpdate(cryptoFor(model.db), spec, update, target);
}

// ---------------------------------------------------------------------------------------------
// Document envelopes (`envelope: 'document'`)
//
// Every value at a declared path of a document is sealed into one envelope at `envelopeField` (a record: path →
// value, fields.ts `sealRecord`) and the paths themselves are not stored. A page of reads then opens one envelope
// per document instead of one per value: AES-GCM's setup per call, not the bytes, is what reads paid for. The
// associated data binds what a field's does (tenant, collection, document id, key id and version) with
// DOCUMENT_FIELD as the field; the paths are inside the authenticated plaintext, so no value can be moved between
// paths, documents, collections or tenants, and a document has exactly one envelope.
//
// Older layouts still read: a per-field envelope, or plaintext, at a declared path. Such a value wins over the
// envelope's (every write in this mode unsets the paths, so it was written later: an older process, a raw
// writer). Every write of the document folds them into its envelope and unsets them.

const isDocumentMode = (spec: Spec): boolean => spec.envelope === 'document';

const parentPaths = new Map<string, string>();
/** Whether the object that holds `path` is there (always, for a top-level path). */
function parentExists(a: Accessor, doc: object, path: string): boolean {
  const parts = partsOf(path);
  if (parts.length === 1) return true;
  let parent = parentPaths.get(path);
  if (parent === undefined) {
    parent = parts.slice(0, -1).join('.');
    if (parentPaths.size < 4096) parentPaths.set(path, parent);
  }
  return isObject(a.get(doc, parent));
}

/** Puts a value opened from an envelope at its path, creating the objects above it that are missing. */
function placeValue(a: Accessor, doc: object, path: string, value: unknown): void {
  if (parentExists(a, doc, path)) {
    a.set(doc, path, value);
    return;
  }
  if (isHydrated(doc)) {
    const d = doc as HydratedDocument;
    d.set(path, value);
    // Read, not changed: a save must not take it for a write.
    const parts = partsOf(path);
    for (let i = parts.length; i > 0; i--) d.unmarkModified(parts.slice(0, i).join('.'));
    return;
  }
  const parts = partsOf(path);
  let o = doc as Record<string, unknown>;
  for (let i = 0; i < parts.length - 1; i++) {
    let next = o[parts[i]];
    // A value sealed under a path whose object is null (set after it was nulled) still shows: never hidden.
    if (next === undefined || next === null) next = o[parts[i]] = {};
    if (!isObject(next) || Array.isArray(next)) return;
    o = next as Record<string, unknown>;
  }
  o[parts[parts.length - 1]] = value;
}

/**
 * Takes an envelope out of a document read: set to undefined, which JSON and
 * every record mapping leave out — not deleted, which would put a plain
 * document into V8's slow dictionary mode for all the reads that follow (a
 * hydrated one is not marked modified).
 */
function dropEnvelope(doc: object, path: string): void {
  if (isHydrated(doc)) {
    if (typeof doc.$__setValue === 'function') doc.$__setValue(path, undefined);
  } else if (partsOf(path).length === 1) (doc as Record<string, unknown>)[path] = undefined;
  else if (valueAtPath(doc, path) !== undefined) plainAccess.set(doc, path, undefined);
}

/**
 * Puts a document's record back at `paths` (`values` undefined: it has none,
 * or it could not be opened: nulls), where a path holds nothing of its own.
 * Returns whether a path holds a per-field envelope (older layout).
 */
function fillRecord(a: Accessor, doc: object, paths: readonly string[], values: ReadonlyMap<string, PlainValue> | undefined): boolean {
  let older = false;
  if (a !== plainAccess) {
    for (const path of paths) {
      const current = a.get(doc, path);
      if (current !== undefined && current !== null) {
        older ||= isEnvelope(current);
        continue;
      }
      const value = values?.get(path);
      if (value !== undefined) placeValue(a, doc, path, value);
      else if (current === undefined && parentExists(a, doc, path)) a.set(doc, path, null);
    }
    return older;
  }
  // Plain documents (every page read): one walk per path.
  for (const path of paths) {
    const parts = partsOf(path);
    const last = parts.length - 1;
    let o = doc as Record<string, unknown>;
    let i = 0;
    for (; i < last; i++) {
      const next = o[parts[i]];
      if (!isObject(next)) break;
      o = next as Record<string, unknown>;
    }
    const value = values?.get(path);
    if (i < last) {
      // The object above is missing (or null): only a value makes it.
      if (value !== undefined) placeValue(a, doc, path, value);
      continue;
    }
    const current = o[parts[last]];
    if (current !== undefined && current !== null) {
      older ||= isEnvelope(current);
      continue;
    }
    if (value !== undefined) o[parts[last]] = value;
    else if (current === undefined) o[parts[last]] = null;
  }
  return older;
}

function openRecordOrReason(bytes: Buffer, key: DataKey, aad: Buffer): Map<string, PlainValue> | DecryptionFailureReason {
  try {
    return openRecordEnvelope(bytes, key, aad);
  } catch (err) {
    if (!(err instanceof DecryptionFailedError)) throw err;
    return err.reason;
  }
}

interface SealedRecord {
  doc: object;
  a: Accessor;
  bytes: Buffer | undefined;
  keyId: string;
}

/**
 * Opens each document's envelope (one key-vault query for the page, as for
 * fields) and puts its values at their paths; `unwanted`: paths the read's
 * projection leaves out, not put back. An envelope that cannot be opened
 * makes every path null and is reported once, at the envelope's field.
 * Per-field envelopes of the older layout are then opened as fields.
 */
async function decryptRecords(conn: Connection, spec: Spec, docs: readonly object[], unwanted?: ReadonlySet<string>): Promise<void> {
  const paths = unwanted?.size ? spec.paths.filter((p) => !unwanted.has(p)) : spec.paths;
  const sealed: SealedRecord[] = [];
  const keyIds = new Set<string>();
  const older: object[] = [];
  for (const doc of docs) {
    const a = accessOf(doc);
    const stored = a.get(doc, spec.envelopeField);
    if (stored !== undefined) dropEnvelope(doc, spec.envelopeField);
    // A per-field envelope (older layout) at a path the read leaves out is not handed back sealed either.
    if (paths !== spec.paths) for (const p of unwanted!) if (isEnvelope(a.get(doc, p))) dropEnvelope(doc, p);
    if (stored === undefined || stored === null) {
      if (fillRecord(a, doc, paths, undefined)) older.push(doc);
      continue;
    }
    let bytes: Buffer | undefined;
    let keyId = '';
    try {
      bytes = envelopeBytes(stored);
      if (bytes.length > ENVELOPE_HEADER_BYTES && bytes[0] === ENVELOPE_FORMAT) {
        keyId = bytes.toString('hex', 1, 17);
        keyIds.add(keyId);
      }
    } catch (err) {
      if (!(err instanceof DecryptionFailedError)) throw err;
    }
    sealed.push({ doc, a, bytes, keyId });
  }
  if (sealed.length) {
    const crypto = cryptoFor(conn);
    const keys = await pageKeys(crypto, keyIds);
    for (const s of sealed) {
      const ctx = documentContextOf(spec, s.a, s.doc, spec.envelopeField);
      const key = s.keyId ? keys.get(s.keyId) : 'MALFORMED';
      let opened: Map<string, PlainValue> | DecryptionFailureReason;
      if (ctx === 'MALFORMED' || s.bytes === undefined || key === undefined) opened = 'MALFORMED';
      else if (typeof key === 'string') opened = key;
      // The envelope names a key of another tenant or subject: it was not made for this document.
      else if (key.tenantId !== ctx.tenantId || (ctx.subjectId !== undefined && key.subjectId !== ctx.subjectId)) opened = 'KEY_NOT_FOUND';
      else opened = openRecordOrReason(s.bytes, key, ctx.aad);
      if (typeof opened !== 'string') {
        if (fillRecord(s.a, s.doc, paths, opened)) older.push(s.doc);
        continue;
      }
      const reason = opened;
      if (fillRecord(s.a, s.doc, paths, undefined)) older.push(s.doc);
      crypto.onUnreadable?.({ collection: spec.collection, path: spec.envelopeField, documentId: idString(s.a.get(s.doc, '_id')) ?? '', reason });
    }
  }
  if (older.length) await decryptFields(conn, spec, older);
}

/** What a record's associated data binds, from the document: id, tenant, subject (its `field` is set by sealing). */
const recordContext = (spec: Spec, a: Accessor, doc: object): Omit<FieldContext, 'field'> => contextOf(spec, a, doc, spec.envelopeField);

const recordContextOf = (spec: Spec, target: UpdateTarget): Omit<FieldContext, 'field'> => ({
  tenantId: target.tenantId,
  collection: spec.collection,
  documentId: target.documentId,
  ...(target.subjectId ? { subjectId: target.subjectId } : {}),
});

/** The key a stored envelope names, checked as reads check it: the document's tenant's (and subject's). */
async function ownKey(crypto: FieldCrypto, stored: unknown, ctx: Omit<FieldContext, 'field'>): Promise<DataKey> {
  const key = await crypto.vault.dataKeyById(readKeyRef(stored).keyId);
  if (key.tenantId !== ctx.tenantId || (ctx.subjectId !== undefined && key.subjectId !== ctx.subjectId)) throw new DecryptionFailedError('KEY_NOT_FOUND');
  return key;
}

/** Blind indexes of a record's values (null: removed); the tenant's index root is needed only for a value. */
async function recordIndexes(cryptoOf: () => FieldCrypto, spec: Spec, tenantId: string, values: Map<string, unknown>): Promise<Record<string, string | null>> {
  if (![...values.values()].some((v) => typeof v === 'string' && v.length > 0)) {
    return Object.fromEntries(spec.blindIndexes.filter((bi) => values.has(bi.path)).map((bi) => [bi.name, null]));
  }
  return indexesFor(cryptoOf(), spec, tenantId, values);
}

/**
 * Seals the values a document about to be inserted or replaced (or a
 * hydrated one not saved yet) holds at the declared paths into its
 * envelope, taking them out of it. An envelope it holds already is opened
 * and the values merged (null clears a path); per-field envelopes stay
 * where they are (a document copied in the older layout: reads open them,
 * the next update folds them in).
 */
async function encryptRecordOne(cryptoOf: () => FieldCrypto, spec: Spec, doc: object): Promise<void> {
  const a = writeAccessOf(doc);
  const hydrated = isHydrated(doc);
  const given = new Map<string, PlainValue | null>();
  const kept = new Set<string>();
  for (const path of spec.paths) {
    const value = a.get(doc, path);
    if (value === undefined) continue;
    if (isEnvelope(value)) {
      kept.add(path);
      continue;
    }
    given.set(path, value === null ? null : checkPlain(value, path));
    if (hydrated) (doc as HydratedDocument).set(path, undefined);
    else deletePath(doc, path);
  }
  if (hydrated) savedRecord.set(doc, { plain: given });
  const existing = a.get(doc, spec.envelopeField);
  const hasExisting = existing !== undefined && existing !== null;
  // Sealed already, nothing new: as it is.
  if (hasExisting && given.size === 0) return;
  const values = new Map<string, PlainValue>();
  let ctx: Omit<FieldContext, 'field'> | undefined;
  if (hasExisting) {
    if (!isEnvelope(existing)) throw new DecryptionFailedError('MALFORMED');
    ctx = recordContext(spec, a, doc);
    for (const [p, v] of openRecord(existing, await ownKey(cryptoOf(), existing, ctx), ctx)) values.set(p, v);
  }
  for (const [p, v] of given) {
    if (v === null) values.delete(p);
    else values.set(p, v);
  }
  if (values.size) {
    ctx ??= recordContext(spec, a, doc);
    const key = await cryptoOf().vault.dataKeyFor({ tenantId: ctx.tenantId, subjectId: ctx.subjectId });
    a.set(doc, spec.envelopeField, sealRecord(values, key, ctx));
  } else if (existing !== undefined) {
    if (hydrated) (doc as HydratedDocument).set(spec.envelopeField, undefined);
    else deletePath(doc, spec.envelopeField);
  }
  if (spec.blindIndexes.length === 0) return;
  const tenantId = a.get(doc, spec.tenantPath);
  if (typeof tenantId !== 'string') return;
  // Blind indexes follow the values now sealed; a path left in an envelope of its own keeps its index.
  const forIndex = new Map<string, unknown>(spec.blindIndexes.filter((bi) => !kept.has(bi.path)).map((bi) => [bi.path, values.get(bi.path) ?? null]));
  writeIndexes(doc, a, await recordIndexes(cryptoOf, spec, tenantId, forIndex));
}

/** What a write of a document's record starts from. */
interface CurrentRecord {
  /** The values as stored now: the envelope's, and over them those at the paths. */
  values: Map<string, PlainValue>;
  /**
   * Filter conditions that match the document only as it was read: its
   * envelope's bytes (or none: `null` matches absent too) and each value
   * stored at a path. A writer that changed any of them meanwhile makes the
   * write match nothing instead of being overwritten.
   */
  guard: Record<string, unknown>;
  /** Paths holding a value of their own (older layouts): folded into the envelope, unset by the write. */
  older: string[];
}

/**
 * Reads the record out of `stored` (the document as the database holds it,
 * or null when there is none). A value that cannot be opened refuses the
 * write (DECRYPTION_FAILED: what cannot be read must not be overwritten),
 * unless its key was destroyed and `dropErased` says erased values may be
 * dropped (new data about a shredded subject, under a new key).
 */
async function currentRecord(crypto: FieldCrypto, spec: Spec, stored: Record<string, unknown> | null, target: UpdateTarget, dropErased: boolean): Promise<CurrentRecord> {
  const ctx = recordContextOf(spec, target);
  const values = new Map<string, PlainValue>();
  const guard: Record<string, unknown> = { [spec.envelopeField]: null };
  const older: string[] = [];
  const erased = (err: unknown) => dropErased && err instanceof DecryptionFailedError && err.reason === 'KEY_DESTROYED';
  const envelope = stored?.[spec.envelopeField];
  if (envelope !== undefined && envelope !== null) {
    if (!isEnvelope(envelope)) throw new DecryptionFailedError('MALFORMED');
    guard[spec.envelopeField] = envelope;
    try {
      for (const [p, v] of openRecord(envelope, await ownKey(crypto, envelope, ctx), ctx)) values.set(p, v);
    } catch (err) {
      if (!erased(err)) await refuseUnreadable(crypto, ctx, err);
    }
  }
  for (const path of spec.paths) {
    const value = stored ? valueAtPath(stored, path) : undefined;
    if (value === undefined || value === null) continue;
    older.push(path);
    guard[path] = trusted({ $eq: value });
    if (!isEnvelope(value)) {
      values.set(path, checkPlain(value, path));
      continue;
    }
    try {
      values.set(path, openValue(value, await ownKey(crypto, value, ctx), { ...ctx, field: path }));
    } catch (err) {
      if (!erased(err)) await refuseUnreadable(crypto, ctx, err);
      values.delete(path);
    }
  }
  return { values, guard, older };
}

/**
 * Refuses a write over a value that cannot be opened. A master key that is
 * unavailable (a tenant's own, revoked) refuses it as sealing would —
 * MASTER_KEY_UNAVAILABLE, which clients are told — rather than as an
 * internal failure: the tenant's key is asked for, as a write needs it.
 */
async function refuseUnreadable(crypto: FieldCrypto, ctx: Omit<FieldContext, 'field'>, err: unknown): Promise<never> {
  if (err instanceof DecryptionFailedError && err.reason === 'MASTER_KEY_UNAVAILABLE') await crypto.vault.dataKeyFor({ tenantId: ctx.tenantId, subjectId: ctx.subjectId });
  throw err;
}

function setOrClear(spec: Spec, values: Map<string, PlainValue>, path: string, value: unknown): void {
  if (value === undefined || value === null) values.delete(path);
  else if (isEnvelope(value)) throw new PlaintextWriteRefusedError(`${spec.collection}.${path} is given a field envelope, but the model seals its values per document`);
  else values.set(path, checkPlain(value, path));
}

/**
 * Applies what an update does to declared paths to `values` and returns the
 * rest of it: `$set` / `$unset` of a path, or of an object holding paths
 * (stored without them). Anything else that reaches a path or the envelope
 * (`$push`, `$inc`, `$rename`, a path inside a value) is refused.
 * `$setOnInsert` counts only when the write inserts (`inserting`).
 */
function applyToRecord(spec: Spec, values: Map<string, PlainValue>, update: UpdateDoc, inserting: boolean): UpdateDoc {
  const out: UpdateDoc = {};
  const isEnvelopeKey = (k: string) => k === spec.envelopeField || k.startsWith(`${spec.envelopeField}.`);
  const merge = (op: string, body: UpdateDoc) => {
    if (Object.keys(body).length) out[op] = { ...((out[op] as UpdateDoc | undefined) ?? {}), ...body };
  };
  const applySet = (body: UpdateDoc, apply: boolean): UpdateDoc => {
    const rest: UpdateDoc = {};
    for (const [k, v] of Object.entries(body)) {
      if (isEnvelopeKey(k)) throw new PlaintextWriteRefusedError(`${spec.collection}.${k} is the document envelope: set the encrypted paths instead`);
      const t = touched(spec, k);
      if (t.inside) throw new PlaintextWriteRefusedError(`${spec.collection}.${k} is inside the encrypted path ${t.inside}; set ${t.inside} whole`);
      if (t.exact) {
        if (apply) setOrClear(spec, values, k, v);
      } else if (t.under.length && isObject(v) && !Array.isArray(v)) {
        const copy = deepCopy(plainCopy(v)) as Record<string, unknown>;
        for (const p of t.under) {
          const rel = p.slice(k.length + 1);
          if (apply) setOrClear(spec, values, p, plainAccess.get(copy, rel));
          deletePath(copy, rel);
        }
        rest[k] = copy;
      } else {
        // The whole object set to null (or to something holding no paths): every path under it is gone.
        if (apply) for (const p of t.under) values.delete(p);
        rest[k] = v;
      }
    }
    return rest;
  };
  for (const [op, body] of Object.entries(update)) {
    if (!op.startsWith('$')) merge('$set', applySet({ [op]: body }, true));
    else if (op === '$set') merge(op, applySet(body as UpdateDoc, true));
    else if (op === '$setOnInsert') merge(op, applySet(body as UpdateDoc, inserting));
    else if (op === '$unset') {
      const rest: UpdateDoc = {};
      for (const [k, v] of Object.entries(body as UpdateDoc)) {
        if (isEnvelopeKey(k)) throw new PlaintextWriteRefusedError(`${spec.collection}.${k} is the document envelope: unset the encrypted paths instead`);
        const t = touched(spec, k);
        if (t.inside) throw new PlaintextWriteRefusedError(`${spec.collection}.${k} is inside the encrypted path ${t.inside}`);
        if (t.exact) values.delete(k);
        else {
          for (const p of t.under) values.delete(p);
          rest[k] = v;
        }
      }
      merge(op, rest);
    } else {
      if (isObject(body)) {
        const keys = [...Object.keys(body), ...(op === '$rename' ? Object.values(body).filter((x): x is string => typeof x === 'string') : [])];
        for (const k of keys) {
          const t = touched(spec, k);
          if (isEnvelopeKey(k) || t.exact || t.under.length || t.inside) throw new PlaintextWriteRefusedError(`${op} on the encrypted path ${spec.collection}.${k}`);
        }
      }
      out[op] = body;
    }
  }
  return out;
}

/**
 * The update of one document's record: `update`'s changes applied to what
 * is stored now (`current`), sealed again as one envelope (none when no
 * value is left), the paths of older layouts unset, blind indexes in step.
 * Write it with `current.guard` in the filter.
 */
async function sealedUpdate(crypto: FieldCrypto, spec: Spec, update: UpdateDoc, target: UpdateTarget, current: CurrentRecord, inserting: boolean): Promise<UpdateDoc> {
  const values = current.values;
  const out = applyToRecord(spec, values, update, inserting);
  const set = (out.$set as UpdateDoc | undefined) ?? {};
  const unset = (out.$unset as UpdateDoc | undefined) ?? {};
  if (values.size) {
    const key = await crypto.vault.dataKeyFor({ tenantId: target.tenantId, subjectId: target.subjectId });
    set[spec.envelopeField] = sealRecord(values, key, recordContextOf(spec, target));
  } else unset[spec.envelopeField] = 1;
  // Values of older layouts live in the envelope now; an object the update replaces takes them with it.
  const replaced = [...Object.keys(set), ...Object.keys(unset)];
  for (const p of current.older) if (!replaced.some((k) => k === p || p.startsWith(`${k}.`))) unset[p] = 1;
  const idx = await recordIndexes(() => crypto, spec, target.tenantId, new Map(spec.blindIndexes.map((bi) => [bi.path, values.get(bi.path) ?? null])));
  indexesIntoUpdate(out, set, unset, idx);
  return out;
}

/** What a read of a document's record fetches: the ids its associated data binds, the envelope, the paths. */
function recordProjection(spec: Spec): Record<string, 1> {
  const fields = [spec.tenantPath, ...(spec.subjectPath && spec.subjectPath !== '_id' ? [spec.subjectPath] : []), spec.envelopeField, ...spec.paths];
  // A path under another projected one would be a path collision.
  return Object.fromEntries(fields.filter((f) => !fields.some((g) => g !== f && f.startsWith(`${g}.`))).map((f) => [f, 1 as const]));
}

/** `id` as the raw collection stores it (the driver does not cast: a string against an ObjectId `_id` matches nothing). */
function storedId(model: Model<any>, id: unknown): unknown {
  if (typeof id !== 'string') return id;
  const type = model.schema.path('_id') as { cast?: (v: unknown) => unknown } | undefined;
  try {
    return type?.cast ? type.cast(id) : id;
  } catch {
    return id;
  }
}

/**
 * The tenant and subject a document-mode update binds, and the document as
 * stored, in one read (the filter's tenant and subject narrow it: a
 * document the filter does not match is written as if empty, and the write
 * matches nothing anyway).
 */
async function recordTarget(model: Model<any>, spec: Spec, filter: Record<string, unknown>, documentId: string, options: Record<string, unknown>): Promise<{ target: UpdateTarget; stored: Record<string, unknown> | null }> {
  const where: Record<string, unknown> = { _id: storedId(model, filter._id) };
  const tenant = typeof filter[spec.tenantPath] === 'string' ? (filter[spec.tenantPath] as string) : undefined;
  if (tenant) where[spec.tenantPath] = tenant;
  let subject: string | undefined;
  if (spec.subjectPath === '_id') subject = documentId;
  else if (spec.subjectPath) {
    const given = (options.encryption as { subjectId?: unknown } | undefined)?.subjectId ?? filter[spec.subjectPath];
    if (typeof given === 'string') where[spec.subjectPath] = subject = given;
  }
  const stored = (await model.collection.findOne(where as never, { projection: recordProjection(spec) })) as Record<string, unknown> | null;
  const tenantId = tenant ?? (stored ? valueAtPath(stored, spec.tenantPath) : undefined);
  const subjectId = subject ?? (spec.subjectPath && stored ? valueAtPath(stored, spec.subjectPath) : undefined);
  if (typeof tenantId !== 'string' || !tenantId) throw new PlaintextWriteRefusedError(`${spec.collection} document to update ${stored ? 'has no tenant' : 'was not found'}`);
  if (spec.subjectPath && (typeof subjectId !== 'string' || !subjectId)) throw new PlaintextWriteRefusedError(`${spec.collection} document to update ${stored ? 'has no data subject' : 'was not found'}`);
  return { target: { documentId, tenantId, ...(typeof subjectId === 'string' ? { subjectId } : {}) }, stored };
}

/** Whether an update reaches a declared path or the envelope in any way (a document-mode model must rewrite it). */
function updateTouchesRecord(spec: Spec, update: UpdateDoc): boolean {
  const reaches = (k: string) => {
    const t = touched(spec, k);
    return !!(t.exact || t.under.length || t.inside) || k === spec.envelopeField || k.startsWith(`${spec.envelopeField}.`);
  };
  for (const [op, body] of Object.entries(update)) {
    if (!op.startsWith('$')) {
      if (reaches(op)) return true;
    } else if (isObject(body)) {
      if (Object.keys(body).some(reaches)) return true;
      if (op === '$rename' && Object.values(body).some((v) => typeof v === 'string' && reaches(v))) return true;
    }
  }
  return false;
}

/** Whether an update writes the envelope itself: sealed already (`encryptUpdateFor`), its guard in the filter. */
function setsEnvelope(spec: Spec, update: UpdateDoc): boolean {
  const set = update.$set;
  if (!isObject(set) || !(spec.envelopeField in set)) return false;
  // Only a sealed envelope may go there: anything else would be plaintext (or garbage) where values are expected sealed.
  if (!isEnvelope((set as UpdateDoc)[spec.envelopeField])) throw new PlaintextWriteRefusedError(`${spec.collection}.${spec.envelopeField} takes only a sealed envelope (encryptUpdateFor)`);
  return true;
}

/** Whether an update sets a value (of any kind) at a declared path: in document mode, values live in the envelope only. */
function setsRecordValues(spec: Spec, update: UpdateDoc): boolean {
  const sets = Object.entries(update).flatMap(([op, body]) => (!op.startsWith('$') ? [[op, body] as const] : (op === '$set' || op === '$setOnInsert') && isObject(body) ? Object.entries(body) : []));
  return sets.some(([k, v]) => {
    const t = touched(spec, k);
    if (t.inside) return true;
    if (t.exact) return v !== null && v !== undefined;
    return t.under.length > 0 && isObject(v) && t.under.some((p) => valueAtPath(v, p.slice(k.length + 1)) != null);
  });
}

/** The plugin's rewrite of a query update (or replacement) of one document of a document-mode model. */
async function rewriteRecordWrite(q: QueryLike, spec: Spec, update: UpdateDoc, replacing: boolean): Promise<void> {
  if (replacing) {
    if (!spec.paths.some((p) => valueAtPath(update, p) !== undefined)) return;
  } else {
    if (!updateTouchesRecord(spec, update)) return;
    if (q.op === 'updateMany') throw new PlaintextWriteRefusedError(`updateMany on encrypted paths of ${spec.collection}: they are sealed per document`);
    if (setsEnvelope(spec, update)) {
      if (setsRecordValues(spec, update)) throw new PlaintextWriteRefusedError(`an update of ${spec.collection} sets its envelope and values at its paths at once`);
      return;
    }
  }
  const filter = q.getFilter();
  const documentId = idString(filter._id);
  if (!documentId) throw new PlaintextWriteRefusedError(`an update of encrypted paths of ${spec.collection} must name one document by _id`);
  const { target, stored } = await recordTarget(q.model, spec, filter, documentId, q.getOptions());
  const crypto = cryptoFor(q.model.db);
  if (replacing) {
    // A replacement states every value: nothing of the stored record is kept.
    const doc = { ...update, _id: filter._id, [spec.tenantPath]: target.tenantId } as UpdateDoc;
    if (spec.subjectPath && spec.subjectPath !== '_id') doc[spec.subjectPath] ??= target.subjectId;
    await encryptRecordOne(() => crypto, spec, doc);
    q.setUpdate(doc);
    return;
  }
  const current = await currentRecord(crypto, spec, stored, target, true);
  q.setUpdate(await sealedUpdate(crypto, spec, update, target, current, stored === null));
  q.setQuery({ ...filter, ...current.guard });
}

/**
 * The declared paths a projection lets through (undefined: it does not
 * narrow, whole documents). Including the envelope alone includes them all;
 * excluding it excludes them all.
 */
function wantedPaths(spec: Spec, proj: Record<string, unknown>): Set<string> | undefined {
  const entries = Object.entries(proj).filter(([k]) => k !== '_id');
  // `{ _id: 1 }` alone includes nothing else; `{ _id: 0 }` alone excludes nothing else.
  if (entries.length === 0) return isInclusion(proj) ? new Set() : undefined;
  const included = entries.filter(([, v]) => v === 1 || v === true).map(([k]) => k);
  if (included.length) {
    // A subfield of a value is the value: values are sealed whole.
    const named = spec.paths.filter((p) => included.some((k) => k === p || p.startsWith(`${k}.`) || k.startsWith(`${p}.`)));
    return new Set(named.length === 0 && included.includes(spec.envelopeField) ? spec.paths : named);
  }
  const excluded = entries.filter(([, v]) => v === 0 || v === false).map(([k]) => k);
  if (excluded.includes(spec.envelopeField)) return new Set();
  return new Set(spec.paths.filter((p) => !excluded.some((k) => k === p || p.startsWith(`${k}.`))));
}

/** What a projection needs beside itself in document mode: the envelope (and its ids) when a path is wanted, no envelope otherwise. */
/** Whether a projection lists what to include (rather than what to leave out). */
function isInclusion(proj: Record<string, unknown>): boolean {
  const entries = Object.entries(proj);
  const others = entries.filter(([k]) => k !== '_id');
  return others.length ? others.some(([, v]) => v === 1 || v === true) : entries.some(([, v]) => v === 1 || v === true);
}

function envelopeProjection(spec: Spec, proj: Record<string, unknown>, wanted: ReadonlySet<string>): Record<string, 0 | 1> {
  if (!isInclusion(proj)) return wanted.size ? {} : { [spec.envelopeField]: 0 };
  if (!wanted.size) return {};
  const out: Record<string, 0 | 1> = { [spec.envelopeField]: 1, [spec.tenantPath]: 1 };
  if (spec.subjectPath && spec.subjectPath !== '_id') out[spec.subjectPath] = 1;
  return out;
}

/** Declared paths a find's projection leaves out (document mode): not put back from the envelope. */
const unwantedOnRead = new WeakMap<object, ReadonlySet<string>>();

/** A document-mode save: what a hydrated document held before it, put back after (and the save's former `$where`). */
const savedRecord = new WeakMap<object, { plain: Map<string, PlainValue | null>; where?: Record<string, unknown> | undefined }>();

/**
 * Save of a hydrated document of a document-mode model. A new one is sealed
 * as an insert. An existing one whose declared paths changed is rewritten
 * from the record as stored now (read fresh: a hydrated document may have
 * been read without some values) with its changes applied, and saved with a
 * compare-and-set on what was read (`$where`): a concurrent write makes the
 * save fail with DocumentNotFoundError instead of being overwritten.
 */
async function saveRecord(doc: HydratedDocument, spec: Spec): Promise<void> {
  if (doc.isNew) {
    await encryptRecordOne(() => cryptoFor(doc.db), spec, doc);
    return;
  }
  const direct = doc.directModifiedPaths();
  const changed = spec.paths.filter((p) => direct.some((d) => d === p || p.startsWith(`${d}.`) || d.startsWith(`${p}.`)));
  if (changed.length === 0) return;
  const crypto = cryptoFor(doc.db);
  const a = hydratedWrite;
  const ctx = recordContext(spec, a, doc);
  const target: UpdateTarget = { documentId: ctx.documentId as string, tenantId: ctx.tenantId, ...(ctx.subjectId ? { subjectId: ctx.subjectId } : {}) };
  const model = doc.constructor as Model<any>;
  const stored = (await model.collection.findOne({ _id: a.get(doc, '_id') } as never, { projection: recordProjection(spec) })) as Record<string, unknown> | null;
  const current = await currentRecord(crypto, spec, stored, target, true);
  for (const p of changed) setOrClear(spec, current.values, p, a.get(doc, p));
  const plain = new Map<string, PlainValue | null>(spec.paths.map((p) => [p, current.values.get(p) ?? null]));
  // Nothing stays at the paths: what memory holds there is unset, and so is what older layouts stored.
  for (const p of spec.paths) {
    if (a.get(doc, p) !== undefined) doc.set(p, undefined);
    if (current.older.includes(p)) doc.markModified(p);
  }
  if (current.values.size) {
    const key = await crypto.vault.dataKeyFor({ tenantId: target.tenantId, subjectId: target.subjectId });
    doc.set(spec.envelopeField, sealRecord(current.values, key, ctx));
  } else doc.set(spec.envelopeField, undefined);
  if (spec.blindIndexes.length) {
    const forIndex = new Map<string, unknown>(spec.blindIndexes.map((bi) => [bi.path, current.values.get(bi.path) ?? null]));
    writeIndexes(doc, a, await recordIndexes(() => crypto, spec, target.tenantId, forIndex));
  }
  savedRecord.set(doc, { plain, where: doc.$where });
  doc.$where = { ...(doc.$where ?? {}), ...current.guard };
}

/** After a save (or its failure): the values back in memory, the envelope out of it, the save's `$where` as it was. */
function restoreRecord(doc: HydratedDocument, spec: Spec): void {
  const saved = savedRecord.get(doc);
  if (!saved) return;
  savedRecord.delete(doc);
  if ('where' in saved) doc.$where = saved.where;
  dropEnvelope(doc, spec.envelopeField);
  for (const [path, value] of saved.plain) {
    if (value !== null) placeValue(hydratedAccess, doc, path, value);
    else if (parentExists(hydratedAccess, doc, path)) hydratedAccess.set(doc, path, null);
  }
}

// ---------------------------------------------------------------------------------------------
// The plugin

interface QueryLike {
  model: Model<any>;
  getFilter(): Record<string, unknown>;
  setQuery(filter: Record<string, unknown>): void;
  getUpdate(): UpdateDoc | null;
  setUpdate(update: UpdateDoc): void;
  getOptions(): Record<string, unknown>;
  op?: string;
}

function hasPlaintextAt(spec: Spec, doc: object): string | undefined {
  const a = accessOf(doc);
  for (const path of spec.paths) {
    const v = a.get(doc, path);
    if (v !== undefined && v !== null && !isEnvelope(v)) return path;
  }
  // A document envelope field holds a sealed envelope or nothing.
  if (isDocumentMode(spec)) {
    const v = a.get(doc, spec.envelopeField);
    if (v !== undefined && v !== null && !isEnvelope(v)) return spec.envelopeField;
  }
  return undefined;
}

/**
 * The mongoose plugin: `schema.plugin(encryptedFields, { collection, paths, subjectPath, blindIndexes })`.
 * Throws at declaration when a path is not `Schema.Types.Mixed`.
 */
export function encryptedFields(schema: Schema, options: EncryptedFieldsOptions): void {
  const spec: Spec = {
    collection: options.collection,
    paths: [...options.paths],
    tenantPath: options.tenantPath ?? 'tenantId',
    subjectPath: options.subjectPath,
    blindIndexes: [...(options.blindIndexes ?? [])],
    envelope: options.envelope ?? 'field',
    envelopeField: options.envelopeField ?? 'pii',
  };
  for (const p of spec.paths) {
    const type = schema.path(p) as { instance?: string } | undefined;
    if (!type || type.instance !== 'Mixed') throw new TypeError(`encryptedFields(${spec.collection}): path ${p} must be declared Schema.Types.Mixed (it stores envelopes)`);
  }
  if (spec.envelope !== 'field' && spec.envelope !== 'document') throw new TypeError(`encryptedFields(${spec.collection}): envelope must be 'field' or 'document'`);
  if (isDocumentMode(spec)) {
    const e = spec.envelopeField;
    if (!e || e.includes('.') || e.startsWith('$') || spec.paths.some((p) => p === e || p.startsWith(`${e}.`)) || [spec.tenantPath, spec.subjectPath, '_id', 'bidx'].includes(e))
      throw new TypeError(`encryptedFields(${spec.collection}): envelopeField ${e} must be a top-level field of its own`);
    // The record's associated data names its field DOCUMENT_FIELD: no path may be called so.
    if (spec.paths.includes(DOCUMENT_FIELD)) throw new TypeError(`encryptedFields(${spec.collection}): a path may not be named ${DOCUMENT_FIELD}`);
    const type = schema.path(e) as { instance?: string } | undefined;
    if (!type) schema.add({ [e]: { type: Schema.Types.Mixed } });
    else if (type.instance !== 'Mixed') throw new TypeError(`encryptedFields(${spec.collection}): envelopeField ${e} must be declared Schema.Types.Mixed`);
    // An embedded object whose every field is a declared path is stored empty; mongoose drops an empty one on insert,
    // and a present object (whose values then read as null when erased) would read as absent.
    for (const parent of new Set(spec.paths.filter((p) => p.includes('.')).map((p) => p.slice(0, p.lastIndexOf('.'))))) {
      const nested = schema.path(parent) as { schema?: Schema; options?: { minimize?: boolean } } | undefined;
      if (!nested?.schema) continue;
      const fields = Object.keys(nested.schema.paths).filter((f) => f !== '_id');
      if (fields.every((f) => spec.paths.includes(`${parent}.${f}`)) && nested.options?.minimize !== false)
        throw new TypeError(`encryptedFields(${spec.collection}): ${parent} holds only encrypted paths: declare it minimize: false, or an empty one is dropped on insert`);
    }
  }
  for (const bi of spec.blindIndexes) {
    if (!spec.paths.includes(bi.path)) throw new TypeError(`encryptedFields(${spec.collection}): blind index ${bi.name} is on ${bi.path}, which is not encrypted`);
    if (!Number.isInteger(bi.bits) || ((bi.bits < 1 || bi.bits > 32) && bi.bits !== 256)) throw new TypeError(`encryptedFields(${spec.collection}): blind index ${bi.name} needs 1–32 bits, or 256`);
    if (bi.unique && bi.bits !== 256) throw new TypeError(`encryptedFields(${spec.collection}): the unique blind index ${bi.name} needs 256 bits (a truncated one collides)`);
  }
  if (spec.blindIndexes.length) {
    schema.add({ bidx: new Schema(Object.fromEntries(spec.blindIndexes.map((bi) => [bi.name, { type: String }])), { _id: false }) });
    for (const bi of spec.blindIndexes)
      schema.index({ [spec.tenantPath]: 1, [`bidx.${bi.name}`]: 1 }, bi.unique ? { unique: true, partialFilterExpression: { [`bidx.${bi.name}`]: { $type: 'string' } } } : {});
  }
  declared.set(schema, spec);

  schema.pre('save', async function encryptOnSave(this: object & { db: Connection }) {
    if (isOff(this.db)) return;
    if (isDocumentMode(spec)) {
      await saveRecord(this as unknown as HydratedDocument, spec);
      return;
    }
    if (!hasPlaintextAt(spec, this) && spec.blindIndexes.length === 0) return;
    await encryptOne(cryptoFor(this.db), spec, this);
  });

  // After a save the document in memory holds its values again, as before it (mongoose callers read them back).
  schema.post('save', function restorePlain(this: object) {
    if (isDocumentMode(spec)) {
      restoreRecord(this as unknown as HydratedDocument, spec);
      return;
    }
    const plain = savedPlain.get(this);
    if (!plain) return;
    savedPlain.delete(this);
    for (const [path, value] of plain) if (value !== null) hydratedAccess.set(this, path, value);
  });

  // A failed save (a lost compare-and-set above all) leaves the document in memory as it was before it.
  schema.post('save', { errorHandler: true }, function restoreAfterFailure(this: object, err: Error, _res: unknown, next: (err?: Error) => void) {
    if (isDocumentMode(spec)) restoreRecord(this as unknown as HydratedDocument, spec);
    next(err);
  });

  // Writes the plugin cannot address per document: plaintext is refused, envelopes pass.
  schema.pre('insertMany', function refuseInsertMany(this: Model<any>, docs: unknown) {
    if (isOff(this.db)) return;
    for (const d of Array.isArray(docs) ? docs : [docs]) {
      const path = d && typeof d === 'object' ? hasPlaintextAt(spec, d as object) : undefined;
      if (path) throw new PlaintextWriteRefusedError(`insertMany with plaintext at ${spec.collection}.${path} (use create, or encryptDocuments first)`);
    }
  });
  schema.pre('bulkWrite', function refuseBulkWrite(this: Model<any>, ops: Array<Record<string, unknown>>) {
    if (isOff(this.db)) return;
    for (const op of ops) {
      const [kind, body] = Object.entries(op)[0] ?? [];
      const b = (body ?? {}) as Record<string, unknown>;
      const doc = (b.document ?? b.replacement) as object | undefined;
      const path = doc ? hasPlaintextAt(spec, doc) : undefined;
      if (path) throw new PlaintextWriteRefusedError(`bulkWrite ${kind} with plaintext at ${spec.collection}.${path} (encryptDocuments first)`);
      const update = b.update as UpdateDoc | undefined;
      if (!update || Array.isArray(update)) continue;
      const refused = isDocumentMode(spec)
        ? updateTouchesRecord(spec, update) && (!setsEnvelope(spec, update) || setsRecordValues(spec, update))
        : updateTouchesEncrypted(spec, update) && hasPlaintextInUpdate(spec, update);
      if (refused) throw new PlaintextWriteRefusedError(`bulkWrite ${kind} updating an encrypted path of ${spec.collection} (encryptUpdateFor first)`);
    }
  });

  schema.pre(['updateOne', 'findOneAndUpdate', 'replaceOne', 'findOneAndReplace', 'updateMany'], async function encryptUpdates(this: QueryLike) {
    const update = this.getUpdate();
    if (!update || Array.isArray(update) || isOff(this.model.db)) return;
    const replacing = this.op === 'replaceOne' || this.op === 'findOneAndReplace';
    if (isDocumentMode(spec)) {
      await rewriteRecordWrite(this, spec, update, replacing);
      return;
    }
    if (replacing ? !hasPlaintextAt(spec, update) : !(updateTouchesEncrypted(spec, update) && (hasPlaintextInUpdate(spec, update) || touchesBlindIndexed(spec, update)))) return;
    if (this.op === 'updateMany') throw new PlaintextWriteRefusedError(`updateMany on encrypted paths of ${spec.collection}: values are bound to one document`);
    const filter = this.getFilter();
    const documentId = idString(filter._id);
    if (!documentId) throw new PlaintextWriteRefusedError(`an update of encrypted paths of ${spec.collection} must name one document by _id`);
    const target = await targetOf(this.model, spec, filter, documentId, this.getOptions());
    if (replacing) {
      const doc = { ...update, _id: documentId, [spec.tenantPath]: target.tenantId } as UpdateDoc;
      if (spec.subjectPath && spec.subjectPath !== '_id') doc[spec.subjectPath] ??= target.subjectId;
      await encryptOne(cryptoFor(this.model.db), spec, doc);
      this.setUpdate(doc);
      return;
    }
    this.setUpdate(await encryptUpdate(cryptoFor(this.model.db), spec, update, target));
  });

  // A projection that picks an encrypted path also needs what its associated data binds: the tenant and the subject.
  schema.pre(['find', 'findOne', 'findOneAndUpdate', 'findOneAndReplace', 'findOneAndDelete'], function widenProjection(this: QueryLike & { projection(): Record<string, unknown> | null | undefined; select(p: Record<string, 0 | 1>): unknown }) {
    const proj = this.projection();
    if (!proj || typeof proj !== 'object') return;
    if (isDocumentMode(spec)) {
      // A projection of paths is one of the envelope holding them (and of what its associated data binds); what it
      // leaves out is not put back from the envelope.
      const wanted = wantedPaths(spec, proj);
      if (!wanted) return;
      unwantedOnRead.set(this, new Set(spec.paths.filter((p) => !wanted.has(p))));
      const narrowed = envelopeProjection(spec, proj, wanted);
      const extra = Object.fromEntries(Object.entries(narrowed).filter(([k, v]) => proj[k] !== v)) as Record<string, 0 | 1>;
      if (Object.keys(extra).length) this.select(extra);
      return;
    }
    const picked = Object.entries(proj).filter(([k, v]) => k !== '_id' && (v === 1 || v === true));
    if (picked.length === 0) return;
    if (!picked.some(([k]) => spec.paths.some((p) => p === k || p.startsWith(`${k}.`) || k.startsWith(`${p}.`)))) return;
    const extra: Record<string, 1> = { [spec.tenantPath]: 1 };
    if (spec.subjectPath && spec.subjectPath !== '_id') extra[spec.subjectPath] = 1;
    this.select(extra);
  });

  schema.post(['find', 'findOne', 'findOneAndUpdate', 'findOneAndReplace', 'findOneAndDelete'], async function decryptResults(this: QueryLike, res: unknown) {
    if (res === null || res === undefined || typeof res !== 'object' || isOff(this.model.db)) return;
    const docs = (Array.isArray(res) ? res : [res]).filter((d): d is object => d !== null && typeof d === 'object');
    // findOneAndUpdate with includeResultMetadata returns { value, ok }.
    const list = docs.flatMap((d) => ('value' in d && 'ok' in d && Object.keys(d).length <= 3 ? [(d as { value: unknown }).value] : [d])).filter((d): d is object => !!d && typeof d === 'object');
    await decryptAll(this.model.db, spec, list, sealedOnRead.get(this), unwantedOnRead.get(this));
  });
}

function hasPlaintextInUpdate(spec: Spec, update: UpdateDoc): boolean {
  const values = (set: UpdateDoc) =>
    Object.entries(set).some(([k, v]) => {
      const t = touched(spec, k);
      if (t.inside) return true;
      if (t.exact) return v !== null && v !== undefined && !isEnvelope(v);
      if (t.under.length && v && typeof v === 'object') return !!hasPlaintextAt({ ...spec, paths: t.under.map((p) => p.slice(k.length + 1)) }, v as object);
      return false;
    });
  for (const [op, body] of Object.entries(update)) {
    if (!op.startsWith('$')) {
      if (values({ [op]: body })) return true;
    } else if (op === '$set' || op === '$setOnInsert') {
      if (body && typeof body === 'object' && values(body as UpdateDoc)) return true;
    } else if (op === '$unset') {
      // Clearing a path is no plaintext, but a blind index beside it must follow.
      if (spec.blindIndexes.some((bi) => Object.keys(body as object).some((k) => k === bi.path || bi.path.startsWith(`${k}.`)))) return true;
    } else if (body && typeof body === 'object' && !['$inc', '$currentDate'].includes(op)) {
      if (Object.keys(body as object).some((k) => {
        const t = touched(spec, k);
        return t.exact || t.under.length || t.inside;
      }))
        return true;
    }
  }
  return false;
}

/** Whether an update sets or clears a blind-indexed path (or a parent of one): its index must follow. */
function touchesBlindIndexed(spec: Spec, update: UpdateDoc): boolean {
  if (spec.blindIndexes.length === 0) return false;
  const keys = Object.entries(update).flatMap(([op, body]) => (!op.startsWith('$') ? [op] : ['$set', '$unset'].includes(op) && body && typeof body === 'object' ? Object.keys(body) : []));
  return spec.blindIndexes.some((bi) => keys.some((k) => k === bi.path || bi.path.startsWith(`${k}.`)));
}

async function targetOf(model: Model<any>, spec: Spec, filter: Record<string, unknown>, documentId: string, options: Record<string, unknown>): Promise<UpdateTarget> {
  let tenantId = typeof filter[spec.tenantPath] === 'string' ? (filter[spec.tenantPath] as string) : undefined;
  let subjectId: string | undefined;
  if (spec.subjectPath === '_id') subjectId = documentId;
  else if (spec.subjectPath) {
    const given = (options.encryption as { subjectId?: unknown } | undefined)?.subjectId ?? filter[spec.subjectPath];
    subjectId = typeof given === 'string' ? given : undefined;
  }
  if (!tenantId || (spec.subjectPath && !subjectId)) {
    // One read of the ids the associated data needs (no encrypted path in the projection).
    const proj: Record<string, 1> = { [spec.tenantPath]: 1 };
    if (spec.subjectPath && spec.subjectPath !== '_id') proj[spec.subjectPath] = 1;
    const found = await model.collection.findOne({ _id: documentId as never }, { projection: proj });
    if (!found) throw new PlaintextWriteRefusedError(`${spec.collection} document to update was not found`);
    tenantId ??= plainAccess.get(found, spec.tenantPath) as string | undefined;
    if (spec.subjectPath && !subjectId) subjectId = plainAccess.get(found, spec.subjectPath) as string | undefined;
  }
  if (!tenantId) throw new PlaintextWriteRefusedError(`${spec.collection} document to update has no tenant`);
  if (spec.subjectPath && !subjectId) throw new PlaintextWriteRefusedError(`${spec.collection} document to update has no data subject`);
  return { documentId, tenantId, ...(subjectId ? { subjectId } : {}) };
}

/** The filter that finds documents whose blind index `name` matches `value` in a tenant (candidates: filter after decrypting). */
export async function blindIndexFilter(model: Model<any>, tenantId: string, name: string, value: string): Promise<Record<string, string>> {
  const spec = declared.get(model.schema as Schema);
  const bi = spec?.blindIndexes.find((b) => b.name === name);
  if (!spec || !bi) throw new TypeError(`no blind index ${name} on this model`);
  if (isOff(model.db)) throw new FieldCryptoNotConfiguredError();
  const { vault } = cryptoFor(model.db);
  return { [spec.tenantPath]: tenantId, [`bidx.${name}`]: indexValue(await vault.indexRootKey(tenantId), spec, bi, value) };
}

/** The normaliser of a blind index: compare decrypted candidates with it. */
export function blindIndexNormaliser(model: Model<any>, name: string): (value: string) => string {
  const bi = declared.get(model.schema as Schema)?.blindIndexes.find((b) => b.name === name);
  if (!bi) throw new TypeError(`no blind index ${name} on this model`);
  return normalisers[bi.normalise];
}
