/**
 * Field-level encryption: AES-256-GCM of one value under a data key from
 * the vault, with a random 96-bit nonce and associated data that binds the
 * ciphertext to where it belongs (tenant, collection, field, document id)
 * and to the key that made it (key id and version). A ciphertext copied to
 * another document, field, collection or tenant fails to decrypt.
 *
 * Envelope (stored as BSON Binary, subtype 0x80 "user defined"):
 *
 *   offset  size  content
 *   0       1     format version (0x01)
 *   1       16    data key id (the key_vault `_id`, raw bytes)
 *   17      4     data key version (uint32, big-endian)
 *   21      12    nonce
 *   33      16    GCM tag
 *   49      n     ciphertext of: type byte ‖ payload
 *
 * Payload by type byte: 0x01 string (UTF-8), 0x02 number (float64 BE),
 * 0x03 boolean (one byte), 0x04 JSON (plain objects and arrays, UTF-8),
 * 0x05 Date (float64 BE milliseconds), 0x06 record (a document envelope:
 * the values of several paths, each encoded as one of the others, below).
 * The type travels encrypted.
 *
 * A document envelope (`sealRecord`) holds every value of one document
 * under the associated data of the field `*` (DOCUMENT_FIELD), which no
 * declared path can be: a record opened as a field, or a field as a record,
 * fails on its tag, and its type byte is checked besides.
 *
 * Why Binary 0x80 and not a base64 string: 25 % smaller and no base64 work
 * per read; the BSON type tells ciphertext from plaintext, so a `$type`
 * query finds any value left unencrypted; 0x80 is the user-defined range,
 * where subtype 6 would make CSFLE-aware drivers try to parse it.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { Binary } from 'bson';
import { canonicalContext } from './canonical';
import { DecryptionFailedError, UnsupportedValueError } from './errors';
import { randomNonce } from './nonce';
import type { DataKey, KeyVault } from './key-vault';

export const ENVELOPE_FORMAT = 0x01;
export const ENVELOPE_SUBTYPE = 0x80;
export const ENVELOPE_HEADER_BYTES = 49;
/** The `field` bound into the associated data of a document envelope (no declared path may be named so). */
export const DOCUMENT_FIELD = '*';
const FIELD_DOMAIN = 'tracksafe/field';
const TAG = 16;
const RECORD_TYPE = 0x06;

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
/** What can be encrypted: strings, numbers, booleans, dates, and plain JSON objects or arrays. */
export type PlainValue = string | number | boolean | Date | JsonValue[] | { [key: string]: JsonValue };

/** The values of one document's paths (dotted path → value), sealed together in a document envelope. */
export type PlainRecord = ReadonlyMap<string, PlainValue>;

/** Where a value lives: bound into the associated data. */
export interface FieldContext {
  tenantId: string;
  /** The collection (or another stable name of the record type), e.g. `shipments`. */
  collection: string;
  /** Dotted path of the field, e.g. `recipient.phone`. */
  field: string;
  /** The document's `_id`: a string or an ObjectId (its hex form is bound). */
  documentId: string | { toHexString(): string };
  /**
   * For personal data: the data subject (e.g. the recipient) whose key
   * encrypts it, so shredding that key erases it. Omit for tenant data.
   * On decryption, when given, the envelope's key must belong to it.
   */
  subjectId?: string;
}

/** The key reference an envelope carries, readable without decrypting (re-encryption jobs use it). */
export interface EnvelopeKeyRef {
  keyId: string;
  version: number;
}

function docId(id: FieldContext['documentId']): string {
  if (typeof id === 'string' && id.length > 0) return id;
  if (id && typeof (id as { toHexString?: unknown }).toHexString === 'function') return (id as { toHexString(): string }).toHexString();
  // Anything else (undefined, a plain object) would stringify alike for every document.
  throw new TypeError('documentId must be a non-empty string or an ObjectId');
}

function requireString(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw new TypeError(`${name} must be a non-empty string`);
  return value;
}

