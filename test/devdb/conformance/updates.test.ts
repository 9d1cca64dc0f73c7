/**
 * Updates: operator updates and their result counts, positional `$`, `$[]`
 * and arrayFilters, upserts (with `$setOnInsert`), findOneAndUpdate,
 * replacement documents, pipeline updates and bulkWrite.
 */
import mongoose, { Schema, Types } from 'mongoose';
import { connectTestDb, rejection, type TestDb } from '../testkit';

interface Item {
  sku: string;
  qty: number;
  price: number;
}
interface Order {
  ref: string;
  status?: string;
  qty?: number;
  price?: number;
  total?: number;
  note?: string;
  memo?: string;
  items: Item[];
  tags: string[];
  scores: number[];
  counters?: { views?: number; likes?: number };
  touchedAt?: Date;
}

const orderSchema = new Schema<Order>({
  ref: { type: String, required: true, unique: true },
  status: String,
  qty: Number,
  price: Number,
  total: Number,
  note: String,
  memo: String,
  items: [new Schema<Item>({ sku: String, qty: Number, price: Number }, { _id: false })],
  tags: [String],
  scores: [Number],
  counters: { views: Number, likes: Number },
  touchedAt: Date,
});

type ModifyResult = mongoose.mongo.ModifyResult<Order & { _id: Types.ObjectId }>;

let db: TestDb;
let Order: mongoose.Model<Order>;

beforeAll(async () => {
  db = await connectTestDb('updates');
  Order = db.conn.model<Order>('Order', orderSchema);
  await Order.init();
});
afterAll(() => db.close());

const seed = () =>
  Order.insertMany([
    {
      ref: 'O1',
      status: 'open',
      qty: 2,
      price: 10,
      items: [
        { sku: 'a', qty: 1, price: 3 },
        { sku: 'b', qty: 4, price: 8 },
        { sku: 'c', qty: 2, price: 1 },
      ],
      tags: ['x'],
      scores: [5, 1, 9],
    },
    { ref: 'O2', status: 'open', qty: 7, price: 3, items: [{ sku: 'b', qty: 1, price: 2 }], tags: [], scores: [] },
    { ref: 'O3', status: 'closed', qty: 9, price: 1, items: [], tags: ['y', 'x'], scores: [3] },
  ]);

const get = (ref: string) => Order.findOne({ ref }).lean();

beforeEach(async () => {
  await Order.deleteMany({});
  await seed();
});

