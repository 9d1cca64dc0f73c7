/**
 * Numeric BSON types (Int32, Long, Double, Decimal128) across queries,
 * sorts, unique indexes, `$inc`/`$mul` and `$sum`/`$avg`.
 *
 * MongoDB compares numbers by value whatever their BSON type, and widens
 * types in arithmetic: int32 + int32 stays int32 unless it overflows (then
 * long), int + long is long, anything + double is double, anything +
 * decimal is decimal. The assertions below are MongoDB's results; values go
 * in through the raw driver so each keeps the BSON type it was given, and
 * are read back with promoteValues/promoteLongs off to see the wire type.
 */
import mongoose from 'mongoose';
import { connectTestDb, rejection, type TestDb } from '../testkit';

const { Int32, Long, Double, Decimal128 } = mongoose.mongo;

let db: TestDb;
let seq = 0;

beforeAll(async () => {
  db = await connectTestDb('numeric');
});
afterAll(() => db.close());

/** A fresh collection per test, so counts stay exact. */
async function coll(docs: mongoose.mongo.Document[] = []) {
  const c = db.conn.db!.collection(`nums${++seq}`);
  if (docs.length) await c.insertMany(docs);
  return c;
}

/** The BSON type name a value arrived with (promoteValues: false). */
function bsonType(v: unknown): string {
  if (v && typeof v === 'object' && '_bsontype' in v) return (v as { _bsontype: string })._bsontype;
  return typeof v;
}
const num = (v: unknown) => Number(String(v));

const raw = { promoteValues: false, promoteLongs: false } as const;

const fives = () => [
  { t: 'int', v: new Int32(5) },
  { t: 'long', v: Long.fromNumber(5) },
  { t: 'double', v: new Double(5) },
  { t: 'decimal', v: Decimal128.fromString('5') },
  { t: 'decimal.00', v: Decimal128.fromString('5.00') },
  { t: 'string', v: '5' },
  { t: 'six', v: new Int32(6) },
];

