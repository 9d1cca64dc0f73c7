/**
 * Multi-document transactions as a MongoDB replica set runs them:
 * isolation until commit, atomic commit, abort, snapshot reads, write
 * conflicts (112 + TransientTransactionError) that make `withTransaction`
 * retry, and NoSuchTransaction (251) once the server has aborted.
 */
import mongoose, { Schema } from 'mongoose';
import { connectTestDb, rejection, type TestDb } from '../testkit';

interface Account {
  name: string;
  balance: number;
}
interface Counter {
  _id: string;
  n: number;
}

let db: TestDb;
let other: mongoose.Connection; // a second client: sees only committed data
let Account: mongoose.Model<Account>;
let Counter: mongoose.Model<Counter>;
const logModel = (conn: mongoose.Connection) => conn.model('Log', new Schema({ counter: String, seq: Number }));
let Log: ReturnType<typeof logModel>;
let OtherAccount: mongoose.Model<Account>;

const accountSchema = new Schema<Account>({ name: { type: String, unique: true }, balance: Number });

beforeAll(async () => {
  db = await connectTestDb('txn');
  other = await db.connectAgain();
  Account = db.conn.model<Account>('Account', accountSchema);
  Counter = db.conn.model<Counter>('Counter', new Schema<Counter>({ _id: String, n: Number }));
  Log = logModel(db.conn);
  OtherAccount = other.model<Account>('Account', accountSchema);
  // collections exist before any transaction touches them
  await Promise.all([Account.init(), Counter.init(), Log.init()]);
});
afterAll(() => db.close());

beforeEach(async () => {
  await Account.deleteMany({});
  await Account.create([
    { name: 'alice', balance: 100 },
    { name: 'bob', balance: 50 },
  ]);
});

const balances = async (m: mongoose.Model<Account> = Account) =>
  Object.fromEntries((await m.find().sort({ name: 1 }).lean()).map((a) => [a.name, a.balance]));

describe('commit and abort', () => {
  test('conn.transaction(): all writes become visible together on commit', async () => {
    await db.conn.transaction(async (session) => {
      await Account.updateOne({ name: 'alice' }, { $inc: { balance: -30 } }, { session });
      await Account.updateOne({ name: 'bob' }, { $inc: { balance: 30 } }, { session });
      await Account.create([{ name: 'carol', balance: 0 }], { session });
    });
    expect(await balances()).toEqual({ alice: 70, bob: 80, carol: 0 });
    expect(await balances(OtherAccount)).toEqual({ alice: 70, bob: 80, carol: 0 });
  });

  test('writes inside an open transaction are invisible outside it, visible inside, and appear at commit', async () => {
    const session = await db.conn.startSession();
    try {
      session.startTransaction();
      await Account.updateOne({ name: 'alice' }, { $inc: { balance: -10 } }, { session });
      await Account.create([{ name: 'dave', balance: 10 }], { session });
      await Account.deleteOne({ name: 'bob' }, { session });

      // inside: read your own writes
      const inside = await Account.find().session(session).sort({ name: 1 }).lean();
      expect(inside.map((a) => [a.name, a.balance])).toEqual([
        ['alice', 90],
        ['dave', 10],
      ]);
      expect(await Account.countDocuments({}, { session })).toBe(2);

      // outside, same connection without the session, and another client
      expect(await balances()).toEqual({ alice: 100, bob: 50 });
      expect(await balances(OtherAccount)).toEqual({ alice: 100, bob: 50 });
      expect(await Account.countDocuments()).toBe(2);
      expect(await OtherAccount.exists({ name: 'dave' })).toBeNull();

      await session.commitTransaction();
    } finally {
      await session.endSession();
    }
    expect(await balances()).toEqual({ alice: 90, dave: 10 });
    expect(await balances(OtherAccount)).toEqual({ alice: 90, dave: 10 });
  });

  test('abortTransaction discards inserts, updates and deletes', async () => {
    const session = await db.conn.startSession();
    try {
      session.startTransaction();
      await Account.updateOne({ name: 'alice' }, { $set: { balance: 0 } }, { session });
      await Account.create([{ name: 'erin', balance: 1 }], { session });
      await Account.deleteOne({ name: 'bob' }, { session });
      await session.abortTransaction();
    } finally {
      await session.endSession();
    }
    expect(await balances()).toEqual({ alice: 100, bob: 50 });
  });

  test('an error thrown in conn.transaction() aborts it and is rethrown', async () => {
    const boom = new Error('boom');
    const err = await rejection(
      db.conn.transaction(async (session) => {
        await Account.updateOne({ name: 'alice' }, { $inc: { balance: -100 } }, { session });
        await Account.create([{ name: 'frank', balance: 100 }], { session });
        throw boom;
      }),
    );
    expect(err).toBe(boom);
    expect(await balances()).toEqual({ alice: 100, bob: 50 });
  });

  test('a duplicate key inside a transaction fails that write; aborting leaves nothing behind', async () => {
    const session = await db.conn.startSession();
    try {
      session.startTransaction();
      await Account.create([{ name: 'gina', balance: 5 }], { session });
      const err = await rejection(Account.create([{ name: 'alice', balance: 5 }], { session }));
      expect(err.code).toBe(11000);
      await session.abortTransaction();
    } finally {
      await session.endSession();
    }
    expect(await Account.exists({ name: 'gina' })).toBeNull();
  });

  test('a transaction reads from one snapshot: a later outside commit does not show through', async () => {
    const session = await db.conn.startSession();
    try {
      session.startTransaction({ readConcern: { level: 'snapshot' } });
      const first = await Account.findOne({ name: 'bob' }).session(session).lean();
      expect(first!.balance).toBe(50);

      await OtherAccount.updateOne({ name: 'bob' }, { $set: { balance: 999 } });
      await OtherAccount.create({ name: 'hank', balance: 1 });

      const again = await Account.findOne({ name: 'bob' }).session(session).lean();
      expect(again!.balance).toBe(50);
      expect(await Account.exists({ name: 'hank' }).session(session)).toBeNull();
      await session.commitTransaction();
    } finally {
      await session.endSession();
    }
    expect((await Account.findOne({ name: 'bob' }).lean())!.balance).toBe(999);
  });
});

