/**
 * Canonical bytes of a context (a string → string map), used as AES-GCM
 * associated data for wrapped data keys and encrypted fields.
 *
 * Layout: the domain label, then every entry sorted by key, each part as a
 * 4-byte big-endian length followed by its UTF-8 bytes:
 *
 *   len(domain) ‖ domain ‖ len(k1) ‖ k1 ‖ len(v1) ‖ v1 ‖ len(k2) ‖ …
 *
 * Length prefixes make the encoding injective (no separator a value could
 * smuggle in: `{a: "b|c"}` and `{a: "b", c: ""}` never collide), sorting
 * makes it independent of property order. Changing this encoding makes
 * every stored ciphertext undecryptable: test/crypto pins it with a vector.
 */

export type Context = Readonly<Record<string, string>>;

export function canonicalContext(domain: string, context: Context): Buffer {
  const parts = [domain];
  for (const key of Object.keys(context).sort()) {
    const value = context[key];
    // A number or an object here would be encoded differently by each caller: refuse it.
    if (typeof value !== 'string') throw new TypeError(`context value "${key}" must be a string`);
    parts.push(key, value);
  }
  let size = 0;
  for (const p of parts) size += 4 + Buffer.byteLength(p, 'utf8');
  // One allocation, every byte written below (this runs once per encrypted field).
  const out = Buffer.allocUnsafe(size);
  let offset = 0;
  for (const p of parts) {
    const n = out.write(p, offset + 4, 'utf8');
    out.writeUInt32BE(n, offset);
    offset += 4 + n;
  }
  return out;
}
