/**
 * Numbers as MongoDB compares and computes them. Stored values are JS
 * numbers (Int32, non-integral Double), `Double` wrappers (whole-number
 * doubles), `Long` and `Decimal128` (see bson-options.ts). Comparison across
 * all of them is exact (BigInt rationals); arithmetic widens the result type
 * as mongod does: int32 → long on overflow, anything with a double is a
 * double, anything with a decimal is a decimal.
 */
import { Decimal128, Double, Long } from 'bson';
import { badValue } from './errors';

export type Numeric = number | Decimal128 | Long | Double;

type Tagged = { _bsontype?: string };

const tagOf = (v: unknown): string | undefined => (typeof v === 'object' && v !== null ? (v as Tagged)._bsontype : undefined);

export function isDecimal(v: unknown): v is Decimal128 {
  return tagOf(v) === 'Decimal128';
}

export function isLong(v: unknown): v is Long {
  return tagOf(v) === 'Long';
}

export function isDoubleWrapper(v: unknown): v is Double {
  return tagOf(v) === 'Double';
}

export function isNumeric(v: unknown): v is Numeric {
  if (typeof v === 'number') return true;
  const t = tagOf(v);
  return t === 'Decimal128' || t === 'Long' || t === 'Double' || t === 'Int32';
}

/** Kept for callers that refuse unsupported values; every 64-bit integer is supported now. */
export function isUnsafeLong(_v: unknown): boolean {
  return false;
}

/** 1 int, 2 long, 3 double, 4 decimal: the wider type wins in arithmetic. */
function rank(v: Numeric): number {
  if (typeof v === 'number') return Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31 ? 1 : 3;
  const t = tagOf(v);
  if (t === 'Long') return 2;
  if (t === 'Decimal128') return 4;
  if (t === 'Int32') return 1;
  return 3;
}

/** Exact finite value as coef × 10^exp10 × 2^exp2, or a special. */
type Exact = { kind: 'finite'; coef: bigint; exp10: number; exp2: number } | { kind: 'nan' } | { kind: 'inf'; sign: 1 | -1 };

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);

function exactOfNumber(n: number): Exact {
  if (Number.isNaN(n)) return { kind: 'nan' };
  if (!Number.isFinite(n)) return { kind: 'inf', sign: n > 0 ? 1 : -1 };
  if (Number.isSafeInteger(n)) return { kind: 'finite', coef: BigInt(n), exp10: 0, exp2: 0 };
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
  if (typeof v === 'number') return exactOfNumber(v);
  const t = tagOf(v);
  if (t === 'Decimal128') return exactOfDecimal(v as Decimal128);
  if (t === 'Long') return { kind: 'finite', coef: (v as Long).toBigInt(), exp10: 0, exp2: 0 };
  return exactOfNumber((v as unknown as { value: number }).value);
}

function scaled(e: Extract<Exact, { kind: 'finite' }>, min10: number, min2: number): bigint {
  let c = e.coef;
  if (e.exp10 > min10) c *= 10n ** BigInt(e.exp10 - min10);
  if (e.exp2 > min2) c *= 2n ** BigInt(e.exp2 - min2);
  return c;
}

/** Total order on numbers as MongoDB sorts them: NaN lowest, then -Inf … +Inf; 5 == Long(5) == 5.0 == Decimal("5.00"). */
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

/** Canonical text for equal numbers (index keys): equal values, equal keys, whatever their type. */
export function numericKey(v: Numeric): string {
  if (typeof v === 'number') return Object.is(v, -0) ? '0' : String(v);
  const e = exact(v);
  if (e.kind === 'nan') return 'NaN';
  if (e.kind === 'inf') return String(e.sign * Infinity);
  const n = toNumber(v);
  // A value that is exactly a double shares the double's key.
  if (compareNumeric(v, n) === 0) return numericKey(n);
  let { coef, exp10 } = e;
  if (e.exp2 !== 0) return `${coef}p${e.exp2}`;
  while (coef !== 0n && coef % 10n === 0n) {
    coef /= 10n;
    exp10++;
  }
  return `${coef}e${exp10}`;
}

export function toNumber(v: Numeric): number {
  if (typeof v === 'number') return v;
  const t = tagOf(v);
  if (t === 'Long') return (v as Long).toNumber();
  if (t === 'Decimal128') return Number((v as Decimal128).toString());
  return (v as unknown as { value: number }).value;
}

function toDecimal(v: Numeric): { coef: bigint; exp10: number } {
  if (isDecimal(v)) {
    const e = exactOfDecimal(v);
    if (e.kind !== 'finite') throw badValue('arithmetic on a non-finite Decimal128 is not supported by devdb');
    return { coef: e.coef, exp10: e.exp10 };
  }
  if (isLong(v)) return { coef: v.toBigInt(), exp10: 0 };
  return toDecimal(Decimal128.fromString(String(toNumber(v))));
}

function fromDecimal(coef: bigint, exp10: number): Decimal128 {
  return Decimal128.fromStringWithRounding(`${coef}E${exp10}`);
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** A double result, as a wrapper when whole so it is written back as a double. */
function asDouble(n: number): Numeric {
  return Number.isInteger(n) ? new Double(n) : n;
}

function integerResult(r: bigint, atLeastLong: boolean): Numeric {
  if (r < INT64_MIN || r > INT64_MAX) return asDouble(Number(r));
  if (!atLeastLong && r >= -(2n ** 31n) && r < 2n ** 31n) return Number(r);
  return Long.fromBigInt(r);
}

function arith(a: Numeric, b: Numeric, op: 'add' | 'mul'): Numeric {
  const t = Math.max(rank(a), rank(b));
  if (t === 4) {
    const x = toDecimal(a);
    const y = toDecimal(b);
    if (op === 'mul') return fromDecimal(x.coef * y.coef, x.exp10 + y.exp10);
    const e = Math.min(x.exp10, y.exp10);
    return fromDecimal(x.coef * 10n ** BigInt(x.exp10 - e) + y.coef * 10n ** BigInt(y.exp10 - e), e);
  }
  if (t === 3) return asDouble(op === 'add' ? toNumber(a) + toNumber(b) : toNumber(a) * toNumber(b));
  const x = isLong(a) ? a.toBigInt() : BigInt(toNumber(a));
  const y = isLong(b) ? b.toBigInt() : BigInt(toNumber(b));
  return integerResult(op === 'add' ? x + y : x * y, t === 2);
}

export function addNumeric(a: Numeric, b: Numeric): Numeric {
  if (typeof a === 'number' && typeof b === 'number' && (!Number.isInteger(a) || !Number.isInteger(b))) return a + b;
  return arith(a, b, 'add');
}

export function mulNumeric(a: Numeric, b: Numeric): Numeric {
  return arith(a, b, 'mul');
}

/** An average is a double unless a decimal is involved. */
export function divideToDouble(sum: Numeric, count: number): Numeric {
  if (isDecimal(sum)) return Decimal128.fromStringWithRounding(String(toNumber(sum) / count));
  return toNumber(sum) / count;
}
