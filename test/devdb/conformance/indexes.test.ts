/**
 * Indexes declared in mongoose schemas: created by `Model.init()`, listed
 * with their options, kept in line by `syncIndexes()`, and unique ones
 * enforced on every write path (insert, update, upsert, replace,
 * findOneAndUpdate) with MongoDB's 11000 error shape.
 */
import mongoose, { Schema } from 'mongoose';
import { connectTestDb, rejection, type TestDb } from '../testkit';

let db: TestDb;

const Product = () =>
  db.conn.model('Product', new Schema({ sku: { type: String, unique: true }, name: String, price: Number }));
const Seat = () => {
  const s = new Schema({ tenant: String, code: String, holder: String });
  s.index({ tenant: 1, code: 1 }, { unique: true });
  return db.conn.model('Seat', s);
};
const Badge = () => db.conn.model('Badge', new Schema({ badge: { type: String, unique: true, sparse: true }, n: Number }));
const Member = () => {
  const s = new Schema({ email: String, active: Boolean });
  s.index({ email: 1 }, { unique: true, partialFilterExpression: { active: true } });
  return db.conn.model('Member', s);
};
const Login = () => {
  const s = new Schema({ user: String, expireAt: Date });
  s.index({ expireAt: 1 }, { expireAfterSeconds: 0 });
  return db.conn.model('Login', s);
};
const Tagged = () => {
  const s = new Schema({ tags: [String] });
  s.index({ tags: 1 }, { unique: true });
  return db.conn.model('Tagged', s);
};

let P: ReturnType<typeof Product>;
let S: ReturnType<typeof Seat>;
let B: ReturnType<typeof Badge>;
let M: ReturnType<typeof Member>;
let L: ReturnType<typeof Login>;
let T: ReturnType<typeof Tagged>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyModel = mongoose.Model<any, any, any, any>;

beforeAll(async () => {
  db = await connectTestDb('indexes');
  [P, S, B, M, L, T] = [Product(), Seat(), Badge(), Member(), Login(), Tagged()];
  await Promise.all(([P, S, B, M, L, T] as AnyModel[]).map((m) => m.init()));
});
afterAll(() => db.close());

type IndexInfo = { name: string; key: Record<string, number>; [opt: string]: unknown };
const indexesOf = async (m: AnyModel) =>
  ((await m.listIndexes()) as IndexInfo[]).reduce<Record<string, IndexInfo>>((acc, ix) => {
    acc[ix.name] = ix;
    return acc;
  }, {});

describe('Model.init() creates the declared indexes', () => {
  test('single-field unique', async () => {
    const ix = await indexesOf(P);
    expect(Object.keys(ix).sort()).toEqual(['_id_', 'sku_1']);
    expect(ix._id_.key).toEqual({ _id: 1 });
    expect(ix.sku_1).toMatchObject({ key: { sku: 1 }, unique: true });
  });

  test('compound unique', async () => {
    const ix = await indexesOf(S);
    expect(ix.tenant_1_code_1).toMatchObject({ key: { tenant: 1, code: 1 }, unique: true });
  });

  test('sparse unique, partial unique and TTL keep their options', async () => {
    expect((await indexesOf(B)).badge_1).toMatchObject({ key: { badge: 1 }, unique: true, sparse: true });
    expect((await indexesOf(M)).email_1).toMatchObject({
      key: { email: 1 },
      unique: true,
      partialFilterExpression: { active: true },
    });
    expect((await indexesOf(L)).expireAt_1).toMatchObject({ key: { expireAt: 1 }, expireAfterSeconds: 0 });
  });

  test('init() again is idempotent', async () => {
    await P.createIndexes();
    await P.collection.createIndex({ sku: 1 }, { unique: true });
    expect(Object.keys(await indexesOf(P)).sort()).toEqual(['_id_', 'sku_1']);
  });
});

