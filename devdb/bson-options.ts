/**
 * The one BSON (de)serialisation configuration devdb uses everywhere: on the
 * wire, in the journal and in snapshots, so a document reads back the same
 * way whichever path it took.
 *
 * Internal representation ("plain form"):
 * - Int32 and Double become JS numbers; Long becomes a JS number when it fits
 *   in 53 bits. A Long that does not fit stays a `Long` and is refused by the
 *   command layer (BadValue) rather than silently rounded.
 * - Decimal128 stays a `Decimal128`; devdb's comparator and numeric
 *   operators understand it (see numeric.ts).
 * - Binary stays `Binary` (no Buffer promotion) so UUIDs keep their subtype.
 */
import { deserialize, serialize, type Document } from 'bson';

export const DESERIALIZE_OPTIONS = {
  promoteLongs: true,
  promoteValues: true,
  promoteBuffers: false,
  bsonRegExp: false,
  validation: { utf8: true },
} as const;

export const SERIALIZE_OPTIONS = {
  checkKeys: false,
  serializeFunctions: false,
  ignoreUndefined: false,
} as const;

export function decode(buf: Uint8Array): Document {
  return deserialize(buf, DESERIALIZE_OPTIONS);
}

export function encode(doc: Document): Uint8Array {
  return serialize(doc, SERIALIZE_OPTIONS);
}