describe('write conflicts', () => {
  test('two transactions writing one document: the second gets 112 WriteConflict, TransientTransactionError; its commit then fails with 251', async () => {
    // the raw driver, so nothing retries behind our back
    const client = db.conn.getClient();
    const coll = client.db(db.dbName).collection<Account>(Account.collection.collectionName);
    const s1 = client.startSession();
    const s2 = client.startSession();
    try {
      s1.startTransaction();
      s2.startTransaction();
      await coll.updateOne({ name: 'alice' }, { $inc: { balance: 1 } }, { session: s1 });
      await coll.updateOne({ name: 'bob' }, { $inc: { balance: 1 } }, { session: s2 }); // no conflict

      const err = await rejection(coll.updateOne({ name: 'alice' }, { $inc: { balance: 1 } }, { session: s2 }));
      expect(err).toBeInstanceOf(mongoose.mongo.MongoServerError);
      expect(err.code).toBe(112);
      expect(err.codeName).toBe('WriteConflict');
      expect(err.hasErrorLabel('TransientTransactionError')).toBe(true);

      await s1.commitTransaction();

      // the server aborted s2's transaction when the conflict happened
      const gone = await rejection(s2.commitTransaction());
      expect(gone.code).toBe(251);
      expect(gone.codeName).toBe('NoSuchTransaction');
      expect(gone.hasErrorLabel('TransientTransactionError')).toBe(true);
    } finally {
      await s1.endSession();
      await s2.endSession();
    }
    // s1's increment only; s2's increment of bob went with its transaction
    expect(await balances()).toEqual({ alice: 101, bob: 50 });
  });

  test('a write to a document changed outside since the transaction began is a WriteConflict', async () => {
    const client = db.conn.getClient();
    const coll = client.db(db.dbName).collection<Account>(Account.collection.collectionName);
    const s = client.startSession();
    try {
      s.startTransaction();
      expect((await coll.findOne({ name: 'bob' }, { session: s }))!.balance).toBe(50); // snapshot taken
      await coll.updateOne({ name: 'bob' }, { $set: { balance: 60 } }); // outside, commits at once

      const err = await rejection(coll.updateOne({ name: 'bob' }, { $inc: { balance: 1 } }, { session: s }));
      expect(err.code).toBe(112);
      expect(err.hasErrorLabel('TransientTransactionError')).toBe(true);
      await s.abortTransaction();
    } finally {
      await s.endSession();
    }
    expect((await Account.findOne({ name: 'bob' }).lean())!.balance).toBe(60);
  });

  test('a write outside any transaction waits for the transaction holding the document, then applies', async () => {
    const client = db.conn.getClient();
    const coll = client.db(db.dbName).collection<Account>(Account.collection.collectionName);
    const s = client.startSession();
    try {
      s.startTransaction();
      await coll.updateOne({ name: 'alice' }, { $inc: { balance: 1 } }, { session: s });

      let outsideDone = false;
      const outside = coll.updateOne({ name: 'alice' }, { $inc: { balance: 10 } }).then((r) => {
        outsideDone = true;
        return r;
      });
      await new Promise((r) => setTimeout(r, 300));
      expect(outsideDone).toBe(false);

      await s.commitTransaction();
      const res = await outside;
      expect(res.modifiedCount).toBe(1);
    } finally {
      await s.endSession();
    }
    expect((await Account.findOne({ name: 'alice' }).lean())!.balance).toBe(111);
  });
});

describe('concurrent transactions retry to an exact total', () => {
  const N = 30;

  test(`${N} concurrent conn.transaction() $inc of one counter, each also logging once`, async () => {
    await Counter.create({ _id: 'inc', n: 0 });
    await Promise.all(
      Array.from({ length: N }, (_, i) =>
        db.conn.transaction(async (session) => {
          await Counter.updateOne({ _id: 'inc' }, { $inc: { n: 1 } }, { session });
          await Log.create([{ counter: 'inc', seq: i }], { session });
        }),
      ),
    );
    expect((await Counter.findById('inc').lean())!.n).toBe(N);
    // retried attempts left no stray log entries
    expect(await Log.countDocuments({ counter: 'inc' })).toBe(N);
    expect((await Log.distinct('seq', { counter: 'inc' })).length).toBe(N);
  }, 120_000);

  test(`${N} concurrent session.withTransaction() read-modify-write increments`, async () => {
    await Counter.create({ _id: 'rmw', n: 0 });
    await Promise.all(
      Array.from({ length: N }, async () => {
        const session = await db.conn.startSession();
        try {
          await session.withTransaction(async () => {
            const c = await Counter.findById('rmw').session(session).lean();
            await Counter.updateOne({ _id: 'rmw' }, { $set: { n: c!.n + 1 } }, { session });
          });
        } finally {
          await session.endSession();
        }
      }),
    );
    // a lost update would leave n < N: stale snapshots must conflict
    expect((await Counter.findById('rmw').lean())!.n).toBe(N);
  }, 120_000);
});
