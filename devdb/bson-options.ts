/**
 * The one BSON (de)serialisation configuration devdb uses everywhere: on the
 * wire, in the journal and in snapshots, so a document reads back the same
 * way whichever path it took.
 *
 * Internal representation: every value keeps its BSON type on a round trip.
 * - Int32 becomes a JS number (bson writes integral numbers in int32 range
 *   back as Int32); a non-integral Double becomes a JS number too (written
 *   back as Double).
 * - A Double holding a whole number stays a `Double`, a Long stays a `Long`
 *   (exact, any 64-bit value), Decimal128 stays a `Decimal128`: devdb's
 *   comparator and numeric operators understand them (numeric.ts).
 * - Binary stays `Binary` (no Buffer promotion) so UUIDs keep their subtype.
 */
import { deserialize, serialize, type Document } from 'bson';

export const DESERIALIZE_OPTIONS = {
  promoteLongs: false,
  promoteValues: false,
  promoteBuffers: false,
  bsonRegExp: false,
  validation: { utf8: true },
} as const;

type Tagged = { _bsontype?: string; value?: number };

function normalise(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = normalise(v[i]);
    return v;
  }
  const tag = (v as Tagged)._bsontype;
  if (tag === 'Int32') return (v as Tagged).value;
  if (tag === 'Double') {
    const n = (v as Tagged).value as number;
    return Number.isInteger(n) ? v : n;
  }
  if (tag !== undefined || v instanceof Date || v instanceof RegExp) return v;
  const doc = v as Document;
  for (const k of Object.keys(doc)) doc[k] = normalise(doc[k]);
  return doc;
}

export const SERIALIZE_OPTIONS = {
  checkKeys: false,
  serializeFunctions: false,
  ignoreUndefined: false,
} as const;

export function decode(buf: Uint8Array): Document {
  return normalise(deserialize(buf, DESERIALIZE_OPTIONS)) as Document;
}

export function encode(doc: Document): Uint8Array {
  return serialize(doc, SERIALIZE_OPTIONS);
}