describe('comparison across types', () => {
  test('{ v: 5 } matches Int32 5, Long 5, Double 5.0 and Decimal128 "5" / "5.00", not the string "5"', async () => {
    const c = await coll(fives());
    const ts = async (filter: mongoose.mongo.Filter<mongoose.mongo.Document>) =>
      (await c.find(filter).toArray()).map((d) => d.t).sort();
    const numericFives = ['decimal', 'decimal.00', 'double', 'int', 'long'];
    expect(await ts({ v: 5 })).toEqual(numericFives);
    expect(await ts({ v: Long.fromNumber(5) })).toEqual(numericFives);
    expect(await ts({ v: new Double(5) })).toEqual(numericFives);
    expect(await ts({ v: Decimal128.fromString('5.0') })).toEqual(numericFives);
    expect(await ts({ v: { $in: [5, 99] } })).toEqual(numericFives);
    expect(await ts({ v: { $ne: 5 } })).toEqual(['six', 'string']);
    expect(await ts({ v: '5' })).toEqual(['string']);
  });

  test('$gt / $lt / $gte compare values across types; strings never match a numeric range', async () => {
    const c = await coll([
      { v: new Int32(1) },
      { v: Long.fromNumber(3) },
      { v: new Double(2.5) },
      { v: Decimal128.fromString('4.75') },
      { v: new Int32(-2) },
      { v: Long.fromNumber(10) },
      { v: new Double(7.5) },
      { v: Decimal128.fromString('-1.5') },
      { v: '7' },
    ]);
    const vals = async (filter: mongoose.mongo.Filter<mongoose.mongo.Document>) =>
      (await c.find(filter).toArray()).map((d) => num(d.v)).sort((a, b) => a - b);
    expect(await vals({ v: { $gt: 2.5, $lt: 8 } })).toEqual([3, 4.75, 7.5]);
    expect(await vals({ v: { $gte: Decimal128.fromString('3') } })).toEqual([3, 4.75, 7.5, 10]);
    expect(await vals({ v: { $lt: Long.fromNumber(0) } })).toEqual([-2, -1.5]);
    expect(await vals({ v: { $lte: new Double(1) } })).toEqual([-2, -1.5, 1]);
    expect(await c.countDocuments({ v: { $gt: 0 } })).toBe(6);
  });

  test('sort orders mixed numeric types by value (missing and null first, strings after numbers)', async () => {
    const c = await coll([
      { k: 'a', v: new Int32(3) },
      { k: 'b', v: Long.fromNumber(10) },
      { k: 'c', v: new Double(2.5) },
      { k: 'd', v: Decimal128.fromString('7.25') },
      { k: 'e', v: new Int32(-1) },
      { k: 'f', v: Long.fromNumber(-5) },
      { k: 'g', v: Decimal128.fromString('3.5') },
      { k: 'h', v: 'zzz' },
      { k: 'i', v: null },
      { k: 'j' },
    ]);
    const asc = (await c.find({}, { sort: { v: 1, k: 1 } }).toArray()).map((d) => d.k);
    expect(asc).toEqual(['i', 'j', 'f', 'e', 'c', 'a', 'g', 'd', 'b', 'h']);
    const numeric = { k: { $in: ['a', 'b', 'c', 'd', 'e', 'f', 'g'] } };
    const desc = (await c.find(numeric, { sort: { v: -1 } }).toArray()).map((d) => d.k);
    expect(desc).toEqual(['b', 'd', 'g', 'a', 'c', 'e', 'f']);
    // aggregation sorts the same way
    const agg = await c.aggregate([{ $match: numeric }, { $sort: { v: 1 } }]).toArray();
    expect(agg.map((d) => d.k)).toEqual(['f', 'e', 'c', 'a', 'g', 'd', 'b']);
  });

  test("$type 'number' matches every numeric type, Decimal128 included", async () => {
    const c = await coll(fives());
    const ts = (await c.find({ v: { $type: 'number' } }).toArray()).map((d) => d.t).sort();
    expect(ts).toEqual(['decimal', 'decimal.00', 'double', 'int', 'long', 'six']);
    expect(await c.countDocuments({ v: { $type: ['decimal', 'string'] } })).toBe(3);
  });

  test('$type tells int, long, double and decimal apart', async () => {
    const c = await coll(fives());
    const ts = async (type: string) => (await c.find({ v: { $type: type } }).toArray()).map((d) => d.t).sort();
    expect(await ts('int')).toEqual(['int', 'six']);
    expect(await ts('long')).toEqual(['long']);
    expect(await ts('double')).toEqual(['double']);
    expect(await ts('decimal')).toEqual(['decimal', 'decimal.00']);
  });

  test('values keep their BSON type on a round trip', async () => {
    const c = await coll(fives());
    const docs = await c.find({ t: { $ne: 'string' } }, { ...raw, sort: { t: 1 } }).toArray();
    expect(docs.map((d) => [d.t, bsonType(d.v), String(d.v)])).toEqual([
      ['decimal', 'Decimal128', '5'],
      ['decimal.00', 'Decimal128', '5.00'],
      ['double', 'Double', '5'],
      ['int', 'Int32', '5'],
      ['long', 'Long', '5'],
      ['six', 'Int32', '6'],
    ]);
  });
});

describe('unique indexes and _id compare by value', () => {
  test('Int32 5, Long 5, Double 5.0 and Decimal128 "5.0" are one key in a unique index', async () => {
    const c = await coll();
    await c.createIndex({ k: 1 }, { unique: true });
    await c.insertOne({ k: new Int32(5) });
    for (const dup of [Long.fromNumber(5), new Double(5), Decimal128.fromString('5.0')]) {
      const err = await rejection(c.insertOne({ k: dup }));
      expect(err.code).toBe(11000);
    }
    await c.insertOne({ k: new Double(5.5) });
    expect(await c.countDocuments()).toBe(2);
    // an indexed equality lookup finds the Int32 key with any numeric type
    expect(await c.countDocuments({ k: Long.fromNumber(5) })).toBe(1);
    expect(await c.countDocuments({ k: Decimal128.fromString('5') })).toBe(1);
  });

  test('numeric _id values collide by value and are found by any numeric type', async () => {
    const c = await coll();
    await c.insertOne({ _id: new Int32(1) as any, name: 'one' });
    expect((await rejection(c.insertOne({ _id: new Double(1) as any }))).code).toBe(11000);
    expect((await c.findOne({ _id: Long.fromNumber(1) as any }))?.name).toBe('one');
    expect((await c.findOne({ _id: Decimal128.fromString('1.0') as any }))?.name).toBe('one');
  });
});

