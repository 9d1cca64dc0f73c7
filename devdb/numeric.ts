/**
 * Numbers as MongoDB compares them: Int32, Long and Double arrive as JS
 * numbers (see bson-options.ts); Decimal128 stays exact. Comparison across the
 * two is exact (BigInt rationals), and arithmetic involving a Decimal128 stays
 * decimal, as in mongod.
 */
import { Decimal128, Long } from 'bson';
import { badValue } from './errors';

export type Numeric = number | Decimal128;

export function isDecimal(v: unknown): v is Decimal128 {
  return v instanceof Decimal128 || (typeof v === 'object' && v !== null && (v as { _bsontype?: string })._bsontype === 'Decimal128');
}

export function isNumeric(v: unknown): v is Numeric {
  return typeof v === 'number' || isDecimal(v);
}

/** A Long that did not fit in 53 bits (bson leaves those as Long): refused rather than rounded. */
export function isUnsafeLong(v: unknown): boolean {
  return v instanceof Long || (typeof v === 'object' && v !== null && (v as { _bsontype?: string })._bsontype === 'Long');
}

/** Exact finite value as coefficient × 10^exponent, or a special. */
type Exact = { kind: 'finite'; coef: bigint; exp10: number; exp2: number } | { kind: 'nan' } | { kind: 'inf'; sign: 1 | -1 };

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);

function exactOfNumber(n: number): Exact {
  if (Number.isNaN(n)) return { kind: 'nan' };
  if (!Number.isFinite(n)) return { kind: 'inf', sign: n > 0 ? 1 : -1 };
  if (Number.isInteger(n) && Number.isSafeInteger(n)) return { kind: 'finite', coef: BigInt(n), exp10: 0, exp2: 0 };
  f64[0] = n;
  const bits = u64[0];
  const sign = bits >> 63n ? -1n : 1n;
  const expBits = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & 0xfffffffffffffn;
  let exp2: number;
  if (expBits === 0) exp2 = -1074;
  else {
    mant |= 1n << 52n;
    exp2 = expBits - 1075;
  }
  return { kind: 'finite', coef: sign * mant, exp10: 0, exp2 };
}

function exactOfDecimal(d: Decimal128): Exact {
  const s = d.toString();
  if (s === 'NaN' || s === '-NaN') return { kind: 'nan' };
  if (s === 'Infinity') return { kind: 'inf', sign: 1 };
  if (s === '-Infinity') return { kind: 'inf', sign: -1 };
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:E([+-]?\d+))?$/i.exec(s);
  if (!m) throw badValue(`cannot read Decimal128 ${s}`);
  const digits = (m[2] + (m[3] ?? '')).replace(/^0+(?=\d)/, '');
  const exp10 = (m[4] ? parseInt(m[4], 10) : 0) - (m[3]?.length ?? 0);
  return { kind: 'finite', coef: (m[1] ? -1n : 1n) * BigInt(digits), exp10, exp2: 0 };
}

function exact(v: Numeric): Exact {
  return typeof v === 'number' ? exactOfNumber(v) : exactOfDecimal(v);
}

function scaled(e: Extract<Exact, { kind: 'finite' }>, min10: number, min2: number): bigint {
  let c = e.coef;
  if (e.exp10 > min10) c *= 10n ** BigInt(e.exp10 - min10);
  if (e.exp2 > min2) c *= 2n ** BigInt(e.exp2 - min2);
  return c;
}

/** Total order on numbers as MongoDB sorts them: NaN lowest, then -Inf … +Inf; 5 == 5.0 == Decimal("5.00"). */
export function compareNumeric(a: Numeric, b: Numeric): number {
  if (typeof a === 'number' && typeof b === 'number') {
    if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : -1;
    if (Number.isNaN(b)) return 1;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  const x = exact(a);
  const y = exact(b);
  if (x.kind === 'nan') return y.kind === 'nan' ? 0 : -1;
  if (y.kind === 'nan') return 1;
  if (x.kind === 'inf') return y.kind === 'inf' ? Math.sign(x.sign - y.sign) : x.sign;
  if (y.kind === 'inf') return -y.sign;
  const min10 = Math.min(x.exp10, y.exp10);
  const min2 = Math.min(x.exp2, y.exp2);
  const cx = scaled(x, min10, min2);
  const cy = scaled(y, min10, min2);
  return cx < cy ? -1 : cx > cy ? 1 : 0;
}

/** Canonical text for equal numbers (used in index keys): equal values, equal keys. */
export function numericKey(v: Numeric): string {
  if (typeof v === 'number') {
    if (Object.is(v, -0)) return '0';
    return String(v);
  }
  const n = Number(v.toString());
  // A decimal that is exactly a double shares its key with that double.
  if (compareNumeric(v, n) === 0) return numericKey(n);
  const e = exactOfDecimal(v);
  if (e.kind !== 'finite') return e.kind === 'nan' ? 'NaN' : String(e.sign * Infinity);
  let { coef, exp10 } = e;
  while (coef !== 0n && coef % 10n === 0n) {
    coef /= 10n;
    exp10++;
  }
  return `${coef}e${exp10}`;
}

function toDecimal(v: Numeric): { coef: bigint; exp10: number } {
  const d = typeof v === 'number' ? Decimal128.fromString(String(v)) : v;
  const e = exactOfDecimal(d);
  if (e.kind !== 'finite') throw badValue('arithmetic on a non-finite Decimal128 is not supported by devdb');
  return { coef: e.coef, exp10: e.exp10 };
}

function fromDecimal(coef: bigint, exp10: number): Decimal128 {
  return Decimal128.fromStringWithRounding(`${coef}E${exp10}`);
}

export function addNumeric(a: Numeric, b: Numeric): Numeric {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  const x = toDecimal(a);
  const y = toDecimal(b);
  const e = Math.min(x.exp10, y.exp10);
  return fromDecimal(x.coef * 10n ** BigInt(x.exp10 - e) + y.coef * 10n ** BigInt(y.exp10 - e), e);
}

export function mulNumeric(a: Numeric, b: Numeric): Numeric {
  if (typeof a === 'number' && typeof b === 'number') return a * b;
  const x = toDecimal(a);
  const y = toDecimal(b);
  return fromDecimal(x.coef * y.coef, x.exp10 + y.exp10);
}

export function toNumber(v: Numeric): number {
  return typeof v === 'number' ? v : Number(v.toString());
}