describe('unique indexes are enforced on every write path', () => {
  beforeEach(async () => {
    await Promise.all(([P, S, B, M, T] as AnyModel[]).map((m) => m.deleteMany({})));
    await P.create([
      { sku: 'A-1', name: 'anvil', price: 10 },
      { sku: 'B-2', name: 'bell', price: 20 },
    ]);
  });

  const expectDup = (err: any, keyPattern: object, keyValue: object) => {
    expect(err).toBeInstanceOf(mongoose.mongo.MongoServerError);
    expect(err.code).toBe(11000);
    expect(err.keyPattern).toEqual(keyPattern);
    expect(err.keyValue).toEqual(keyValue);
    expect(err.message).toMatch(/E11000 duplicate key error/);
  };

  test('insert', async () => {
    expectDup(await rejection(P.create({ sku: 'A-1', name: 'again' })), { sku: 1 }, { sku: 'A-1' });
  });

  test('updateOne that sets an existing value fails and leaves the document unchanged', async () => {
    const err = await rejection(P.updateOne({ sku: 'B-2' }, { $set: { sku: 'A-1' } }));
    expectDup(err, { sku: 1 }, { sku: 'A-1' });
    expect(await P.countDocuments({ sku: 'B-2' })).toBe(1);
  });

  test('updateMany that would give two documents the same value fails', async () => {
    const err = await rejection(P.updateMany({}, { $set: { sku: 'SAME' } }));
    expect(err.code).toBe(11000);
    // MongoDB applies a multi-update one document at a time: the first may have changed, never both
    expect(await P.countDocuments({ sku: 'SAME' })).toBeLessThanOrEqual(1);
  });

  test('upsert that inserts a duplicate fails', async () => {
    await S.create({ tenant: 't1', code: 'c1', holder: 'x' });
    const err = await rejection(
      S.updateOne({ holder: 'nobody' }, { $set: { tenant: 't1', code: 'c1' } }, { upsert: true }),
    );
    expectDup(err, { tenant: 1, code: 1 }, { tenant: 't1', code: 'c1' });
    expect(await S.countDocuments()).toBe(1);
  });

  test('replaceOne with a duplicate fails', async () => {
    const err = await rejection(P.replaceOne({ sku: 'B-2' }, { sku: 'A-1', name: 'swap', price: 1 }));
    expectDup(err, { sku: 1 }, { sku: 'A-1' });
    expect(await P.findOne({ sku: 'B-2' }).lean()).toMatchObject({ name: 'bell', price: 20 });
  });

  test('findOneAndUpdate with a duplicate fails', async () => {
    const err = await rejection(P.findOneAndUpdate({ sku: 'B-2' }, { $set: { sku: 'A-1' } }));
    expectDup(err, { sku: 1 }, { sku: 'A-1' });
  });

  test('an update that keeps a document its own value is not a duplicate', async () => {
    const res = await P.updateOne({ sku: 'A-1' }, { $set: { sku: 'A-1', price: 11 } });
    expect(res.modifiedCount).toBe(1);
  });

  test('compound unique: the pair must be unique, each field alone need not be', async () => {
    await S.create([
      { tenant: 't1', code: 'c1' },
      { tenant: 't1', code: 'c2' },
      { tenant: 't2', code: 'c1' },
    ]);
    expectDup(
      await rejection(S.create({ tenant: 't2', code: 'c1' })),
      { tenant: 1, code: 1 },
      { tenant: 't2', code: 'c1' },
    );
    expect(await S.countDocuments()).toBe(3);
  });

  test('a missing field counts as null: two documents without it clash on a non-sparse unique index', async () => {
    await P.create({ name: 'no sku' });
    expectDup(await rejection(P.create({ name: 'no sku either' })), { sku: 1 }, { sku: null });
  });

  test('sparse: any number of documents may lack the field; present values stay unique', async () => {
    await B.create([{ n: 1 }, { n: 2 }, { badge: 'gold', n: 3 }]);
    expect(await B.countDocuments()).toBe(3);
    expectDup(await rejection(B.create({ badge: 'gold', n: 4 })), { badge: 1 }, { badge: 'gold' });
  });

  test('partial: only documents matching the filter take part', async () => {
    await M.create([
      { email: 'a@x.io', active: false },
      { email: 'a@x.io', active: false },
      { email: 'a@x.io', active: true },
    ]);
    expectDup(await rejection(M.create({ email: 'a@x.io', active: true })), { email: 1 }, { email: 'a@x.io' });
    // turning an inactive duplicate active is refused too
    const err = await rejection(M.updateOne({ active: false }, { $set: { active: true } }));
    expect(err.code).toBe(11000);
    expect(await M.countDocuments({ active: true })).toBe(1);
  });

  test('multikey unique: documents may not share an array element, a document may repeat its own', async () => {
    await T.create({ tags: ['a', 'b'] });
    await T.create({ tags: ['c', 'c'] });
    const err = await rejection(T.create({ tags: ['b', 'z'] }));
    expect(err.code).toBe(11000);
    expect(err.keyValue).toEqual({ tags: 'b' });
  });
});