describe('$inc and $mul widen types as MongoDB does', () => {
  const incCase = async (start: unknown, by: unknown) => {
    const c = await coll([{ _id: 1 as any, v: start }]);
    await c.updateOne({ _id: 1 as any }, { $inc: { v: by } } as any);
    return (await c.findOne({ _id: 1 as any }, raw))!.v;
  };

  test('Int32 5 + Double 2.5 = Double 7.5', async () => {
    const v = await incCase(new Int32(5), new Double(2.5));
    expect(bsonType(v)).toBe('Double');
    expect(num(v)).toBe(7.5);
  });

  test('Int32 5 + Double 2.0 = Double 7 (the type widens even when the value is whole)', async () => {
    const v = await incCase(new Int32(5), new Double(2));
    expect(bsonType(v)).toBe('Double');
    expect(num(v)).toBe(7);
  });

  test('Int32 5 + Int32 3 = Int32 8', async () => {
    const v = await incCase(new Int32(5), new Int32(3));
    expect(bsonType(v)).toBe('Int32');
    expect(num(v)).toBe(8);
  });

  test('Int32 5 + Long 3 = Long 8', async () => {
    const v = await incCase(new Int32(5), Long.fromNumber(3));
    expect(bsonType(v)).toBe('Long');
    expect(num(v)).toBe(8);
  });

  test('Int32 max + 1 overflows into Long 2147483648', async () => {
    const v = await incCase(new Int32(2147483647), new Int32(1));
    expect(bsonType(v)).toBe('Long');
    expect(String(v)).toBe('2147483648');
  });

  test('Long 5 + Double 0.5 = Double 5.5', async () => {
    const v = await incCase(Long.fromNumber(5), new Double(0.5));
    expect(bsonType(v)).toBe('Double');
    expect(num(v)).toBe(5.5);
  });

  test('Int32 5 + Decimal128 "0.1" = Decimal128 "5.1"; decimals add exactly', async () => {
    const v = await incCase(new Int32(5), Decimal128.fromString('0.1'));
    expect(bsonType(v)).toBe('Decimal128');
    expect(num(v)).toBe(5.1);

    const exact = await incCase(Decimal128.fromString('0.1'), Decimal128.fromString('0.2'));
    expect(bsonType(exact)).toBe('Decimal128');
    expect(String(exact)).toBe('0.3');
  });

  test('$inc on a missing field creates it with the increment (and its type)', async () => {
    const c = await coll([{ _id: 1 as any }]);
    await c.updateOne({ _id: 1 as any }, { $inc: { v: Long.fromNumber(4) } } as any);
    const v = (await c.findOne({ _id: 1 as any }, raw))!.v;
    expect(bsonType(v)).toBe('Long');
    expect(num(v)).toBe(4);
  });

  test('$mul Int32 3 by Double 1.5 = Double 4.5', async () => {
    const c = await coll([{ _id: 1 as any, v: new Int32(3) }]);
    await c.updateOne({ _id: 1 as any }, { $mul: { v: new Double(1.5) } } as any);
    const v = (await c.findOne({ _id: 1 as any }, raw))!.v;
    expect(bsonType(v)).toBe('Double');
    expect(num(v)).toBe(4.5);
  });
});