// The associated data's keys in canonical (sorted) order, and their encoded constant parts.
const AAD_KEYS = ['collection', 'document', 'field', 'format', 'key', 'keyVersion', 'tenant'] as const;
const AAD_DOMAIN = canonicalContext(FIELD_DOMAIN, {});
const AAD_KEY_BYTES = AAD_KEYS.map((k) => canonicalContext(k, {}));

/**
 * The associated data: context and key reference, exactly
 * `canonicalContext('tracksafe/field', { tenant, collection, field,
 * document, key, keyVersion, format })`, written without the generic
 * encoder's sorting and intermediate buffers (it runs for every field).
 */
export function fieldAad(ctx: FieldContext, ref: EnvelopeKeyRef): Buffer {
  const values = [
    requireString('collection', ctx.collection),
    docId(ctx.documentId),
    requireString('field', ctx.field),
    String(ENVELOPE_FORMAT),
    ref.keyId,
    String(ref.version),
    requireString('tenantId', ctx.tenantId),
  ];
  let size = AAD_DOMAIN.length;
  for (let i = 0; i < values.length; i++) size += AAD_KEY_BYTES[i].length + 4 + Buffer.byteLength(values[i], 'utf8');
  const out = Buffer.allocUnsafe(size);
  let offset = AAD_DOMAIN.copy(out, 0);
  for (let i = 0; i < values.length; i++) {
    offset += AAD_KEY_BYTES[i].copy(out, offset);
    const n = out.write(values[i], offset + 4, 'utf8');
    out.writeUInt32BE(n, offset);
    offset += 4 + n;
  }
  return out;
}

/** One length-prefixed entry of the associated data (key name, then value). */
function aadEntry(index: number, value: string): Buffer {
  const name = AAD_KEY_BYTES[index];
  const out = Buffer.allocUnsafe(name.length + 4 + Buffer.byteLength(value, 'utf8'));
  name.copy(out, 0);
  const n = out.write(value, name.length + 4, 'utf8');
  out.writeUInt32BE(n, name.length);
  return out;
}

/**
 * The associated data of `fieldAad` comes in three parts a page of reads
 * can reuse: per document (domain, collection, document id), per field,
 * and per data key (format, key id, version, and the key's tenant, which
 * the caller has checked is the document's). Their concatenation is byte
 * for byte `fieldAad` (a test pins it).
 */
export function aadDocumentPart(collection: string, documentId: string): Buffer {
  let head = collectionParts.get(collection);
  if (!head) {
    head = Buffer.concat([AAD_DOMAIN, aadEntry(0, requireString('collection', collection))]);
    // Collection names come from model declarations (a handful); never from stored data.
    if (collectionParts.size < 256) collectionParts.set(collection, head);
  }
  const id = requireString('documentId', documentId);
  const name = AAD_KEY_BYTES[1];
  // One allocation per document: this runs for every document of every page.
  const out = Buffer.allocUnsafe(head.length + name.length + 4 + Buffer.byteLength(id, 'utf8'));
  let offset = head.copy(out, 0);
  offset += name.copy(out, offset);
  const n = out.write(id, offset + 4, 'utf8');
  out.writeUInt32BE(n, offset);
  return out;
}

const collectionParts = new Map<string, Buffer>();

const fieldParts = new Map<string, Buffer>();
function aadFieldPart(field: string): Buffer {
  let part = fieldParts.get(field);
  if (!part) {
    part = aadEntry(2, requireString('field', field));
    // Field names come from model declarations (a few dozen); never from stored data.
    if (fieldParts.size < 1024) fieldParts.set(field, part);
  }
  return part;
}

const keyParts = new WeakMap<DataKey, Buffer>();
function aadKeyPart(key: DataKey): Buffer {
  let part = keyParts.get(key);
  if (!part) {
    part = Buffer.concat([aadEntry(3, String(ENVELOPE_FORMAT)), aadEntry(4, key.id), aadEntry(5, String(key.version)), aadEntry(6, requireString('tenantId', key.tenantId))]);
    keyParts.set(key, part);
  }
  return part;
}

function f64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(n);
  return b;
}

