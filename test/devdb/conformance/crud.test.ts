/**
 * Create, read and delete through mongoose models: inserts (single, ordered
 * and unordered batches with duplicate keys), queries with sort, skip, limit
 * and projection, counts and distinct.
 */
import mongoose, { Schema } from 'mongoose';
import { connectTestDb, rejection, type TestDb } from '../testkit';

interface User {
  email: string;
  name: string;
  age: number;
  tags: string[];
  address?: { city: string; zip: string };
  secret?: string;
}

const userSchema = new Schema<User>({
  email: { type: String, required: true, unique: true },
  name: { type: String, required: true },
  age: Number,
  tags: [String],
  address: { city: String, zip: String },
  secret: String,
});

let db: TestDb;
let User: mongoose.Model<User>;

beforeAll(async () => {
  db = await connectTestDb('crud');
  User = db.conn.model<User>('User', userSchema);
  await User.init();
});
afterAll(() => db.close());

beforeEach(async () => {
  await User.deleteMany({});
});

const people: User[] = [
  { email: 'ada@x.io', name: 'Ada', age: 36, tags: ['math', 'eng'], address: { city: 'London', zip: 'N1' } },
  { email: 'bob@x.io', name: 'Bob', age: 25, tags: ['eng'], address: { city: 'Paris', zip: '75001' } },
  { email: 'cyd@x.io', name: 'Cyd', age: 41, tags: [], address: { city: 'London', zip: 'E2' } },
  { email: 'dee@x.io', name: 'Dee', age: 19, tags: ['art'], secret: 's3' },
  { email: 'eve@x.io', name: 'Eve', age: 30, tags: ['sec', 'eng'], address: { city: 'Berlin', zip: '10115' } },
];

describe('create', () => {
  test('create assigns an ObjectId and the document reads back unchanged', async () => {
    const ada = await User.create(people[0]);
    expect(ada._id).toBeInstanceOf(mongoose.Types.ObjectId);

    const found = await User.findById(ada._id).lean();
    expect(found).toMatchObject({ email: 'ada@x.io', name: 'Ada', age: 36, tags: ['math', 'eng'] });
    expect(found!.address).toEqual({ city: 'London', zip: 'N1' });
    expect(String(found!._id)).toBe(String(ada._id));
  });

  test('a duplicate unique value is refused with code 11000, keyPattern and keyValue', async () => {
    await User.create(people[0]);
    const err = await rejection(User.create({ ...people[1], email: 'ada@x.io' }));
    expect(err.code).toBe(11000);
    expect(err.keyPattern).toEqual({ email: 1 });
    expect(err.keyValue).toEqual({ email: 'ada@x.io' });
    expect(err.message).toMatch(
      new RegExp(`^E11000 duplicate key error collection: ${db.dbName}\\.users index: email_1 dup key: \\{ email: "ada@x\\.io" \\}`),
    );
    expect(await User.countDocuments()).toBe(1);
  });

  test('a duplicate _id is refused with code 11000 on _id', async () => {
    const id = new mongoose.Types.ObjectId();
    await User.create({ ...people[0], _id: id });
    const err = await rejection(User.create({ ...people[1], _id: id }));
    expect(err.code).toBe(11000);
    expect(err.keyPattern).toEqual({ _id: 1 });
    expect(String(err.keyValue._id)).toBe(String(id));
  });
});