describe('$sum and $avg across types', () => {
  const sumOf = async (values: unknown[]) => {
    const c = await coll(values.map((v) => ({ v })));
    const [row] = await c
      .aggregate([{ $group: { _id: null, s: { $sum: '$v' }, a: { $avg: '$v' } } }], raw)
      .toArray();
    return row;
  };

  test('Int32s sum to an Int32', async () => {
    const { s } = await sumOf([new Int32(1), new Int32(2), new Int32(3)]);
    expect(bsonType(s)).toBe('Int32');
    expect(num(s)).toBe(6);
  });

  test('Int32 + Long sums to a Long; an Int32 overflow widens to Long', async () => {
    const a = await sumOf([new Int32(1), Long.fromNumber(2)]);
    expect(bsonType(a.s)).toBe('Long');
    expect(num(a.s)).toBe(3);
    const b = await sumOf([new Int32(2147483647), new Int32(1)]);
    expect(bsonType(b.s)).toBe('Long');
    expect(String(b.s)).toBe('2147483648');
  });

  test('Int32 + Long + Double sums to a Double', async () => {
    const { s, a } = await sumOf([new Int32(1), Long.fromNumber(2), new Double(3.5)]);
    expect(bsonType(s)).toBe('Double');
    expect(num(s)).toBe(6.5);
    expect(bsonType(a)).toBe('Double');
    expect(num(a)).toBeCloseTo(6.5 / 3, 12);
  });

  test('adding a Decimal128 makes the sum and the average Decimal128', async () => {
    const { s, a } = await sumOf([new Int32(1), Long.fromNumber(2), new Double(3.5), Decimal128.fromString('4')]);
    expect(bsonType(s)).toBe('Decimal128');
    expect(num(s)).toBe(10.5);
    expect(bsonType(a)).toBe('Decimal128');
    expect(num(a)).toBe(2.625);
  });

  test('Decimal128 0.1 three times sums to exactly 0.3', async () => {
    const { s } = await sumOf([0, 1, 2].map(() => Decimal128.fromString('0.1')));
    expect(bsonType(s)).toBe('Decimal128');
    expect(String(s)).toBe('0.3');
  });

  test('non-numeric values are ignored by $sum; a group of none sums to 0', async () => {
    const { s } = await sumOf([new Int32(2), 'x', null, new Double(0.5)]);
    expect(num(s)).toBe(2.5);
    const none = await sumOf(['a', 'b']);
    expect(num(none.s)).toBe(0);
    expect(none.a).toBeNull();
  });
});

describe('integers beyond 2^53', () => {
  test('a Long of 2^53 + 1 round-trips exactly, or is refused with BadValue — never silently rounded', async () => {
    const big = Long.fromString('9007199254740993');
    const c = await coll();
    let stored = true;
    try {
      await c.insertOne({ _id: 1 as any, v: big });
    } catch (err: any) {
      // devdb's documented limit: refuse rather than round
      stored = false;
      expect(err.code).toBe(2);
      expect(err.codeName).toBe('BadValue');
      expect(await c.countDocuments()).toBe(0);
    }
    if (stored) {
      const back = (await c.findOne({ _id: 1 as any }, raw))!.v;
      expect(bsonType(back)).toBe('Long');
      expect(String(back)).toBe('9007199254740993');
      expect(await c.countDocuments({ v: Long.fromString('9007199254740992') })).toBe(0);
    }
  });

  test('mongoose BigInt paths: a value beyond 2^53 round-trips exactly or is refused with BadValue', async () => {
    const Big = db.conn.model('Big', new mongoose.Schema({ n: BigInt }));
    await Big.init();
    const n = 2n ** 60n + 7n;
    let id: unknown;
    try {
      id = (await Big.create({ n }))._id;
    } catch (err: any) {
      expect(err.code).toBe(2);
      return;
    }
    // lean() skips mongoose's casting: the driver hands back the int64 as a Long, as it does from mongod.
    expect(BigInt(String((await Big.findById(id).lean())!.n))).toBe(n);
    expect((await Big.findById(id))!.n).toBe(n);
  });
});