function encodePlain(value: PlainValue): Buffer {
  switch (typeof value) {
    case 'string':
      return Buffer.concat([Buffer.of(0x01), Buffer.from(value, 'utf8')]);
    case 'number':
      return Buffer.concat([Buffer.of(0x02), f64(value)]);
    case 'boolean':
      return Buffer.of(0x03, value ? 1 : 0);
    case 'object': {
      if (value === null) break;
      if (value instanceof Date) {
        if (Number.isNaN(value.getTime())) throw new UnsupportedValueError('invalid Date');
        return Buffer.concat([Buffer.of(0x05), f64(value.getTime())]);
      }
      const proto = Object.getPrototypeOf(value) as unknown;
      if (!Array.isArray(value) && proto !== Object.prototype && proto !== null) throw new UnsupportedValueError(value.constructor?.name ?? 'object');
      return Buffer.concat([Buffer.of(0x04), Buffer.from(JSON.stringify(value), 'utf8')]);
    }
    default:
  }
  throw new UnsupportedValueError(value === null ? 'null' : typeof value);
}

/** The value encoded in `bytes[start, end)` (a whole field's plaintext, or one value of a record: no copies). */
function decodePlain(bytes: Buffer, start = 0, end = bytes.length): PlainValue {
  const size = end - start - 1;
  switch (bytes[start]) {
    case 0x01:
      return bytes.toString('utf8', start + 1, end);
    case 0x02:
      if (size !== 8) break;
      return bytes.readDoubleBE(start + 1);
    case 0x03:
      if (size !== 1) break;
      return bytes[start + 1] === 1;
    case 0x04:
      try {
        return JSON.parse(bytes.toString('utf8', start + 1, end)) as PlainValue;
      } catch {
        break;
      }
    case 0x05:
      if (size !== 8) break;
      return new Date(bytes.readDoubleBE(start + 1));
    default:
  }
  throw new DecryptionFailedError('MALFORMED');
}

/**
 * A record: `0x06`, then per path (sorted) `u16 length ‖ path (UTF-8) ‖ u32
 * length ‖ value`, each value encoded exactly as a field's plaintext, so
 * every type round-trips as it does alone (a Date inside JSON would come
 * back a string; a top-level NaN a null).
 */
function encodeRecord(values: PlainRecord): Buffer {
  const parts: Buffer[] = [Buffer.of(RECORD_TYPE)];
  for (const path of [...values.keys()].sort()) {
    const name = Buffer.from(path, 'utf8');
    if (name.length === 0 || name.length > 0xffff) throw new UnsupportedValueError('record path');
    const value = encodePlain(values.get(path)!);
    const head = Buffer.allocUnsafe(6 + name.length);
    head.writeUInt16BE(name.length, 0);
    name.copy(head, 2);
    head.writeUInt32BE(value.length, 2 + name.length);
    parts.push(head, value);
  }
  return Buffer.concat(parts);
}

function decodeRecord(bytes: Buffer): Map<string, PlainValue> {
  if (bytes[0] !== RECORD_TYPE) throw new DecryptionFailedError('MALFORMED');
  const out = new Map<string, PlainValue>();
  let at = 1;
  while (at < bytes.length) {
    if (at + 2 > bytes.length) throw new DecryptionFailedError('MALFORMED');
    const nameLength = bytes.readUInt16BE(at);
    at += 2;
    if (nameLength === 0 || at + nameLength + 4 > bytes.length) throw new DecryptionFailedError('MALFORMED');
    const path = bytes.toString('utf8', at, at + nameLength);
    at += nameLength;
    const valueLength = bytes.readUInt32BE(at);
    at += 4;
    if (valueLength === 0 || at + valueLength > bytes.length || out.has(path)) throw new DecryptionFailedError('MALFORMED');
    // decodePlain refuses a record inside a record (type 0x06 is not one of its types).
    out.set(path, decodePlain(bytes, at, at + valueLength));
    at += valueLength;
  }
  return out;
}