describe('insertMany', () => {
  test('inserts every document of a clean batch', async () => {
    const docs = await User.insertMany(people);
    expect(docs).toHaveLength(5);
    expect(await User.countDocuments()).toBe(5);
  });

  test('ordered: stops at the first duplicate; earlier documents stay, later ones are not inserted', async () => {
    const batch = [
      people[0],
      people[1],
      { ...people[2], email: 'ada@x.io' }, // duplicate of the first
      people[3],
    ];
    const err = await rejection(User.insertMany(batch, { ordered: true }));
    expect(err.code).toBe(11000);
    expect(err.insertedCount).toBe(2);
    expect(err.writeErrors).toHaveLength(1);
    expect(err.writeErrors[0].index).toBe(2);
    expect(err.writeErrors[0].code).toBe(11000);
    // the driver keeps only code and errmsg of a bulk write error; MongoDB's errmsg names index and key
    expect(err.writeErrors[0].errmsg).toMatch(/^E11000 duplicate key error .*index: email_1 dup key: \{ email: "ada@x\.io" \}/);
    // mongoose reports which documents made it in
    expect(err.insertedDocs.map((d: User) => d.email)).toEqual(['ada@x.io', 'bob@x.io']);

    const emails = (await User.find().sort({ email: 1 }).lean()).map((u) => u.email);
    expect(emails).toEqual(['ada@x.io', 'bob@x.io']);
  });

  test('unordered: every non-duplicate is inserted and each duplicate is reported by index', async () => {
    await User.create(people[4]); // eve already exists
    const batch = [
      people[0],
      { ...people[1], email: 'eve@x.io' }, // clashes with the existing eve
      people[2],
      { ...people[3], email: 'ada@x.io' }, // clashes with index 0 of this batch
      people[3],
    ];
    const err = await rejection(User.insertMany(batch, { ordered: false }));
    expect(err.code).toBe(11000);
    expect(err.insertedCount).toBe(3);
    expect(err.writeErrors.map((w: { index: number }) => w.index).sort()).toEqual([1, 3]);
    for (const w of err.writeErrors) expect(w.code).toBe(11000);
    const byIndex = Object.fromEntries(err.writeErrors.map((w: any) => [w.index, w.errmsg]));
    expect(byIndex[1]).toMatch(/dup key: \{ email: "eve@x\.io" \}/);
    expect(byIndex[3]).toMatch(/dup key: \{ email: "ada@x\.io" \}/);

    const emails = (await User.find().sort({ email: 1 }).lean()).map((u) => u.email);
    expect(emails).toEqual(['ada@x.io', 'cyd@x.io', 'dee@x.io', 'eve@x.io']);
    // the pre-existing eve was not overwritten
    expect((await User.findOne({ email: 'eve@x.io' }).lean())!.name).toBe('Eve');
  });

  test('a batch of thousands of documents arrives whole', async () => {
    const many = Array.from({ length: 2500 }, (_, i) => ({
      email: `u${i}@bulk.io`,
      name: `U${i}`,
      age: i % 90,
      tags: [],
    }));
    await User.insertMany(many);
    expect(await User.countDocuments()).toBe(2500);
    expect(await User.countDocuments({ age: 7 })).toBe(28);
  });

  test('a batch bigger than one 48 MB message is split by the driver and arrives whole', async () => {
    const big = 'x'.repeat(1 << 20);
    const many = Array.from({ length: 50 }, (_, i) => ({
      email: `big${i}@bulk.io`,
      name: `B${i}`,
      age: i,
      tags: [],
      secret: big,
    }));
    db.commands.length = 0;
    await User.insertMany(many);
    expect(db.commands.filter((c) => c === 'insert').length).toBeGreaterThanOrEqual(2);
    expect(await User.countDocuments()).toBe(50);
    const last = await User.findOne({ email: 'big49@bulk.io' }).lean();
    expect(last!.secret).toHaveLength(1 << 20);
  });
});

