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
 */
import { createHmac, type KeyObject } from 'node:crypto';
import { Binary } from 'bson';
import { Schema, type Connection, type Model } from 'mongoose';
import { blindIndexKey, computeBlindIndex, normalisers } from './blind-index';
import { CryptoError, DecryptionFailedError, type DecryptionFailureReason } from './errors';
import { aadDocumentPart, ENVELOPE_FORMAT, ENVELOPE_HEADER_BYTES, ENVELOPE_SUBTYPE, envelopeBytes, openEnvelope, sealValue, type FieldContext, type PlainValue } from './fields';
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
  const idx = await indexesFor(crypto, spec, tenantId, plain);
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
async function decryptAll(conn: Connection, spec: Spec, docs: readonly object[], leave?: ReadonlySet<string>): Promise<void> {
  const { sealed, keyIds } = sealedOf(spec, docs, leave);
  if (sealed.length === 0) return;
  const crypto = cryptoFor(conn);
  if (keyIds.size) await crypto.vault.prefetch(keyIds);
  // The page's keys, looked up once each; a key neither cached nor prefetched (a concurrent eviction) is fetched.
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
 */
export function leaveSealed<Q extends object>(query: Q, paths: Iterable<string>): Q {
  const set = new Set(paths);
  if (set.size) sealedOnRead.set(query, set);
  return query;
}

/**
 * Decrypts documents read around the plugin (`aggregate`, `collection.find`):
 * in place; values that cannot be decrypted become null.
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
  if (Object.keys(idx).length) {
    const set = (out.$set as UpdateDoc | undefined) ?? {};
    const unset = (out.$unset as UpdateDoc | undefined) ?? {};
    for (const [name, value] of Object.entries(idx)) {
      if (value === null) unset[`bidx.${name}`] = 1;
      else set[`bidx.${name}`] = value;
    }
    if (Object.keys(set).length) out.$set = set;
    if (Object.keys(unset).length) out.$unset = unset;
  }
  return out;
}

/**
 * Encrypts an update's values for one known document (writers that update
 * around the plugin, e.g. inside `bulkWrite`). Query updates through the
 * plugin need not call it.
 */
export async function encryptUpdateFor(model: Model<any>, update: UpdateDoc, target: UpdateTarget): Promise<UpdateDoc> {
  const spec = declared.get(model.schema as Schema);
  if (!spec || isOff(model.db) || !updateTouchesEncrypted(spec, update)) return update;
  return encryptUpdate(cryptoFor(model.db), spec, update, target);
}

// ---------------------------------------------------------------------------------------------
// The plugin

interface QueryLike {
  model: Model<any>;
  getFilter(): Record<string, unknown>;
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
  };
  for (const p of spec.paths) {
    const type = schema.path(p) as { instance?: string } | undefined;
    if (!type || type.instance !== 'Mixed') throw new TypeError(`encryptedFields(${spec.collection}): path ${p} must be declared Schema.Types.Mixed (it stores envelopes)`);
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
    if (isOff(this.db) || (!hasPlaintextAt(spec, this) && spec.blindIndexes.length === 0)) return;
    await encryptOne(cryptoFor(this.db), spec, this);
  });

  // After a save the document in memory holds its values again, as before it (mongoose callers read them back).
  schema.post('save', function restorePlain(this: object) {
    const plain = savedPlain.get(this);
    if (!plain) return;
    savedPlain.delete(this);
    for (const [path, value] of plain) if (value !== null) hydratedAccess.set(this, path, value);
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
      if (update && !Array.isArray(update) && updateTouchesEncrypted(spec, update) && hasPlaintextInUpdate(spec, update))
        throw new PlaintextWriteRefusedError(`bulkWrite ${kind} updating an encrypted path of ${spec.collection} (encryptUpdateFor first)`);
    }
  });

  schema.pre(['updateOne', 'findOneAndUpdate', 'replaceOne', 'findOneAndReplace', 'updateMany'], async function encryptUpdates(this: QueryLike) {
    const update = this.getUpdate();
    if (!update || Array.isArray(update) || isOff(this.model.db)) return;
    const replacing = this.op === 'replaceOne' || this.op === 'findOneAndReplace';
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
  schema.pre(['find', 'findOne', 'findOneAndUpdate', 'findOneAndReplace', 'findOneAndDelete'], function widenProjection(this: QueryLike & { projection(): Record<string, unknown> | null | undefined; select(p: Record<string, 1>): unknown }) {
    const proj = this.projection();
    if (!proj || typeof proj !== 'object') return;
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
    await decryptAll(this.model.db, spec, list, sealedOnRead.get(this));
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