describe('operator updates', () => {
  test('updateMany reports matched and modified counts', async () => {
    const res = await Order.updateMany({ status: 'open' }, { $set: { note: 'batch' } });
    expect(res).toMatchObject({ acknowledged: true, matchedCount: 2, modifiedCount: 2, upsertedCount: 0 });
    expect(await Order.countDocuments({ note: 'batch' })).toBe(2);
  });

  test('an update that changes nothing is matched but not modified', async () => {
    const res = await Order.updateOne({ ref: 'O1' }, { $set: { status: 'open' } });
    expect(res.matchedCount).toBe(1);
    expect(res.modifiedCount).toBe(0);
    const none = await Order.updateOne({ ref: 'nope' }, { $set: { status: 'x' } });
    expect(none.matchedCount).toBe(0);
    expect(none.modifiedCount).toBe(0);
  });

  test('$inc, $mul, $min and $max; $inc creates a missing field', async () => {
    await Order.updateOne(
      { ref: 'O1' },
      { $inc: { qty: 3, 'counters.views': 1 }, $mul: { price: 1.5 }, $min: { total: 100 } },
    );
    await Order.updateOne({ ref: 'O1' }, { $min: { total: 50 }, $max: { qty: 4 } });
    expect(await get('O1')).toMatchObject({ qty: 5, price: 15, total: 50, counters: { views: 1 } });
  });

  test('$unset and $rename', async () => {
    await Order.updateOne({ ref: 'O2' }, { $unset: { price: '' }, $rename: { status: 'memo' } });
    const o2 = await get('O2');
    expect(o2).not.toHaveProperty('price');
    expect(o2).not.toHaveProperty('status');
    expect(o2!.memo).toBe('open');
  });

  test('$push with $each, $sort and $slice; $addToSet; $pull by condition; $pop', async () => {
    await Order.updateOne({ ref: 'O1' }, { $push: { scores: { $each: [7, 2], $sort: -1, $slice: 3 } } });
    expect((await get('O1'))!.scores).toEqual([9, 7, 5]);

    await Order.updateOne({ ref: 'O1' }, { $addToSet: { tags: { $each: ['x', 'z', 'z'] } } });
    expect((await get('O1'))!.tags).toEqual(['x', 'z']);

    await Order.updateOne({ ref: 'O1' }, { $pull: { items: { qty: { $gte: 2 } } } });
    expect((await get('O1'))!.items.map((i) => i.sku)).toEqual(['a']);

    await Order.updateOne({ ref: 'O1' }, { $pop: { scores: -1 } });
    expect((await get('O1'))!.scores).toEqual([7, 5]);
  });

  test('$currentDate sets a server-side date', async () => {
    const before = Date.now();
    await Order.updateOne({ ref: 'O3' }, { $currentDate: { touchedAt: true } });
    const t = (await get('O3'))!.touchedAt!;
    expect(t).toBeInstanceOf(Date);
    expect(Math.abs(t.getTime() - before)).toBeLessThan(60_000);
  });

  test('positional $ updates the first matching array element', async () => {
    const res = await Order.updateOne({ ref: 'O1', 'items.sku': 'b' }, { $set: { 'items.$.qty': 9 } });
    expect(res.modifiedCount).toBe(1);
    expect((await get('O1'))!.items).toEqual([
      { sku: 'a', qty: 1, price: 3 },
      { sku: 'b', qty: 9, price: 8 },
      { sku: 'c', qty: 2, price: 1 },
    ]);
  });

  test('positional $ with $elemMatch and $inc', async () => {
    await Order.updateOne(
      { ref: 'O1', items: { $elemMatch: { qty: { $gte: 2 }, price: { $lt: 5 } } } },
      { $inc: { 'items.$.qty': 10 } },
    );
    expect((await get('O1'))!.items.map((i) => i.qty)).toEqual([1, 4, 12]);
  });

  test('$[] updates every element', async () => {
    await Order.updateOne({ ref: 'O1' }, { $inc: { 'items.$[].qty': 1 } });
    expect((await get('O1'))!.items.map((i) => i.qty)).toEqual([2, 5, 3]);
  });

  test('arrayFilters select the elements to update, across documents', async () => {
    const res = await Order.updateMany(
      {},
      { $set: { 'items.$[cheap].price': 0 } },
      { arrayFilters: [{ 'cheap.price': { $lt: 3 } }] },
    );
    expect(res.matchedCount).toBe(3);
    expect(res.modifiedCount).toBe(2); // O1 (c) and O2 (b); O3 has no items
    expect((await get('O1'))!.items.map((i) => i.price)).toEqual([3, 8, 0]);
    expect((await get('O2'))!.items.map((i) => i.price)).toEqual([0]);
  });

  test('arrayFilters with two identifiers and a condition on a scalar array', async () => {
    await Order.updateOne(
      { ref: 'O1' },
      { $set: { 'items.$[big].sku': 'BIG', 'scores.$[low]': 0 } },
      { arrayFilters: [{ 'big.qty': { $gt: 3 } }, { low: { $lt: 6 } }] },
    );
    const o1 = await get('O1');
    expect(o1!.items.map((i) => i.sku)).toEqual(['a', 'BIG', 'c']);
    expect(o1!.scores).toEqual([0, 0, 9]);
  });
});

