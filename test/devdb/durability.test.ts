/**
 * devdb's durability through the real server: an acknowledged write
 * survives SIGKILL, a transaction is all-or-nothing after a crash, and a
 * clean restart (with or without compaction) keeps documents and indexes.
 * devdb-only by nature: a real MongoDB cannot be killed from a test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mongoose from 'mongoose';
import { startDevDb } from '../../devdb';

type MongoClient = mongoose.mongo.MongoClient;
type Doc = Record<string, unknown>;

const CHILD_SCRIPT = join(__dirname, 'fixtures', 'crash-child.ts');
const REPO_ROOT = join(__dirname, '..', '..');

const dirs: string[] = [];
const children = new Set<ChildProcess>();
const clients = new Set<MongoClient>();

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'devdb-durability-'));
  dirs.push(dir);
  return dir;
}

afterAll(async () => {
  for (const c of clients) await c.close(true).catch(() => undefined);
  for (const child of children) child.kill('SIGKILL');
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

function connect(uri: string): Promise<MongoClient> {
  const client = new mongoose.mongo.MongoClient(uri, {
    maxPoolSize: 32,
    // Fail fast once the server is gone instead of retrying for 30 s.
    serverSelectionTimeoutMS: 1500,
    retryWrites: false,
    retryReads: false,
  });
  clients.add(client);
  return client.connect();
}

async function closeClient(client: MongoClient): Promise<void> {
  clients.delete(client);
  await client.close(true).catch(() => undefined);
}

/** Starts devdb in a child process on `dataDir`; resolves with its URI once it listens. */
function startChild(dataDir: string): Promise<{ proc: ChildProcess; uri: string }> {
  const proc = spawn(process.execPath, ['-r', 'tsx/cjs', CHILD_SCRIPT, dataDir], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`devdb child did not start in time: ${err}`));
    }, 15_000);
    proc.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /READY (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, uri: `mongodb://127.0.0.1:${m[1]}/?replicaSet=devdb` });
      }
    });
    proc.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`devdb child exited (${code ?? signal}) before it was ready: ${err}`));
    });
  });
}

function killHard(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    proc.once('exit', () => resolve());
    proc.kill('SIGKILL');
  });
}

function stopGently(proc: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    proc.once('exit', (code) => resolve(code));
    proc.kill('SIGTERM');
  });
}

/** A checksum of a document's own content (every field but `sum`), so a half-written document shows. */
function checksum(doc: Doc): string {
  const fields = Object.keys(doc)
    .filter((k) => k !== 'sum')
    .sort()
    .map((k) => [k, doc[k]]);
  return createHash('sha256').update(JSON.stringify(fields)).digest('hex');
}
const sealed = (doc: Doc): Doc => ({ ...doc, sum: checksum(doc) });
const payload = (): string => randomBytes(8 + Math.floor(Math.random() * 200)).toString('base64');

