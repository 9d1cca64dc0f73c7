/**
 * Blind indexes for equality search on encrypted fields, after CipherSweet:
 *
 *   field key = HKDF-SHA-256(tenant index root key, salt "tracksafe/blind-index/v1", info = field name)
 *   index     = HMAC-SHA-256(field key, normalise(value)), truncated to `bits`
 *
 * The index is deliberately short: with 2^bits well below the number of
 * distinct values, many values share an index, so the stored index does not
 * identify a value — and a lookup returns candidates that the caller
 * decrypts and filters (`lookupByBlindIndex` does both). Size `bits` with
 * `planBlindIndexBits`.
 *
 * Keys are per tenant (the root derives from the tenant's data key, see
 * `KeyVault.indexRootKey`) and per field, so equal values in two tenants or
 * two fields have unrelated indexes.
 */
import { createHmac, createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';
import { DecryptionFailedError } from './errors';
import type { KeyVault } from './key-vault';

export type Normaliser = (value: string) => string;

/** Lower-cased, trimmed, Unicode NFC: `"  Jane.Doe@Example.COM "` → `"jane.doe@example.com"`. */
export const normaliseEmail: Normaliser = (value) => value.normalize('NFC').trim().toLowerCase();

/**
 * Digits only, E.164-ish: `"+44 (20) 7946-0958"`, `"0044 20 7946 0958"` →
 * `"442079460958"` (a leading international `00` is dropped). National
 * formats are not expanded: store and search numbers in the same form.
 */
export const normalisePhone: Normaliser = (value) => {
  const trimmed = value.trim();
  const digits = trimmed.replace(/\D+/g, '');
  return !trimmed.startsWith('+') && digits.startsWith('00') ? digits.slice(2) : digits;
};

/** Trimmed and NFC, case kept: for identifiers compared exactly. */
export const normaliseExact: Normaliser = (value) => value.normalize('NFC').trim();

export const normalisers = { email: normaliseEmail, phone: normalisePhone, exact: normaliseExact } as const;

export interface BlindIndexSpec {
  /** The field's name, also the HKDF info: `recipient.email`. */
  field: string;
  /** Bits kept of the HMAC, 1–32; see `planBlindIndexBits`. */
  bits: number;
  normalise: Normaliser;
}

const SALT = Buffer.from('tracksafe/blind-index/v1', 'utf8');

/** The field's index key, derived from a tenant's index root. */
export function blindIndexKey(root: KeyObject, field: string): KeyObject {
  if (!field) throw new TypeError('field must be a non-empty string');
  return createSecretKey(Buffer.from(hkdfSync('sha256', root, SALT, Buffer.from(field, 'utf8'), 32)));
}

/**
 * The index of `value`: the first `bits` bits of the HMAC as lower-case
 * hex of ceil(bits / 8) bytes, unused low bits of the last byte zero.
 */
export function computeBlindIndex(fieldKey: KeyObject, spec: Pick<BlindIndexSpec, 'bits' | 'normalise'>, value: string): string {
  if (!Number.isInteger(spec.bits) || spec.bits < 1 || spec.bits > 32) throw new RangeError('blind index bits must be an integer from 1 to 32');
  const mac = createHmac('sha256', fieldKey).update(spec.normalise(value), 'utf8').digest();
  const bytes = Math.ceil(spec.bits / 8);
  const out = mac.subarray(0, bytes);
  const spare = bytes * 8 - spec.bits;
  if (spare) out[bytes - 1] &= 0xff << spare;
  return out.toString('hex');
}

export interface BlindIndexer {
  /** The index to store with (and to search by) `value` of `field` in `tenantId`. */
  indexFor(tenantId: string, field: string, value: string): Promise<string>;
  /** The field's spec (bits and normaliser). */
  spec(field: string): BlindIndexSpec;
}

/** Blind indexes of the declared fields over a key vault. */
export function createBlindIndexer(options: { vault: KeyVault; fields: BlindIndexSpec[] }): BlindIndexer {
  const specs = new Map(options.fields.map((f) => [f.field, f]));
  const spec = (field: string): BlindIndexSpec => {
    const s = specs.get(field);
    if (!s) throw new TypeError(`no blind index is declared for field ${field}`);
    return s;
  };
  return {
    spec,
    async indexFor(tenantId, field, value) {
      const s = spec(field);
      return computeBlindIndex(blindIndexKey(await options.vault.indexRootKey(tenantId), field), s, value);
    },
  };
}

export interface BlindIndexLookup<T> {
  indexer: BlindIndexer;
  tenantId: string;
  field: string;
  value: string;
  /** Fetches the candidates stored with `index` (e.g. `find({ tenantId, 'recipient.emailIdx': index })`). */
  find: (index: string) => Promise<T[]>;
  /**
   * Decrypts a candidate's field. Throwing `DecryptionFailedError` (a
   * shredded subject) drops the candidate; any other error fails the lookup.
   */
  reveal: (candidate: T) => Promise<string | null | undefined>;
}

/**
 * Equality search on an encrypted field: candidates by blind index, then
 * decrypted and compared after normalisation, so false positives (other
 * values with the same truncated index) are dropped.
 */
export async function lookupByBlindIndex<T>(q: BlindIndexLookup<T>): Promise<T[]> {
  const { normalise } = q.indexer.spec(q.field);
  const wanted = normalise(q.value);
  const candidates = await q.find(await q.indexer.indexFor(q.tenantId, q.field, q.value));
  const out: T[] = [];
  for (const c of candidates) {
    let plain: string | null | undefined;
    try {
      plain = await q.reveal(c);
    } catch (err) {
      if (err instanceof DecryptionFailedError) continue;
      throw err;
    }
    if (typeof plain === 'string' && normalise(plain) === wanted) out.push(c);
  }
  return out;
}

export interface BlindIndexPlan {
  /** Fewer bits than this: too many false positives to be worth an index. */
  min: number;
  /** More bits than this: the index starts to tell values apart (leaks). */
  max: number;
}

/**
 * Safe sizes for a new blind index, as CipherSweet's planner computes them.
 *
 * With R rows (the expected population) and indexes on the field of L_i bits
 * over input domains of K_i bits, the expected number of rows sharing one
 * combination of index values (the coincidence count) is
 *
 *   C = max(1, R) / 2^(Σ min(L_i, K_i))
 *
 * A useful and safe new index keeps C within [2, √R]: at least 2 so that no
 * index value points at one row, at most √R so that a lookup's candidates
 * stay few enough to decrypt and filter. `min` is the fewest bits with
 * C ≤ √R; `max` is the fewest bits with C ≤ 2 (CipherSweet's boundary,
 * counted as it does). For 50,000 rows and no other index: 8–15 bits.
 *
 * @param population expected rows (per tenant: the keys are per tenant)
 * @param existing other blind indexes on the same field: bits and input domain bits
 * @param inputDomainBits log2 of the number of distinct inputs of this index, rounded up (unbounded by default)
 * @throws RangeError when no size is safe
 */
export function planBlindIndexBits(population: number, existing: Array<{ bits: number; inputDomainBits?: number }> = [], inputDomainBits = Number.MAX_SAFE_INTEGER): BlindIndexPlan {
  if (!(population >= 1)) throw new RangeError('population must be at least 1');
  const used = existing.reduce((sum, e) => sum + Math.min(e.bits, e.inputDomainBits ?? Number.MAX_SAFE_INTEGER), 0);
  const coincidences = (bits: number) => population / 2 ** (used + Math.min(bits, inputDomainBits));
  const sqrtR = Math.sqrt(population);
  const boundary = Math.max(2, coincidences(257));
  let max = 0;
  for (let l = 256; l >= 1; l--) {
    if (coincidences(l) > boundary) {
      max = l + 1;
      break;
    }
  }
  if (!max) throw new RangeError('no blind index size is safe for this population and these indexes');
  let min = 1;
  for (let l = 1; l <= 256; l++) {
    const c = coincidences(l);
    if (c >= 2 && c <= sqrtR) {
      min = l;
      break;
    }
  }
  return { min: Math.min(min, max), max };
}