describe('find', () => {
  beforeEach(async () => {
    await User.insertMany(people);
  });

  test('sort ascending and descending, on one and on two keys', async () => {
    const asc = await User.find().sort({ age: 1 }).lean();
    expect(asc.map((u) => u.name)).toEqual(['Dee', 'Bob', 'Eve', 'Ada', 'Cyd']);
    const desc = await User.find().sort({ age: -1 }).lean();
    expect(desc.map((u) => u.name)).toEqual(['Cyd', 'Ada', 'Eve', 'Bob', 'Dee']);
    const twoKeys = await User.find({ 'address.city': { $exists: true } })
      .sort({ 'address.city': 1, age: -1 })
      .lean();
    expect(twoKeys.map((u) => u.name)).toEqual(['Eve', 'Cyd', 'Ada', 'Bob']);
  });

  test('documents missing the sort field come first in ascending order', async () => {
    const rows = await User.find().sort({ 'address.city': 1, name: 1 }).lean();
    expect(rows.map((u) => u.name)).toEqual(['Dee', 'Eve', 'Ada', 'Cyd', 'Bob']);
  });

  test('skip and limit page through a sorted result', async () => {
    const page1 = await User.find().sort({ name: 1 }).skip(0).limit(2).lean();
    const page2 = await User.find().sort({ name: 1 }).skip(2).limit(2).lean();
    const page3 = await User.find().sort({ name: 1 }).skip(4).limit(2).lean();
    expect(page1.map((u) => u.name)).toEqual(['Ada', 'Bob']);
    expect(page2.map((u) => u.name)).toEqual(['Cyd', 'Dee']);
    expect(page3.map((u) => u.name)).toEqual(['Eve']);
    expect(await User.find().skip(10).lean()).toEqual([]);
  });

  test('inclusion projection returns only the named fields and _id', async () => {
    const ada = await User.findOne({ email: 'ada@x.io' }).select({ name: 1, 'address.city': 1 }).lean();
    expect(Object.keys(ada!).sort()).toEqual(['_id', 'address', 'name']);
    expect(ada!.address).toEqual({ city: 'London' });
  });

  test('inclusion projection can drop _id', async () => {
    const ada = await User.findOne({ email: 'ada@x.io' }).select({ name: 1, _id: 0 }).lean();
    expect(ada).toEqual({ name: 'Ada' });
  });

  test('exclusion projection removes the named fields only', async () => {
    const dee = await User.findOne({ email: 'dee@x.io' }).select('-secret -tags').lean();
    expect(dee).not.toHaveProperty('secret');
    expect(dee).not.toHaveProperty('tags');
    expect(dee).toMatchObject({ email: 'dee@x.io', name: 'Dee', age: 19 });
  });

  test('a projection never changes the stored document: dotted and top-level exclusions, inclusions, $slice, findOneAndUpdate fields', async () => {
    const full = async () => User.findOne({ email: 'ada@x.io' }).lean<User>();
    const before = await full();
    const dotted = await User.findOne({ email: 'ada@x.io' }, { 'address.zip': 0 }).lean<User>();
    expect(dotted!.address).toEqual({ city: 'London' });
    await User.findOne({ email: 'ada@x.io' }, { tags: 0, 'address.city': 0 }).lean();
    await User.findOne({ email: 'ada@x.io' }, { 'address.city': 1, name: 1 }).lean();
    await User.findOne({ email: 'ada@x.io' }, { tags: { $slice: 1 } }).lean();
    await User.find({}, { 'address.zip': 0 }).lean();
    const updated = await User.findOneAndUpdate({ email: 'ada@x.io' }, { $set: { age: 37 } }, { projection: { 'address.zip': 0 }, new: true }).lean<User>();
    expect(updated!.address).toEqual({ city: 'London' });
    expect(await full()).toEqual({ ...before, age: 37 });
  });

  test('$slice projection keeps the first n array elements', async () => {
    const ada = await User.findOne({ email: 'ada@x.io' }, { tags: { $slice: 1 }, name: 1 }).lean<User>();
    expect(ada!.tags).toEqual(['math']);
    expect(ada!.name).toBe('Ada');
  });

  test('comparison, set and logical operators', async () => {
    const names = async (filter: mongoose.QueryFilter<User>) =>
      (await User.find(filter).sort({ name: 1 }).lean()).map((u) => u.name);

    expect(await names({ age: { $gte: 30, $lt: 41 } })).toEqual(['Ada', 'Eve']);
    expect(await names({ name: { $in: ['Bob', 'Eve', 'Zed'] } })).toEqual(['Bob', 'Eve']);
    expect(await names({ name: { $nin: ['Bob', 'Eve'] } })).toEqual(['Ada', 'Cyd', 'Dee']);
    expect(await names({ age: { $ne: 36 } })).toEqual(['Bob', 'Cyd', 'Dee', 'Eve']);
    expect(await names({ $or: [{ age: { $lt: 20 } }, { 'address.city': 'Berlin' }] })).toEqual(['Dee', 'Eve']);
    expect(await names({ $and: [{ age: { $gt: 20 } }, { 'address.city': 'London' }] })).toEqual(['Ada', 'Cyd']);
    expect(await names({ age: { $not: { $gt: 30 } } })).toEqual(['Bob', 'Dee', 'Eve']);
    expect(await names({ $nor: [{ age: { $gt: 30 } }, { name: 'Bob' }] })).toEqual(['Dee', 'Eve']);
  });

  test('$exists, $regex and dotted paths into subdocuments', async () => {
    const names = async (filter: mongoose.QueryFilter<User>) =>
      (await User.find(filter).sort({ name: 1 }).lean()).map((u) => u.name);

    expect(await names({ secret: { $exists: true } })).toEqual(['Dee']);
    expect(await names({ address: { $exists: false } })).toEqual(['Dee']);
    expect(await names({ email: { $regex: '^[a-c]' } })).toEqual(['Ada', 'Bob', 'Cyd']);
    expect(await names({ name: /^e/i })).toEqual(['Eve']);
    expect(await names({ 'address.zip': '75001' })).toEqual(['Bob']);
  });

  test('array fields: element match, $all, $size and $elemMatch', async () => {
    const names = async (filter: mongoose.QueryFilter<User>) =>
      (await User.find(filter).sort({ name: 1 }).lean()).map((u) => u.name);

    // an equality on an array field matches any element
    expect(await names({ tags: 'eng' })).toEqual(['Ada', 'Bob', 'Eve']);
    expect(await names({ tags: { $all: ['eng', 'sec'] } })).toEqual(['Eve']);
    expect(await names({ tags: { $size: 0 } })).toEqual(['Cyd']);
    expect(await names({ tags: { $elemMatch: { $in: ['art', 'math'] } } })).toEqual(['Ada', 'Dee']);
    // an equality with an array value matches the whole array, in order
    expect(await names({ tags: ['eng', 'math'] })).toEqual([]);
    expect(await names({ tags: ['math', 'eng'] })).toEqual(['Ada']);
  });

  test('null matches both missing fields and explicit nulls', async () => {
    await User.collection.insertOne({ email: 'nul@x.io', name: 'Nul', age: null, tags: [] });
    const rows = await User.find({ age: null }).lean();
    expect(rows.map((u) => u.name)).toEqual(['Nul']);
    const noSecret = await User.countDocuments({ secret: null });
    expect(noSecret).toBe(5); // everybody but Dee, including Nul
  });

  test('findById with an unknown id returns null; exists answers with an _id or null', async () => {
    expect(await User.findById(new mongoose.Types.ObjectId())).toBeNull();
    const hit = await User.exists({ email: 'bob@x.io' });
    expect(hit).not.toBeNull();
    expect(hit!._id).toBeInstanceOf(mongoose.Types.ObjectId);
    expect(await User.exists({ email: 'nobody@x.io' })).toBeNull();
  });
});

