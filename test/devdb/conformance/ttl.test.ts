/**
 * TTL indexes: a pass of the TTL monitor removes documents whose indexed
 * date (plus expireAfterSeconds) is in the past, and nothing else.
 *
 * These run on devdb only. A real mongod runs its TTL monitor every 60 s on
 * its own schedule and offers no way to trigger a pass, so against
 * MONGODB_URI the expiry tests are skipped (waiting > 60 s per test would
 * make the suite too slow to run). The TTL index options themselves are
 * checked against both servers in indexes.test.ts.
 */
import mongoose, { Schema } from 'mongoose';
import { connectTestDb, devdbOnly, type TestDb } from '../testkit';

let db: TestDb;
let Token: mongoose.Model<{ name: string; expireAt?: unknown }>;
let Event: mongoose.Model<{ name: string; createdAt: Date }>;

beforeAll(async () => {
  db = await connectTestDb('ttl');
  const tokenSchema = new Schema({ name: String, expireAt: Schema.Types.Mixed });
  tokenSchema.index({ expireAt: 1 }, { expireAfterSeconds: 0 });
  Token = db.conn.model('Token', tokenSchema) as any;
  // `expires` on a Date path: expireAfterSeconds = 60
  Event = db.conn.model('Event', new Schema({ name: String, createdAt: { type: Date, expires: 60 } })) as any;
  await Promise.all([Token.init(), Event.init()]);
});
afterAll(() => db.close());

const names = async (m: mongoose.Model<any, any, any, any>) =>
  ((await m.find().sort({ name: 1 }).lean()) as Array<{ name: string }>).map((d) => d.name);

test('the schemas declared TTL indexes (checked on both servers)', async () => {
  const ix = await Event.listIndexes();
  expect(ix.find((i: any) => i.name === 'createdAt_1')).toMatchObject({ expireAfterSeconds: 60 });
});

devdbOnly('a pass removes documents whose date is past, keeps future, missing and non-date values', async () => {
  const now = Date.now();
  await Token.collection.insertMany([
    { name: 'past', expireAt: new Date(now - 60_000) },
    { name: 'just-past', expireAt: new Date(now - 1_000) },
    { name: 'future', expireAt: new Date(now + 3_600_000) },
    { name: 'missing' },
    { name: 'string', expireAt: '2000-01-01' }, // not a date: never expires
    { name: 'number', expireAt: 0 },
    { name: 'array-one-past', expireAt: [new Date(now + 3_600_000), new Date(now - 60_000)] }, // earliest date counts
    { name: 'array-all-future', expireAt: [new Date(now + 3_600_000), new Date(now + 7_200_000)] },
  ]);
  await db.ttlNow();
  expect(await names(Token)).toEqual(['array-all-future', 'future', 'missing', 'number', 'string']);

  // a second pass with nothing expired deletes nothing
  expect(await db.devdb!.runTtlMonitor()).toBe(0);
  expect(await Token.countDocuments()).toBe(5);
});

devdbOnly('expireAfterSeconds is added to the indexed date', async () => {
  const now = Date.now();
  await Event.create([
    { name: 'old', createdAt: new Date(now - 120_000) }, // expired 60 s ago
    { name: 'recent', createdAt: new Date(now - 30_000) }, // expires in 30 s
    { name: 'new', createdAt: new Date(now) },
  ]);
  await db.ttlNow();
  expect(await names(Event)).toEqual(['new', 'recent']);
});

devdbOnly('runTtlMonitor reports how many documents it deleted', async () => {
  await Token.deleteMany({});
  await Token.collection.insertMany(
    Array.from({ length: 7 }, (_, i) => ({ name: `t${i}`, expireAt: new Date(Date.now() - (i + 1) * 1000) })),
  );
  await Token.collection.insertOne({ name: 'keep', expireAt: new Date(Date.now() + 60_000) });
  expect(await db.devdb!.runTtlMonitor()).toBe(7);
  expect(await names(Token)).toEqual(['keep']);
});

devdbOnly('a TTL pass while a transaction is open deletes expired documents; the transaction still commits', async () => {
  await Token.deleteMany({});
  await Token.collection.insertOne({ name: 'doomed', expireAt: new Date(Date.now() - 1000) });
  await Token.collection.insertOne({ name: 'fine', expireAt: new Date(Date.now() + 60_000) });
  const session = await db.conn.startSession();
  try {
    session.startTransaction();
    await Token.collection.updateOne({ name: 'fine' }, { $set: { touched: true } }, { session });
    await db.ttlNow();
    await session.commitTransaction();
  } finally {
    await session.endSession();
  }
  const left = await Token.find().lean<Array<{ name: string; touched?: boolean }>>();
  expect(left.map((d) => [d.name, d.touched])).toEqual([['fine', true]]);
});