describe('upserts and findOneAndUpdate', () => {
  test('findOneAndUpdate upserts with $setOnInsert, then updates without it', async () => {
    const first = await Order.findOneAndUpdate(
      { ref: 'U1' },
      { $set: { status: 'new' }, $setOnInsert: { qty: 1, tags: ['fresh'] } },
      { upsert: true, returnDocument: 'after', includeResultMetadata: true },
    ).lean<ModifyResult>();
    expect(first.lastErrorObject).toMatchObject({ n: 1, updatedExisting: false });
    expect(first.lastErrorObject!.upserted).toBeInstanceOf(Types.ObjectId);
    expect(first.value).toMatchObject({ ref: 'U1', status: 'new', qty: 1, tags: ['fresh'] });

    const second = await Order.findOneAndUpdate(
      { ref: 'U1' },
      { $set: { status: 'again' }, $setOnInsert: { qty: 99 } },
      { upsert: true, returnDocument: 'after', includeResultMetadata: true },
    ).lean<ModifyResult>();
    expect(second.lastErrorObject).toMatchObject({ n: 1, updatedExisting: true });
    expect(second.value).toMatchObject({ ref: 'U1', status: 'again', qty: 1 });
    expect(String(second.value!._id)).toBe(String(first.value!._id));
    expect(await Order.countDocuments({ ref: 'U1' })).toBe(1);
  });

  test('an upsert copies equality fields from the filter, not operator conditions', async () => {
    const res = await Order.updateOne(
      { ref: 'U2', qty: { $gt: 5 }, 'counters.likes': 3 },
      { $inc: { 'counters.views': 1 } },
      { upsert: true },
    );
    expect(res).toMatchObject({ matchedCount: 0, modifiedCount: 0, upsertedCount: 1 });
    expect(res.upsertedId).toBeInstanceOf(Types.ObjectId);
    const u2 = await Order.findById(res.upsertedId).lean();
    expect(u2).toMatchObject({ ref: 'U2', counters: { likes: 3, views: 1 } });
    expect(u2).not.toHaveProperty('qty');
  });

  test('an upsert keeps an _id given in the filter', async () => {
    const id = new Types.ObjectId();
    const res = await Order.updateOne({ _id: id }, { $set: { ref: 'U3' } }, { upsert: true });
    expect(String(res.upsertedId)).toBe(String(id));
    expect((await Order.findById(id).lean())!.ref).toBe('U3');
  });

  test('findOneAndUpdate returns the pre-image by default and honours sort', async () => {
    const before = await Order.findOneAndUpdate({ status: 'open' }, { $set: { status: 'picked' } }, { sort: { qty: -1 } }).lean();
    expect(before).toMatchObject({ ref: 'O2', status: 'open' });
    expect((await get('O2'))!.status).toBe('picked');
    expect((await get('O1'))!.status).toBe('open');
  });

  test('findOneAndUpdate with a projection and no match', async () => {
    // the driver directly: mongoose drops `_id: 0` from findOneAndUpdate projections
    const after = await Order.collection.findOneAndUpdate(
      { ref: 'O3' },
      { $inc: { qty: 1 } },
      { returnDocument: 'after', projection: { qty: 1, _id: 0 } },
    );
    expect(after).toEqual({ qty: 10 });
    expect(await Order.findOneAndUpdate({ ref: 'none' }, { $inc: { qty: 1 } })).toBeNull();
  });

  test('findOneAndUpdate with arrayFilters', async () => {
    const after = await Order.findOneAndUpdate(
      { ref: 'O1' },
      { $mul: { 'items.$[e].price': 2 } },
      { arrayFilters: [{ 'e.sku': { $in: ['a', 'c'] } }], returnDocument: 'after' },
    ).lean();
    expect(after!.items.map((i) => i.price)).toEqual([6, 8, 2]);
  });
});