describe('counts and distinct', () => {
  beforeEach(async () => {
    await User.insertMany(people);
  });

  test('countDocuments with and without a filter, honouring skip and limit', async () => {
    expect(await User.countDocuments()).toBe(5);
    expect(await User.countDocuments({ tags: 'eng' })).toBe(3);
    expect(await User.countDocuments({ age: { $gt: 100 } })).toBe(0);
    expect(await User.countDocuments({}, { skip: 1, limit: 3 })).toBe(3);
    expect(await User.countDocuments({}, { skip: 4 })).toBe(1);
  });

  test('estimatedDocumentCount reports the collection size', async () => {
    expect(await User.estimatedDocumentCount()).toBe(5);
    await User.deleteOne({ email: 'ada@x.io' });
    expect(await User.estimatedDocumentCount()).toBe(4);
  });

  test('distinct returns each value once and unwinds arrays', async () => {
    const cities = await User.distinct('address.city');
    expect([...cities].sort()).toEqual(['Berlin', 'London', 'Paris']);
    const tags = await User.distinct('tags');
    expect([...tags].sort()).toEqual(['art', 'eng', 'math', 'sec']);
    const londonAges = await User.distinct('age', { 'address.city': 'London' });
    expect([...londonAges].sort()).toEqual([36, 41]);
  });
});

describe('delete', () => {
  beforeEach(async () => {
    await User.insertMany(people);
  });

  test('deleteOne removes one match and reports deletedCount', async () => {
    const res = await User.deleteOne({ tags: 'eng' });
    expect(res.deletedCount).toBe(1);
    expect(await User.countDocuments({ tags: 'eng' })).toBe(2);
  });

  test('deleteMany removes every match; a miss deletes nothing', async () => {
    expect((await User.deleteMany({ age: { $lt: 31 } })).deletedCount).toBe(3);
    expect((await User.deleteMany({ age: { $lt: 31 } })).deletedCount).toBe(0);
    expect(await User.countDocuments()).toBe(2);
  });

  test('findOneAndDelete returns the removed document, honouring sort', async () => {
    const oldest = await User.findOneAndDelete({}, { sort: { age: -1 } }).lean();
    expect(oldest!.name).toBe('Cyd');
    expect(await User.exists({ name: 'Cyd' })).toBeNull();
    expect(await User.findOneAndDelete({ name: 'Cyd' })).toBeNull();
  });

  test('a deleted unique value can be inserted again', async () => {
    await User.deleteOne({ email: 'ada@x.io' });
    await expect(User.create({ ...people[0], name: 'Ada II' })).resolves.toBeDefined();
    expect((await User.findOne({ email: 'ada@x.io' }).lean())!.name).toBe('Ada II');
  });
});
