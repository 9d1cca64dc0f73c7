/**
 * Error codes as MongoDB 7+ names them, and the "not an error" cases a
 * driver or mongoose relies on (reads from missing collections, idempotent
 * create and drop).
 */
import mongoose, { Schema } from 'mongoose';
import { connectTestDb, rejection, type TestDb } from '../testkit';

let db: TestDb;
const { Long } = mongoose.mongo;

beforeAll(async () => {
  db = await connectTestDb('errors');
});
afterAll(() => db.close());

const run = (cmd: mongoose.mongo.Document) => db.conn.db!.command(cmd);

describe('unknown commands', () => {
  test('fail with 59 CommandNotFound naming the command', async () => {
    const err = await rejection(run({ fooBar: 1 }));
    expect(err).toBeInstanceOf(mongoose.mongo.MongoServerError);
    expect(err.code).toBe(59);
    expect(err.codeName).toBe('CommandNotFound');
    expect(err.message).toContain('fooBar');
  });

  test('on the admin database too, and the connection stays usable', async () => {
    const err = await rejection(db.conn.getClient().db('admin').command({ definitelyNotACommand: 1 }));
    expect(err.code).toBe(59);
    expect(err.message).toContain('definitelyNotACommand');
    expect((await run({ ping: 1 })).ok).toBe(1);
  });
});

describe('collections', () => {
  test('dropping a missing collection succeeds (MongoDB 7+ makes it a no-op)', async () => {
    const res = await run({ drop: 'never_created' });
    expect(res.ok).toBe(1);
    await expect(db.conn.dropCollection('never_created_either')).resolves.toBeDefined();
  });

  // MongoDB 7.0 `create` docs: "If you try to create a collection or view that already exists and you
  // provide identical options ..., no action is taken and success is returned."
  test('create of an existing collection: same options succeed (7+), other options fail with 48 NamespaceExists', async () => {
    await run({ create: 'twice' });
    expect((await run({ create: 'twice' })).ok).toBe(1);
    const err = await rejection(run({ create: 'twice', capped: true, size: 4096 }));
    expect(err.code).toBe(48);
    expect(err.codeName).toBe('NamespaceExists');
  });

  test('listIndexes on a missing collection fails with 26 NamespaceNotFound', async () => {
    const err = await rejection(run({ listIndexes: 'no_such_coll' }));
    expect(err.code).toBe(26);
    expect(err.codeName).toBe('NamespaceNotFound');
  });

  // mongod (write_ops_exec): "An update on a non-existent collection is okay" — only an upsert creates it
  test('reads, deletes and non-upsert updates on a missing collection find nothing and do not create it', async () => {
    const Ghost = db.conn.model('Ghost', new Schema({ a: Number }, { autoCreate: false, autoIndex: false }));
    expect(await Ghost.find({ a: 1 }).lean()).toEqual([]);
    expect(await Ghost.findOne()).toBeNull();
    expect(await Ghost.countDocuments()).toBe(0);
    expect(await Ghost.estimatedDocumentCount()).toBe(0);
    expect(await Ghost.distinct('a')).toEqual([]);
    expect(await Ghost.aggregate([{ $match: {} }])).toEqual([]);
    expect((await Ghost.deleteMany({})).deletedCount).toBe(0);
    expect((await Ghost.updateMany({}, { $set: { a: 1 } })).matchedCount).toBe(0);
    const names = (await db.conn.db!.listCollections({ name: Ghost.collection.collectionName }).toArray()).map((c) => c.name);
    expect(names).toEqual([]);
  });

  test('a write to a missing collection creates it', async () => {
    const Lazy = db.conn.model('Lazy', new Schema({ a: Number }, { autoCreate: false, autoIndex: false }));
    await Lazy.updateOne({ a: 1 }, { $set: { a: 2 } }, { upsert: true });
    const names = (await db.conn.db!.listCollections({ name: Lazy.collection.collectionName }).toArray()).map((c) => c.name);
    expect(names).toEqual([Lazy.collection.collectionName]);
    expect(await Lazy.countDocuments({ a: 2 })).toBe(1);
  });
});

describe('bad queries', () => {
  test('an unknown query operator fails with 2 BadValue', async () => {
    const c = db.conn.db!.collection('q');
    await c.insertOne({ a: 1 });
    const err = await rejection(c.find({ a: { $frob: 1 } } as any).toArray());
    expect(err.code).toBe(2);
    expect(err.codeName).toBe('BadValue');
    expect(err.message).toMatch(/\$frob/);
  });

  test('an unknown top-level operator fails with 2 BadValue', async () => {
    const err = await rejection(db.conn.db!.collection('q').countDocuments({ $frob: [] } as any));
    expect(err.code).toBe(2);
  });

  test('getMore with an unknown cursor id fails with 43 CursorNotFound', async () => {
    const err = await rejection(run({ getMore: Long.fromString('4611686018427387904'), collection: 'q' }));
    expect(err.code).toBe(43);
    expect(err.codeName).toBe('CursorNotFound');
  });

  test('a failed command does not poison the connection', async () => {
    await rejection(run({ fooBar: 1 }));
    await rejection(run({ listIndexes: 'no_such_coll' }));
    expect(await db.conn.db!.collection('q').countDocuments({ a: 1 })).toBe(1);
  });
});