describe('devdb durability', () => {
  test('every acknowledged write survives SIGKILL mid-load; transactions stay all-or-nothing', async () => {
    const dataDir = await tempDir();
    const first = await startChild(dataDir);
    const client = await connect(first.uri);
    const db = client.db('durability');
    const ins = db.collection<Doc>('ins');
    const upd = db.collection<Doc>('upd');
    const txn = db.collection<Doc>('txn');
    await txn.createIndex({ txn: 1 });

    const UPDATERS = 4;
    for (let k = 0; k < UPDATERS; k++) await upd.insertOne(sealed({ _id: `u${k}`, k, v: 0, payload: payload() }) as never);

    const ackedInserts: string[] = [];
    const ackedUpdate = new Array<number>(UPDATERS).fill(0);
    const ackedTxns: string[] = [];
    let failures = 0;
    let running = true;

    /** Runs `step` until the load stops or the server goes away. */
    const loop = async (step: (n: number) => Promise<void>): Promise<void> => {
      for (let n = 0; running; n++) {
        try {
          await step(n);
        } catch {
          failures++;
          return;
        }
      }
    };
    const inserter = (w: number) =>
      loop(async (n) => {
        const doc = sealed({ _id: `i${w}-${n}`, w, n, payload: payload() });
        await ins.insertOne(doc as never);
        ackedInserts.push(String(doc._id));
      });
    const batchInserter = (w: number) =>
      loop(async (n) => {
        const docs = Array.from({ length: 10 }, (_, j) => sealed({ _id: `m${w}-${n}-${j}`, w, n, j, payload: payload() }));
        await ins.insertMany(docs as never[], { ordered: true });
        for (const d of docs) ackedInserts.push(String(d._id));
      });
    const updater = (k: number) =>
      loop(async (n) => {
        const v = n + 1;
        const next = { _id: `u${k}`, k, v, payload: payload() };
        await upd.updateOne({ _id: `u${k}` } as never, { $set: { v, payload: next.payload, sum: checksum(next) } });
        ackedUpdate[k] = v;
      });
    const transactor = (w: number) =>
      loop(async (n) => {
        const id = `t${w}-${n}`;
        const session = client.startSession();
        try {
          session.startTransaction();
          await txn.insertOne(sealed({ _id: `${id}-a`, txn: id, part: 'a', payload: payload() }) as never, { session });
          await txn.insertOne(sealed({ _id: `${id}-b`, txn: id, part: 'b', payload: payload() }) as never, { session });
          await session.commitTransaction();
          ackedTxns.push(id);
        } finally {
          void session.endSession().catch(() => undefined);
        }
      });

    const load = [
      ...Array.from({ length: 8 }, (_, w) => inserter(w)),
      ...Array.from({ length: 2 }, (_, w) => batchInserter(w)),
      ...Array.from({ length: UPDATERS }, (_, k) => updater(k)),
      ...Array.from({ length: 4 }, (_, w) => transactor(w)),
    ];

    await new Promise((r) => setTimeout(r, 1500));
    const ackedBeforeKill = ackedInserts.length;
    await killHard(first.proc);
    running = false;
    await Promise.all(load);
    await closeClient(client);

    // The kill happened under load: writes were acknowledged, and some were cut off.
    expect(ackedBeforeKill).toBeGreaterThan(100);
    expect(ackedTxns.length).toBeGreaterThan(10);
    expect(failures).toBeGreaterThan(0);

    // Same folder, new process: recovery (and takeover of the dead process's lock).
    const second = await startChild(dataDir);
    const client2 = await connect(second.uri);
    const db2 = client2.db('durability');

    const insDocs = await db2.collection<Doc>('ins').find({}).toArray();
    const present = new Set(insDocs.map((d) => String(d._id)));
    expect(ackedInserts.filter((id) => !present.has(id))).toEqual([]);
    // A torn ordered insertMany is fine (MongoDB does not make it atomic either); torn documents are not.
    expect(insDocs.filter((d) => d.sum !== checksum(d)).map((d) => d._id)).toEqual([]);

    const updDocs = await db2.collection<Doc>('upd').find({}).sort({ k: 1 }).toArray();
    expect(updDocs).toHaveLength(UPDATERS);
    for (const d of updDocs) {
      expect(d.sum).toBe(checksum(d));
      const acked = ackedUpdate[d.k as number];
      // At most the one update in flight at the kill may also have landed.
      expect(d.v as number).toBeGreaterThanOrEqual(acked);
      expect(d.v as number).toBeLessThanOrEqual(acked + 1);
    }

    const txnDocs = await db2.collection<Doc>('txn').find({}).toArray();
    const parts = new Map<string, string[]>();
    for (const d of txnDocs) {
      expect(d.sum).toBe(checksum(d));
      parts.set(String(d.txn), [...(parts.get(String(d.txn)) ?? []), String(d.part)].sort());
    }
    expect([...parts].filter(([, p]) => p.join() !== 'a,b')).toEqual([]);
    expect(ackedTxns.filter((id) => !parts.has(id))).toEqual([]);

    // The recovered server takes writes and keeps them across a clean restart.
    await db2.collection<Doc>('ins').insertOne({ _id: 'after-recovery' } as never);
    await closeClient(client2);
    expect(await stopGently(second.proc)).toBe(0);
    const third = await startChild(dataDir);
    const client3 = await connect(third.uri);
    expect(await client3.db('durability').collection<Doc>('ins').countDocuments()).toBe(insDocs.length + 1);
    await closeClient(client3);
    expect(await stopGently(third.proc)).toBe(0);
  }, 30_000);

  test.each([
    ['without compaction', undefined],
    ['after compactions', 4096],
  ] as const)('a clean restart keeps documents and indexes (%s)', async (_label, compactBytes) => {
    const dataDir = await tempDir();
    const first = await startDevDb({ port: 0, dataDir, compactBytes });
    const client = await connect(first.uri);
    const items = client.db('restart').collection<Doc>('items');
    await items.createIndex({ sku: 1 }, { unique: true });
    await items.createIndex({ group: 1, at: -1 }, { name: 'group_at' });
    for (let i = 0; i < 200; i++) await items.insertOne({ sku: `sku-${i}`, group: i % 7, at: new Date(1_700_000_000_000 + i) });
    await items.updateMany({ group: 3 }, { $set: { flagged: true } });
    await items.deleteMany({ group: 5 });
    const before = await items.find({}).sort({ sku: 1 }).toArray();
    await closeClient(client);
    await first.stop();

    const files = await readdir(dataDir);
    if (compactBytes) expect(files.some((f) => f.startsWith('snapshot-'))).toBe(true);

    const second = await startDevDb({ port: 0, dataDir, compactBytes });
    const client2 = await connect(second.uri);
    const items2 = client2.db('restart').collection<Doc>('items');
    expect(await items2.find({}).sort({ sku: 1 }).toArray()).toEqual(before);
    const indexes = await items2.listIndexes().toArray();
    expect(indexes.map((ix) => ix.name).sort()).toEqual(['_id_', 'group_at', 'sku_1']);
    expect(indexes.find((ix) => ix.name === 'sku_1')).toMatchObject({ key: { sku: 1 }, unique: true });

    const dup = await items2.insertOne({ sku: 'sku-1' }).then(
      () => null,
      (err: { code?: number }) => err,
    );
    expect(dup?.code).toBe(11000);
    await closeClient(client2);
    await second.stop();
  });

  test('a second server on the same data folder is refused while the first runs', async () => {
    const dataDir = await tempDir();
    const first = await startDevDb({ port: 0, dataDir });
    try {
      await expect(startDevDb({ port: 0, dataDir })).rejects.toMatchObject({ code: 'JOURNAL_LOCKED' });
    } finally {
      await first.stop();
    }
    const again = await startDevDb({ port: 0, dataDir });
    await again.stop();
  });
});
