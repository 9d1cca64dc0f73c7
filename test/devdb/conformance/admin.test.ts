/**
 * Handshake and catalog commands: what the driver learns from `hello`, and
 * listDatabases / listCollections / dropDatabase as mongoose uses them.
 */
import { Schema } from 'mongoose';
import { connectTestDb, type TestDb } from '../testkit';

let db: TestDb;

beforeAll(async () => {
  db = await connectTestDb('admin');
});
afterAll(() => db.close());

const admin = () => db.conn.getClient().db('admin');

test('hello presents a writable replica-set primary with sessions and wire version >= 17', async () => {
  const hello = await admin().command({ hello: 1 });
  expect(hello.isWritablePrimary).toBe(true);
  expect(typeof hello.setName).toBe('string');
  expect(hello.hosts).toEqual(expect.arrayContaining([hello.primary]));
  expect(hello.me).toBe(hello.primary);
  expect(hello.maxWireVersion).toBeGreaterThanOrEqual(17);
  expect(hello.logicalSessionTimeoutMinutes).toBeGreaterThan(0);
  expect(hello.maxBsonObjectSize).toBe(16 * 1024 * 1024);
  expect(hello.maxMessageSizeBytes).toBe(48_000_000);
  expect(hello.maxWriteBatchSize).toBe(100_000);
  expect(hello.$clusterTime).toBeDefined();
  expect(hello.operationTime).toBeDefined();
});

test('the driver sees a replica set with a primary', async () => {
  const client = db.conn.getClient();
  const description = (client as any).topology.description;
  expect(description.type).toBe('ReplicaSetWithPrimary');
});

test('ping and buildInfo (a 7.0+ version)', async () => {
  expect((await admin().command({ ping: 1 })).ok).toBe(1);
  const info = await admin().command({ buildInfo: 1 });
  expect(info.versionArray[0]).toBeGreaterThanOrEqual(7);
  expect(info.version).toMatch(/^\d+\.\d+/);
});

test('serverStatus answers with basic fields', async () => {
  const status = await admin().command({ serverStatus: 1 });
  expect(status.ok).toBe(1);
  expect(typeof status.uptime).toBe('number');
  expect(typeof status.host).toBe('string');
});

test('listCollections shows mongoose-created collections; listDatabases shows the database', async () => {
  const Thing = db.conn.model('Thing', new Schema({ a: Number }));
  await Thing.init();
  await Thing.create({ a: 1 });
  const colls = await db.conn.db!.listCollections().toArray();
  expect(colls.map((c) => c.name)).toContain('things');
  expect(colls.find((c) => c.name === 'things')).toMatchObject({ type: 'collection' });

  const dbs = await admin().command({ listDatabases: 1, nameOnly: true });
  expect(dbs.databases.map((d: { name: string }) => d.name)).toContain(db.dbName);
});

test('dropDatabase removes every collection of this database only', async () => {
  const other = db.conn.useDb(`${db.dbName}_x`);
  const A = other.model('A', new Schema({ a: Number }));
  await A.init(); // or its createCollection may land after the drop
  await A.create({ a: 1 });
  await other.dropDatabase();
  expect(await other.db!.listCollections().toArray()).toEqual([]);
  // our own database is untouched
  expect(await db.conn.db!.listCollections({ name: 'things' }).toArray()).toHaveLength(1);
});

test('endSessions is accepted', async () => {
  const session = await db.conn.startSession();
  await session.endSession();
  const res = await admin().command({ endSessions: [session.id] });
  expect(res.ok).toBe(1);
});