describe('replacement documents', () => {
  test('replaceOne swaps the whole document and keeps _id', async () => {
    const o1 = await get('O1');
    const res = await Order.replaceOne({ ref: 'O1' }, { ref: 'O1', status: 'replaced', items: [], tags: [], scores: [] });
    expect(res).toMatchObject({ matchedCount: 1, modifiedCount: 1 });
    const after = await Order.findById(o1!._id).lean();
    expect(after).toMatchObject({ ref: 'O1', status: 'replaced' });
    expect(after).not.toHaveProperty('qty');
    expect(after).not.toHaveProperty('price');
  });

  test('replaceOne with upsert inserts the replacement', async () => {
    const res = await Order.replaceOne({ ref: 'R1' }, { ref: 'R1', status: 'fresh' }, { upsert: true });
    expect(res.upsertedCount).toBe(1);
    expect(await get('R1')).toMatchObject({ ref: 'R1', status: 'fresh' });
  });

  test('findOneAndReplace returns the new document when asked', async () => {
    const doc = await Order.findOneAndReplace({ ref: 'O2' }, { ref: 'O2', note: 'only' }, { returnDocument: 'after' }).lean();
    expect(doc).toMatchObject({ ref: 'O2', note: 'only' });
    expect(doc).not.toHaveProperty('status');
  });

  test('a replacement that changes _id is refused with 66 ImmutableField', async () => {
    const err = await rejection(
      Order.collection.replaceOne({ ref: 'O3' }, { _id: new Types.ObjectId(), ref: 'O3' }),
    );
    expect(err.code).toBe(66);
    expect(err.codeName).toBe('ImmutableField');
  });
});

describe('pipeline updates', () => {
  test('updateOne with a $set stage computes from other fields', async () => {
    const res = await Order.updateOne(
      { ref: 'O1' },
      [{ $set: { total: { $multiply: ['$qty', '$price'] } } }],
      { updatePipeline: true },
    );
    expect(res.modifiedCount).toBe(1);
    expect((await get('O1'))!.total).toBe(20);
  });

  test('updateMany with $set using $cond and an $unset stage', async () => {
    await Order.updateMany(
      {},
      [
        { $set: { status: { $cond: [{ $gte: ['$qty', 7] }, 'bulk', 'small'] }, total: { $size: '$items' } } },
        { $unset: ['price'] },
      ],
      { updatePipeline: true },
    );
    const rows = await Order.find().sort({ ref: 1 }).lean();
    expect(rows.map((r) => [r.ref, r.status, r.total])).toEqual([
      ['O1', 'small', 3],
      ['O2', 'bulk', 1],
      ['O3', 'bulk', 0],
    ]);
    for (const r of rows) expect(r).not.toHaveProperty('price');
  });

  test('a pipeline update can read array fields with $sum and $map', async () => {
    await Order.updateOne(
      { ref: 'O1' },
      [{ $set: { total: { $sum: { $map: { input: '$items', as: 'i', in: { $multiply: ['$$i.qty', '$$i.price'] } } } } } }],
      { updatePipeline: true },
    );
    expect((await get('O1'))!.total).toBe(1 * 3 + 4 * 8 + 2 * 1);
  });

  test('a pipeline upsert builds the new document from the filter', async () => {
    const res = await Order.updateOne(
      { ref: 'P1' },
      [{ $set: { status: 'piped', qty: { $ifNull: ['$qty', 5] } } }],
      { upsert: true, updatePipeline: true },
    );
    expect(res.upsertedCount).toBe(1);
    expect(await get('P1')).toMatchObject({ ref: 'P1', status: 'piped', qty: 5 });
  });
});

