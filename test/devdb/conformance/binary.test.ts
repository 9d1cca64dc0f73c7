/**
 * Binary values compare by their bytes: an update to a Binary that differs
 * only in bytes that are not valid UTF-8 is applied, and equality queries
 * tell such values apart (mingo's own equality compares them by a lossy
 * string form; devdb must not).
 */
import mongoose from 'mongoose';
import { connectTestDb, type TestDb } from '../testkit';

let db: TestDb;
const { Binary } = mongoose.mongo;

beforeAll(async () => {
  db = await connectTestDb('binary');
});

afterAll(async () => {
  await db.close();
});

test('a $set of a Binary differing only in non-UTF-8 bytes is applied, and queries tell the two apart', async () => {
  const c = db.conn.db!.collection<{ _id: number; v: InstanceType<typeof Binary> }>('bins');
  const a = Buffer.alloc(16, 0xff);
  const b = Buffer.from(a);
  b[7] = 0xfe;
  await c.insertOne({ _id: 1, v: new Binary(a, 0x80) });
  const res = await c.updateOne({ _id: 1 }, { $set: { v: new Binary(b, 0x80) } });
  expect(res.modifiedCount).toBe(1);
  const back = await c.findOne({ _id: 1 });
  expect(Buffer.from(back!.v.buffer).equals(b)).toBe(true);
  expect(await c.countDocuments({ v: new Binary(a, 0x80) })).toBe(0);
  expect(await c.countDocuments({ v: new Binary(b, 0x80) })).toBe(1);
  expect(await c.countDocuments({ v: { $in: [new Binary(a, 0x80)] } })).toBe(0);
});

test('a $set into a scalar path is refused, as in MongoDB (28 PathNotViable)', async () => {
  const c = db.conn.db!.collection<{ _id: number; a: unknown }>('paths');
  await c.insertOne({ _id: 1, a: 5 });
  await expect(c.updateOne({ _id: 1 }, { $set: { 'a.b': 1 } })).rejects.toMatchObject({ code: 28 });
  expect((await c.findOne({ _id: 1 }))!.a).toBe(5);
});

test('a compare-and-set on a field its own $set changes still applies its $unset (the filter is matched as the statement found the document)', async () => {
  const c = db.conn.db!.collection<{ _id: number; v?: unknown; a?: string; b?: { c?: string; d: string } }>('cas');
  await c.insertOne({ _id: 1, a: 'x', b: { c: 'y', d: 'z' } });
  const res = await c.updateOne({ _id: 1, v: null, a: { $eq: 'x' } }, { $set: { v: new Binary(Buffer.alloc(4, 1), 0x80) }, $unset: { a: 1, 'b.c': 1 } });
  expect(res.matchedCount).toBe(1);
  const back = (await c.findOne({ _id: 1 }))!;
  expect(back).not.toHaveProperty('a');
  expect(back.b).toEqual({ d: 'z' });
  expect(back.v).toBeInstanceOf(Binary);
});
