/**
 * Restart with a dataDir, through mongoose: documents, indexes (unique and
 * TTL), committed transactions and drops are all there after a clean stop
 * and start; an aborted transaction is not.
 *
 * devdb only: restarting a real server is not something a test suite may
 * do, so against MONGODB_URI these are skipped.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mongoose, { Schema } from 'mongoose';
import { startDevDb, type DevDb } from '../../../devdb';
import { devdbOnly, rejection } from '../testkit';

const dbName = 'restart';
let dataDir: string;

const userSchema = new Schema({ email: { type: String, unique: true }, n: Number, tags: [String] });
const tokenSchema = new Schema({ v: String, expireAt: Date });
tokenSchema.index({ expireAt: 1 }, { expireAfterSeconds: 0 });

async function open(): Promise<{ server: DevDb; conn: mongoose.Connection }> {
  const server = await startDevDb({ port: 0, dataDir });
  const conn = await mongoose.createConnection(server.uri, { dbName }).asPromise();
  return { server, conn };
}
async function shut({ server, conn }: { server: DevDb; conn: mongoose.Connection }) {
  await conn.close();
  await server.stop();
}

beforeAll(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'devdb-restart-'));
});
afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

devdbOnly('documents, indexes and committed transactions survive a stop and start; aborted ones do not', async () => {
  // first life
  let life = await open();
  {
    const User = life.conn.model('User', userSchema);
    const Token = life.conn.model('Token', tokenSchema);
    const Scratch = life.conn.model('Scratch', new Schema({ a: Number }));
    await Promise.all([User.init(), Token.init(), Scratch.init()]);

    await User.insertMany(Array.from({ length: 500 }, (_, i) => ({ email: `u${i}@x.io`, n: i, tags: [] })));
    await User.updateMany({ n: { $lt: 10 } }, { $push: { tags: 'early' } });
    await User.deleteMany({ n: { $gte: 490 } });
    await User.findOneAndUpdate({ email: 'u0@x.io' }, { $set: { n: -1 } });
    await Token.create({ v: 'live', expireAt: new Date(Date.now() + 3_600_000) });
    await Scratch.create({ a: 1 });
    await Scratch.collection.drop();

    await life.conn.transaction(async (session) => {
      await User.create([{ email: 'txn@x.io', n: 1000 }], { session });
      await User.updateOne({ email: 'u1@x.io' }, { $set: { n: 1001 } }, { session });
    });
    const session = await life.conn.startSession();
    session.startTransaction();
    await User.create([{ email: 'aborted@x.io', n: 2000 }], { session });
    await session.abortTransaction();
    await session.endSession();
  }
  await shut(life);

  // second life, same folder
  life = await open();
  try {
    const User = life.conn.model('User', userSchema);
    const Token = life.conn.model('Token', tokenSchema);

    expect(await User.countDocuments()).toBe(491);
    expect(await User.countDocuments({ tags: 'early' })).toBe(10);
    expect((await User.findOne({ email: 'u0@x.io' }).lean())!.n).toBe(-1);
    expect((await User.findOne({ email: 'u1@x.io' }).lean())!.n).toBe(1001);
    expect(await User.exists({ email: 'txn@x.io' })).not.toBeNull();
    expect(await User.exists({ email: 'aborted@x.io' })).toBeNull();
    expect(await User.exists({ n: { $gte: 490, $lt: 500 } })).toBeNull();

    const names = (await life.conn.db!.listCollections().toArray()).map((c) => c.name).sort();
    expect(names).toEqual(['tokens', 'users']);

    // the unique index came back and is enforced
    const ix = await User.listIndexes();
    expect(ix.find((i: { name: string }) => i.name === 'email_1')).toMatchObject({ unique: true });
    expect((await rejection(User.create({ email: 'u5@x.io' }))).code).toBe(11000);

    // the TTL index came back with its option
    const tix = await Token.listIndexes();
    expect(tix.find((i: { name: string }) => i.name === 'expireAt_1')).toMatchObject({ expireAfterSeconds: 0 });
    expect(await Token.countDocuments()).toBe(1);

    // and the database keeps working: a write after restart survives the next one
    await User.create({ email: 'second-life@x.io', n: 3000 });
  } finally {
    await shut(life);
  }

  life = await open();
  try {
    const User = life.conn.model('User', userSchema);
    expect(await User.countDocuments()).toBe(492);
    expect(await User.exists({ email: 'second-life@x.io' })).not.toBeNull();
  } finally {
    await shut(life);
  }
});

devdbOnly('a memory-only server starts empty every time', async () => {
  for (let i = 0; i < 2; i++) {
    const server = await startDevDb({ port: 0 });
    const conn = await mongoose.createConnection(server.uri, { dbName }).asPromise();
    try {
      const User = conn.model('User', userSchema);
      expect(await User.countDocuments()).toBe(0);
      await User.create({ email: 'x@x.io', n: 1 });
    } finally {
      await conn.close();
      await server.stop();
    }
  }
});
