/**
 * The one way conformance tests get a database.
 *
 * - Without `MONGODB_URI`: starts a memory-only devdb on port 0 and connects
 *   mongoose to it.
 * - With `MONGODB_URI` (a MongoDB 7+ replica set or Atlas): devdb is not
 *   started; the test file gets its own freshly named database on that
 *   server, dropped again by `close()`.
 *
 * Either way the suite asserts what real MongoDB does, so a test that passes
 * on devdb and fails on MongoDB is a devdb fidelity bug, not a test to relax.
 *
 * @example
 * ```ts
 * let db: TestDb;
 * beforeAll(async () => { db = await connectTestDb('crud'); });
 * afterAll(() => db.close());
 * ```
 */
import { randomBytes } from 'node:crypto';
import mongoose from 'mongoose';
import { startDevDb, type DevDb } from '../../devdb';

export type { DevDb };

/** Set when the suite runs against a real MongoDB instead of devdb. */
export const realMongoUri: string | undefined = process.env.MONGODB_URI || undefined;
export const onRealMongo = realMongoUri !== undefined;

/**
 * `test` on devdb, `test.skip` on a real MongoDB: for behaviour that only
 * devdb can trigger on demand (running the TTL pass now, restarting the
 * server with the same data directory).
 */
export const devdbOnly: jest.It = onRealMongo ? test.skip : test;

export interface TestDb {
  /** A mongoose connection to this test file's database. */
  conn: mongoose.Connection;
  /** Server URI, without the database name. */
  uri: string;
  dbName: string;
  /** The in-process server; undefined against a real MongoDB. */
  devdb?: DevDb;
  /**
   * Names of the commands `conn` has sent, oldest first (driver command
   * monitoring, so it works against both servers). Tests may clear it.
   */
  commands: string[];
  /**
   * Runs devdb's TTL pass now. Throws against a real MongoDB: its TTL
   * monitor runs every 60 s and cannot be triggered, so TTL tests use
   * `devdbOnly`.
   */
  ttlNow(): Promise<void>;
  /** A second, independent connection (own client and pool) to the same database. */
  connectAgain(): Promise<mongoose.Connection>;
  /** Closes every connection; drops the database on a real MongoDB; stops devdb. */
  close(): Promise<void>;
}

/**
 * Connects to a fresh database for one test file.
 * @param label a short name for the database (letters, digits, `_`), e.g. the test file's theme
 */
export async function connectTestDb(label = 'conformance'): Promise<TestDb> {
  const dbName = `t_${label}_${randomBytes(4).toString('hex')}`;
  const devdb = onRealMongo ? undefined : await startDevDb({ port: 0 });
  const uri = realMongoUri ?? devdb!.uri;
  const extra: mongoose.Connection[] = [];

  const open = async (): Promise<mongoose.Connection> =>
    mongoose
      .createConnection(uri, { dbName, monitorCommands: true, serverSelectionTimeoutMS: 10_000 })
      .asPromise();

  let conn: mongoose.Connection;
  try {
    conn = await open();
  } catch (err) {
    await devdb?.stop();
    throw err;
  }

  const commands: string[] = [];
  conn.getClient().on('commandStarted', (event) => commands.push(event.commandName));

  return {
    conn,
    uri,
    dbName,
    devdb,
    commands,
    async ttlNow() {
      if (!devdb) {
        throw new Error('ttlNow(): a real MongoDB runs its TTL monitor on its own schedule; use devdbOnly');
      }
      await devdb.runTtlMonitor();
    },
    async connectAgain() {
      const c = await open();
      extra.push(c);
      return c;
    },
    async close() {
      try {
        for (const c of extra) await c.close();
        if (onRealMongo) await conn.dropDatabase();
        await conn.close();
      } finally {
        await devdb?.stop();
      }
    },
  };
}

/**
 * Awaits `promise` expecting it to reject, and returns the error so the test
 * can assert its code, labels and fields. Fails the test if it resolves.
 */
export async function rejection(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the operation to fail, but it succeeded');
}