/** The bytes of a stored envelope: a BSON Binary, a Buffer or a Uint8Array. */
export function envelopeBytes(stored: unknown): Buffer {
  if (stored instanceof Binary) {
    if (stored.sub_type !== ENVELOPE_SUBTYPE) throw new DecryptionFailedError('MALFORMED');
    const bytes = stored.buffer.subarray(0, stored.position);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  if (stored instanceof Uint8Array) return Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
  throw new DecryptionFailedError('MALFORMED');
}

function parseEnvelope(stored: unknown): { bytes: Buffer; ref: EnvelopeKeyRef } {
  const bytes = envelopeBytes(stored);
  if (bytes.length < ENVELOPE_HEADER_BYTES + 1 || bytes[0] !== ENVELOPE_FORMAT) throw new DecryptionFailedError('MALFORMED');
  return { bytes, ref: { keyId: bytes.toString('hex', 1, 17), version: bytes.readUInt32BE(17) } };
}

/** Reads the key reference of an envelope; throws DECRYPTION_FAILED (MALFORMED) for anything else. */
export function readKeyRef(stored: unknown): EnvelopeKeyRef {
  return parseEnvelope(stored).ref;
}

// Format byte, key id and version of a data key: the same 21 bytes in front of every envelope it makes.
const headers = new WeakMap<DataKey, Buffer>();
function headerOf(key: DataKey): Buffer {
  let header = headers.get(key);
  if (!header) {
    header = Buffer.alloc(21);
    header[0] = ENVELOPE_FORMAT;
    if (Buffer.from(key.id, 'hex').copy(header, 1) !== 16) throw new TypeError('data key id must be 16 bytes of hex');
    header.writeUInt32BE(key.version, 17);
    headers.set(key, header);
  }
  return header;
}

function seal(plaintext: Buffer, key: DataKey, ctx: FieldContext): Binary {
  const aad = fieldAad(ctx, { keyId: key.id, version: key.version });
  const nonce = randomNonce();
  const cipher = createCipheriv('aes-256-gcm', key.key, nonce, { authTagLength: TAG });
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return new Binary(Buffer.concat([headerOf(key), nonce, cipher.getAuthTag(), body]), ENVELOPE_SUBTYPE);
}

/** Encrypts with a given data key (no vault): the primitive under `FieldEncryptor.encryptValue`. */
export function sealValue(plain: PlainValue, key: DataKey, ctx: FieldContext): Binary {
  return seal(encodePlain(plain), key, ctx);
}

/**
 * Encrypts the values of one document together (a document envelope): one
 * envelope, bound to the document as a field's is (tenant, collection,
 * document id, key), with DOCUMENT_FIELD as its field. An empty record is
 * refused: store no envelope instead.
 */
export function sealRecord(values: PlainRecord, key: DataKey, ctx: Omit<FieldContext, 'field'>): Binary {
  if (values.size === 0) throw new UnsupportedValueError('empty record');
  return seal(encodeRecord(values), key, { ...ctx, field: DOCUMENT_FIELD });
}

function decrypt(bytes: Buffer, key: DataKey, aad: Buffer): Buffer {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.key, bytes.subarray(21, 33), { authTagLength: TAG });
    decipher.setAAD(aad);
    decipher.setAuthTag(bytes.subarray(33, 49));
    const plain = decipher.update(bytes.subarray(49));
    // GCM is a stream mode: final() only checks the tag and returns nothing more.
    decipher.final();
    return plain;
  } catch {
    throw new DecryptionFailedError('AUTHENTICATION');
  }
}

function open(bytes: Buffer, ref: EnvelopeKeyRef, key: DataKey, ctx: FieldContext): Buffer {
  if (ref.keyId !== key.id || ref.version !== key.version) throw new DecryptionFailedError('KEY_NOT_FOUND');
  return decrypt(bytes, key, fieldAad(ctx, ref));
}