describe('bulkWrite', () => {
  test('mixed operations report each count', async () => {
    const res = await Order.bulkWrite([
      { insertOne: { document: { ref: 'B1', status: 'open', items: [], tags: [], scores: [] } } },
      { updateOne: { filter: { ref: 'O1' }, update: { $set: { status: 'held' } } } },
      { updateMany: { filter: { status: 'open' }, update: { $inc: { qty: 1 } } } },
      { replaceOne: { filter: { ref: 'O3' }, replacement: { ref: 'O3', status: 'redone', items: [], tags: [], scores: [] } } },
      { updateOne: { filter: { ref: 'B2' }, update: { $set: { status: 'up' } }, upsert: true } },
      { deleteOne: { filter: { ref: 'O2' } } },
      { deleteMany: { filter: { ref: { $in: ['none1', 'none2'] } } } },
    ]);
    expect(res.insertedCount).toBe(1);
    // updateOne O1 (1) + updateMany over O2 and B1 (2) + replaceOne O3 (1)
    expect(res.matchedCount).toBe(4);
    expect(res.modifiedCount).toBe(4);
    expect(res.upsertedCount).toBe(1);
    expect(Object.keys(res.upsertedIds)).toEqual(['4']);
    expect(res.deletedCount).toBe(1);

    const rows = await Order.find().sort({ ref: 1 }).lean();
    expect(rows.map((r) => [r.ref, r.status, r.qty ?? null])).toEqual([
      ['B1', 'open', 1],
      ['B2', 'up', null],
      ['O1', 'held', 2],
      ['O3', 'redone', null],
    ]);
  });

  test('ordered: stops at the failing operation; earlier ones stay applied', async () => {
    const err = await rejection(
      Order.bulkWrite(
        [
          { insertOne: { document: { ref: 'B1', items: [], tags: [], scores: [] } } },
          { updateOne: { filter: { ref: 'O1' }, update: { $set: { status: 'first' } } } },
          { insertOne: { document: { ref: 'O2', items: [], tags: [], scores: [] } } }, // duplicate ref
          { deleteOne: { filter: { ref: 'O3' } } },
        ],
        { ordered: true },
      ),
    );
    expect(err).toBeInstanceOf(mongoose.mongo.MongoBulkWriteError);
    expect(err.code).toBe(11000);
    expect(err.writeErrors).toHaveLength(1);
    expect(err.writeErrors[0].index).toBe(2);
    expect(err.insertedCount).toBe(1);
    expect(err.modifiedCount).toBe(1);
    expect(err.deletedCount).toBe(0);
    expect(await Order.exists({ ref: 'B1' })).not.toBeNull();
    expect((await get('O1'))!.status).toBe('first');
    expect(await Order.exists({ ref: 'O3' })).not.toBeNull();
  });

  test('unordered: every other operation is applied and the failure is reported by index', async () => {
    const err = await rejection(
      Order.bulkWrite(
        [
          { insertOne: { document: { ref: 'O1', items: [], tags: [], scores: [] } } }, // duplicate ref
          { updateOne: { filter: { ref: 'O2' }, update: { $set: { status: 'ok' } } } },
          { insertOne: { document: { ref: 'B9', items: [], tags: [], scores: [] } } },
          { deleteOne: { filter: { ref: 'O3' } } },
        ],
        { ordered: false },
      ),
    );
    expect(err.code).toBe(11000);
    expect(err.writeErrors.map((w: { index: number }) => w.index)).toEqual([0]);
    expect(err.writeErrors[0].errmsg).toMatch(/index: ref_1 dup key: \{ ref: "O1" \}/);
    expect(err.insertedCount).toBe(1);
    expect(err.modifiedCount).toBe(1);
    expect(err.deletedCount).toBe(1);
    expect((await get('O2'))!.status).toBe('ok');
    expect(await Order.exists({ ref: 'B9' })).not.toBeNull();
    expect(await Order.exists({ ref: 'O3' })).toBeNull();
  });
});

describe('update errors', () => {
  test('$inc on a string fails with 14 TypeMismatch and changes nothing', async () => {
    const err = await rejection(Order.collection.updateOne({ ref: 'O1' }, { $inc: { status: 1 } }));
    expect(err.code).toBe(14);
    expect(err.codeName).toBe('TypeMismatch');
    expect((await get('O1'))!.status).toBe('open');
  });

  test('two operators on the same path fail with 40 ConflictingUpdateOperators', async () => {
    const err = await rejection(Order.collection.updateOne({ ref: 'O1' }, { $set: { qty: 1 }, $inc: { qty: 1 } }));
    expect(err.code).toBe(40);
    expect(err.codeName).toBe('ConflictingUpdateOperators');
  });

  test('an update that changes _id fails with 66 ImmutableField', async () => {
    const err = await rejection(Order.collection.updateOne({ ref: 'O1' }, { $set: { _id: new Types.ObjectId() } }));
    expect(err.code).toBe(66);
  });

  test('an unknown update operator fails with 9 FailedToParse', async () => {
    const err = await rejection(Order.collection.updateOne({ ref: 'O1' }, { $frobnicate: { qty: 1 } } as any));
    expect(err.code).toBe(9);
    expect(err.message).toMatch(/\$frobnicate/);
  });
});
