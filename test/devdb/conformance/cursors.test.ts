/**
 * Cursors: results that span many batches (find and aggregate), getMore and
 * killCursors round trips, early close, and the errors for cursor ids the
 * server does not know.
 */
import mongoose, { Schema } from 'mongoose';
import { connectTestDb, rejection, type TestDb } from '../testkit';

interface Row {
  n: number;
  even: boolean;
  label: string;
}

let db: TestDb;
let Row: mongoose.Model<Row>;
const { Long } = mongoose.mongo;

beforeAll(async () => {
  db = await connectTestDb('cursors');
  Row = db.conn.model<Row>('Row', new Schema<Row>({ n: Number, even: Boolean, label: String }));
  await Row.init();
  // inserted out of order so that a sorted cursor proves it sorts
  const ns = Array.from({ length: 250 }, (_, i) => (i * 97) % 250);
  await Row.insertMany(ns.map((n) => ({ n, even: n % 2 === 0, label: `r${n}` })));
});
afterAll(() => db.close());

const countOf = (name: string) => db.commands.filter((c) => c === name).length;

describe('find cursors', () => {
  test('Model.find().cursor({ batchSize: 3 }) walks 20 documents in order over 6 getMores', async () => {
    db.commands.length = 0;
    const seen: number[] = [];
    for await (const doc of Row.find({ n: { $lt: 20 } }).sort({ n: 1 }).cursor({ batchSize: 3 })) {
      seen.push(doc.n);
    }
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(countOf('find')).toBe(1);
    // 3 in the first batch, then 3+3+3+3+3+2: the short last batch ends the cursor
    expect(countOf('getMore')).toBe(6);
    expect(countOf('killCursors')).toBe(0);
  });

  test('projection and filter hold across batches', async () => {
    const docs: Array<Record<string, unknown>> = [];
    const cursor = Row.find({ even: true, n: { $lt: 40 } }, { label: 1, _id: 0 }).sort({ n: -1 }).lean().cursor({ batchSize: 4 });
    for await (const d of cursor) docs.push(d);
    expect(docs).toHaveLength(20);
    expect(docs[0]).toEqual({ label: 'r38' });
    expect(docs[19]).toEqual({ label: 'r0' });
  });

  test('limit with a small batch size stops at the limit', async () => {
    db.commands.length = 0;
    const docs = await Row.find().sort({ n: 1 }).limit(7).batchSize(3).lean();
    expect(docs.map((d) => d.n)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(countOf('getMore')).toBe(2);
  });

  test('a result that fits in the first batch needs no getMore', async () => {
    db.commands.length = 0;
    const docs = await Row.find({ n: { $lt: 5 } }).lean();
    expect(docs).toHaveLength(5);
    expect(countOf('getMore')).toBe(0);
    expect(countOf('killCursors')).toBe(0);
  });

  test('the default batch size returns every document of a 250-document result', async () => {
    const docs = await Row.find().lean();
    expect(docs).toHaveLength(250);
    expect(new Set(docs.map((d) => d.n)).size).toBe(250);
  });

  test('two cursors interleaved keep their own positions', async () => {
    const evens = Row.find({ even: true }).sort({ n: 1 }).cursor({ batchSize: 2 });
    const odds = Row.find({ even: false }).sort({ n: 1 }).cursor({ batchSize: 2 });
    const got: number[] = [];
    for (let i = 0; i < 5; i++) {
      got.push((await evens.next())!.n, (await odds.next())!.n);
    }
    await Promise.all([evens.close(), odds.close()]);
    expect(got).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  test('eachAsync with parallelism visits every document exactly once', async () => {
    const seen = new Set<number>();
    let calls = 0;
    await Row.find({ n: { $gte: 100 } })
      .cursor({ batchSize: 5 })
      .eachAsync(
        async (doc) => {
          calls++;
          seen.add(doc.n);
        },
        { parallel: 4 },
      );
    expect(calls).toBe(150);
    expect(seen.size).toBe(150);
  });
});

describe('aggregate cursors', () => {
  const pipeline: mongoose.PipelineStage[] = [{ $match: { n: { $lt: 30 } } }, { $sort: { n: -1 } }, { $project: { _id: 0, n: 1 } }];
  const expected = Array.from({ length: 30 }, (_, i) => 29 - i);

  test('an aggregate cursor with batchSize 4 returns every result over 7 getMores', async () => {
    // the driver directly: mongoose's aggregate cursor sets batchSize on the first batch only
    db.commands.length = 0;
    const out: number[] = [];
    for await (const d of Row.collection.aggregate<{ n: number }>(pipeline, { batchSize: 4 })) out.push(d.n);
    expect(out).toEqual(expected);
    expect(countOf('aggregate')).toBe(1);
    // 4 in the first batch, 26 more in batches of 4: the short seventh ends the cursor
    expect(countOf('getMore')).toBe(7);
  });

  test('Model.aggregate().cursor({ batchSize: 4 }): a small first batch, the rest in one getMore', async () => {
    db.commands.length = 0;
    const out: number[] = [];
    for await (const d of Row.aggregate<{ n: number }>(pipeline).cursor({ batchSize: 4 })) out.push(d.n);
    expect(out).toEqual(expected);
    expect(countOf('getMore')).toBe(1);
  });
});

describe('closing and unknown cursors', () => {
  test('closing a cursor early kills it on the server; a later getMore gets 43 CursorNotFound', async () => {
    const coll = Row.collection;
    const cursor = coll.find({}, { batchSize: 2 });
    expect(await cursor.next()).not.toBeNull();
    const id = cursor.id!;
    expect(id).toBeInstanceOf(Long);
    expect(id.isZero()).toBe(false);

    db.commands.length = 0;
    await cursor.close();
    expect(countOf('killCursors')).toBe(1);

    const err = await rejection(db.conn.db!.command({ getMore: id, collection: coll.collectionName }));
    expect(err.code).toBe(43);
    expect(err.codeName).toBe('CursorNotFound');
  });

  test('getMore with an id the server never issued fails with 43 CursorNotFound', async () => {
    const err = await rejection(
      db.conn.db!.command({ getMore: Long.fromString('8070450532247928832'), collection: Row.collection.collectionName }),
    );
    expect(err.code).toBe(43);
    expect(err.codeName).toBe('CursorNotFound');
    expect(err.message).toMatch(/8070450532247928832/);
  });

  test('killCursors on unknown ids reports them as not found', async () => {
    const id = Long.fromString('7070450532247928832');
    const res = await db.conn.db!.command(
      { killCursors: Row.collection.collectionName, cursors: [id] },
      { promoteLongs: false },
    );
    expect(res.ok).toBe(1);
    expect(res.cursorsKilled).toEqual([]);
    expect(res.cursorsNotFound.map(String)).toEqual([id.toString()]);
  });

  test('cursor ids are int64 and a drained cursor reports id 0', async () => {
    // promoteLongs: false so the reply shows the BSON type the server sent
    const res = await db.conn.db!.command(
      { find: Row.collection.collectionName, filter: { n: { $lt: 5 } }, batchSize: 2 },
      { promoteLongs: false },
    );
    expect(res.cursor.firstBatch).toHaveLength(2);
    const id = res.cursor.id;
    expect(id).toBeInstanceOf(Long);
    expect(res.cursor.ns).toBe(`${db.dbName}.${Row.collection.collectionName}`);

    const more = await db.conn.db!.command(
      { getMore: id, collection: Row.collection.collectionName, batchSize: 10 },
      { promoteLongs: false },
    );
    expect(more.cursor.nextBatch).toHaveLength(3);
    expect(more.cursor.id).toBeInstanceOf(Long);
    expect(more.cursor.id.isZero()).toBe(true);
    // the drained cursor is gone
    const err = await rejection(db.conn.db!.command({ getMore: id, collection: Row.collection.collectionName }));
    expect(err.code).toBe(43);
  });
});
