/**
 * BSON values as MongoDB orders and compares them: the type brackets
 * (null < numbers < strings < objects < arrays < binary < ObjectId < bool <
 * date < timestamp < regex), a canonical key for index maps, and a document
 * clone that keeps BSON value objects intact.
 */
import type { Document } from 'bson';
import { compareNumeric, numericKey, type Numeric } from './numeric';

type Bsonish = { _bsontype?: string };

function bsonType(v: unknown): string | undefined {
  return typeof v === 'object' && v !== null ? (v as Bsonish)._bsontype : undefined;
}

/** MongoDB's comparison/sort order of types. */
export function typeBracket(v: unknown): number {
  if (v === undefined || v === null) return 2;
  switch (typeof v) {
    case 'number':
      return 3;
    case 'string':
      return 4;
    case 'boolean':
      return 9;
    case 'bigint':
      return 3;
    default:
      break;
  }
  if (v instanceof Date) return 10;
  if (v instanceof RegExp) return 12;
  if (Array.isArray(v)) return 6;
  switch (bsonType(v)) {
    case 'MinKey':
      return 1;
    case 'MaxKey':
      return 13;
    case 'Decimal128':
    case 'Long':
    case 'Int32':
    case 'Double':
      return 3;
    case 'BSONSymbol':
      return 4;
    case 'Binary':
      return 7;
    case 'ObjectId':
      return 8;
    case 'Timestamp':
      return 11;
    case 'BSONRegExp':
      return 12;
    default:
      return 5;
  }
}

function cmp<T extends string | number | bigint>(a: T, b: T): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function bytesOf(v: unknown): Uint8Array {
  const t = bsonType(v);
  if (t === 'Binary') return (v as { buffer: Uint8Array }).buffer;
  if (t === 'ObjectId') return (v as { id: Uint8Array }).id;
  return new Uint8Array();
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** Total order over BSON values as mongod compares them. */
export function compareValues(a: unknown, b: unknown): number {
  const ba = typeBracket(a);
  const bb = typeBracket(b);
  if (ba !== bb) return ba - bb;
  switch (ba) {
    case 1:
    case 2:
    case 13:
      return 0;
    case 3:
      return compareNumeric(a as Numeric, b as Numeric);
    case 4:
      return cmp(String(a), String(b));
    case 5: {
      const ka = Object.keys(a as object);
      const kb = Object.keys(b as object);
      const n = Math.min(ka.length, kb.length);
      for (let i = 0; i < n; i++) {
        const va = (a as Document)[ka[i]];
        const vb = (b as Document)[kb[i]];
        const byType = typeBracket(va) - typeBracket(vb);
        if (byType) return byType;
        const byName = cmp(ka[i], kb[i]);
        if (byName) return byName;
        const byValue = compareValues(va, vb);
        if (byValue) return byValue;
      }
      return ka.length - kb.length;
    }
    case 6: {
      const xa = a as unknown[];
      const xb = b as unknown[];
      const n = Math.min(xa.length, xb.length);
      for (let i = 0; i < n; i++) {
        const c = compareValues(xa[i], xb[i]);
        if (c) return c;
      }
      return xa.length - xb.length;
    }
    case 7: {
      const pa = bytesOf(a);
      const pb = bytesOf(b);
      if (pa.length !== pb.length) return pa.length - pb.length;
      const st = ((a as { sub_type: number }).sub_type ?? 0) - ((b as { sub_type: number }).sub_type ?? 0);
      return st || compareBytes(pa, pb);
    }
    case 8:
      return compareBytes(bytesOf(a), bytesOf(b));
    case 9:
      return Number(a) - Number(b);
    case 10:
      return cmp((a as Date).getTime(), (b as Date).getTime());
    case 11: {
      const ta = a as { t: number; i: number };
      const tb = b as { t: number; i: number };
      return cmp(ta.t, tb.t) || cmp(ta.i, tb.i);
    }
    case 12: {
      const ra = a as RegExp;
      const rb = b as RegExp;
      return cmp(ra.source, rb.source) || cmp(ra.flags, rb.flags);
    }
    default:
      return 0;
  }
}

export function valuesEqual(a: unknown, b: unknown): boolean {
  return compareValues(a, b) === 0;
}

/** Canonical string for a value: equal values (by MongoDB's comparison) give equal keys. */
export function keyOf(v: unknown): string {
  const bracket = typeBracket(v);
  switch (bracket) {
    case 2:
      return 'z';
    case 3:
      return 'n' + numericKey(v as Numeric);
    case 4:
      return 's' + String(v);
    case 5: {
      const parts = Object.keys(v as object).map((k) => JSON.stringify(k) + ':' + keyOf((v as Document)[k]));
      return 'o{' + parts.join(',') + '}';
    }
    case 6:
      return 'a[' + (v as unknown[]).map(keyOf).join(',') + ']';
    case 7:
      return 'x' + ((v as { sub_type: number }).sub_type ?? 0) + ':' + Buffer.from(bytesOf(v)).toString('base64');
    case 8:
      return 'i' + Buffer.from(bytesOf(v)).toString('hex');
    case 9:
      return v ? 'b1' : 'b0';
    case 10:
      return 'd' + (v as Date).getTime();
    case 11:
      return 't' + String(v);
    case 12:
      return 'r' + String(v);
    default:
      return 'k' + bracket;
  }
}

/** Deep copy of plain objects, arrays and Dates; BSON value objects are immutable and shared. */
export function cloneValue<T>(v: T): T {
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof Date) return new Date(v.getTime()) as T;
  if (Array.isArray(v)) return v.map(cloneValue) as T;
  if (bsonType(v) !== undefined || v instanceof RegExp) return v;
  const out: Document = {};
  for (const k of Object.keys(v as object)) out[k] = cloneValue((v as Document)[k]);
  return out as T;
}

/** Reads a dotted path without array traversal: the exact value stored there, or undefined. */
export function getPath(doc: unknown, path: string): unknown {
  let cur: unknown = doc;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Document)[part];
  }
  return cur;
}

/**
 * Values a dotted path reaches with MongoDB's array traversal (a.b over
 * [{b:1},{b:2}] gives 1 and 2). Missing gives [undefined].
 */
export function pathValues(doc: unknown, path: string): unknown[] {
  const parts = path.split('.');
  const out: unknown[] = [];
  const walk = (cur: unknown, i: number): void => {
    if (i === parts.length) {
      out.push(cur);
      return;
    }
    if (Array.isArray(cur)) {
      const idx = /^\d+$/.test(parts[i]) ? Number(parts[i]) : -1;
      if (idx >= 0) walk(cur[idx], i + 1);
      else for (const el of cur) if (el !== null && typeof el === 'object') walk(el, i);
      return;
    }
    if (cur === null || typeof cur !== 'object') {
      out.push(undefined);
      return;
    }
    walk((cur as Document)[parts[i]], i + 1);
  };
  walk(doc, 0);
  return out.length ? out : [undefined];
}