describe('index management', () => {
  test('a unique index cannot be built over existing duplicates, and is not left behind', async () => {
    const Loose = db.conn.model('Loose', new Schema({ k: String }, { autoIndex: false }));
    await Loose.init();
    await Loose.create([{ k: 'x' }, { k: 'x' }]);
    const err = await rejection(Loose.collection.createIndex({ k: 1 }, { unique: true }));
    expect(err.code).toBe(11000);
    expect(Object.keys(await indexesOf(Loose))).toEqual(['_id_']);
  });

  test('syncIndexes drops indexes the schema no longer declares and creates missing ones', async () => {
    await P.collection.createIndex({ price: 1 }, { name: 'price_1' });
    await P.collection.dropIndex('sku_1');
    expect(Object.keys(await indexesOf(P)).sort()).toEqual(['_id_', 'price_1']);

    const dropped = await P.syncIndexes();
    expect(dropped).toEqual(['price_1']);
    expect(Object.keys(await indexesOf(P)).sort()).toEqual(['_id_', 'sku_1']);
    expect((await indexesOf(P)).sku_1.unique).toBe(true);
  });

  test('after dropping a unique index, duplicates are accepted', async () => {
    const Temp = db.conn.model('Temp', new Schema({ k: { type: String, unique: true } }));
    await Temp.init();
    await Temp.create({ k: 'x' });
    expect((await rejection(Temp.create({ k: 'x' }))).code).toBe(11000);
    await Temp.collection.dropIndex('k_1');
    await Temp.create({ k: 'x' });
    expect(await Temp.countDocuments({ k: 'x' })).toBe(2);
  });

  test('the same key pattern under another name is refused with 85 IndexOptionsConflict', async () => {
    const err = await rejection(P.collection.createIndex({ sku: 1 }, { name: 'sku_again', unique: true }));
    expect(err.code).toBe(85);
    expect(err.codeName).toBe('IndexOptionsConflict');
  });

  test('an existing name with another key pattern is refused with 86 IndexKeySpecsConflict', async () => {
    const err = await rejection(P.collection.createIndex({ name: 1 }, { name: 'sku_1' }));
    expect(err.code).toBe(86);
    expect(err.codeName).toBe('IndexKeySpecsConflict');
  });

  test('dropping a missing index fails with 27 IndexNotFound; the _id index cannot be dropped (72)', async () => {
    const missing = await rejection(P.collection.dropIndex('nope_1'));
    expect(missing.code).toBe(27);
    expect(missing.codeName).toBe('IndexNotFound');
    const idIx = await rejection(P.collection.dropIndex('_id_'));
    expect(idIx.code).toBe(72);
    expect(idIx.codeName).toBe('InvalidOptions');
  });
});