/** The plaintext bytes of envelope `bytes` at `field`, on the fast path's associated data. */
function openFast(bytes: Buffer, key: DataKey, documentPart: Buffer, field: string): Buffer {
  if (bytes.length < ENVELOPE_HEADER_BYTES + 1 || bytes.compare(headerOf(key), 0, 21, 0, 21) !== 0) {
    throw new DecryptionFailedError(bytes.length < ENVELOPE_HEADER_BYTES + 1 || bytes[0] !== ENVELOPE_FORMAT ? 'MALFORMED' : 'KEY_NOT_FOUND');
  }
  const fieldPart = aadFieldPart(field);
  const keyPart = aadKeyPart(key);
  return decrypt(bytes, key, Buffer.concat([documentPart, fieldPart, keyPart], documentPart.length + fieldPart.length + keyPart.length));
}

/**
 * The fast path of a page of reads: opens envelope `bytes` (from
 * `envelopeBytes`) of `field` with `key`, given the document's part of the
 * associated data (`aadDocumentPart`). The caller has checked that the key
 * belongs to the document's tenant (and subject); the key id and version
 * in the envelope are checked here. Same result and errors as `openValue`.
 */
export function openEnvelope(bytes: Buffer, key: DataKey, documentPart: Buffer, field: string): PlainValue {
  return decodePlain(openFast(bytes, key, documentPart, field));
}

/** `openEnvelope` for a document envelope (`sealRecord`): the record's values by path. */
export function openRecordEnvelope(bytes: Buffer, key: DataKey, documentPart: Buffer): Map<string, PlainValue> {
  return decodeRecord(openFast(bytes, key, documentPart, DOCUMENT_FIELD));
}

/** Decrypts with a given data key (no vault); the key must be the one the envelope names. */
export function openValue(stored: unknown, key: DataKey, ctx: FieldContext): PlainValue {
  const { bytes, ref } = parseEnvelope(stored);
  return decodePlain(open(bytes, ref, key, ctx));
}

/** `openValue` for a document envelope (`sealRecord`). */
export function openRecord(stored: unknown, key: DataKey, ctx: Omit<FieldContext, 'field'>): Map<string, PlainValue> {
  const { bytes, ref } = parseEnvelope(stored);
  return decodeRecord(open(bytes, ref, key, { ...ctx, field: DOCUMENT_FIELD }));
}

export interface FieldEncryptor {
  /**
   * Encrypts `plain` for the field `ctx` names, under the current key of
   * `ctx.subjectId` (personal data) or of the tenant. Throws
   * `UnsupportedValueError` for null, undefined, functions, class instances.
   */
  encryptValue(plain: PlainValue, ctx: FieldContext): Promise<Binary>;
  /**
   * Decrypts an envelope stored at `ctx` with the key version it names.
   * Throws `DecryptionFailedError` (code DECRYPTION_FAILED, fixed message)
   * when it was made for another place, was tampered with, or its key is
   * unknown, of another tenant or subject, or destroyed.
   */
  decryptValue<T extends PlainValue = PlainValue>(envelope: unknown, ctx: FieldContext): Promise<T>;
}

export interface FieldEncryptorOptions {
  vault: KeyVault;
}

/** Field encryption over a key vault: what a mongoose plugin or a service calls. */
export function createFieldEncryptor({ vault }: FieldEncryptorOptions): FieldEncryptor {
  return {
    async encryptValue(plain, ctx) {
      const key = await vault.dataKeyFor({ tenantId: ctx.tenantId, subjectId: ctx.subjectId });
      return sealValue(plain, key, ctx);
    },
    async decryptValue<T extends PlainValue = PlainValue>(envelope: unknown, ctx: FieldContext): Promise<T> {
      const { bytes, ref } = parseEnvelope(envelope);
      const key = await vault.dataKeyById(ref.keyId);
      // The envelope names a key of another tenant or subject: it was not made for this place.
      if (key.tenantId !== ctx.tenantId) throw new DecryptionFailedError('KEY_NOT_FOUND');
      if (ctx.subjectId !== undefined && key.subjectId !== ctx.subjectId) throw new DecryptionFailedError('KEY_NOT_FOUND');
      return openEnvelope(bytes, key, aadDocumentPart(ctx.collection, docId(ctx.documentId)), ctx.field) as T;
    },
  };
}
