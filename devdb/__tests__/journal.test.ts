import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile, appendFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Binary, Decimal128, EJSON, ObjectId, UUID } from 'bson';
import { Journal, JournalError, type CompactionStep } from '../journal';
import type { JournalBatch, JournalOp } from '../journal-types';

// ---------------------------------------------------------------- helpers

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'devdb-journal-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** Canonical text of anything BSON, so ObjectId/Decimal128/Binary compare by value. */
const canon = (v: unknown): string => EJSON.stringify(v as never, { relaxed: false });

const put = (id: string, extra: Record<string, unknown> = {}): JournalOp => ({
  op: 'put',
  db: 'app',
  coll: 'items',
  doc: { _id: id, ...extra },
});
const del = (id: string): JournalOp => ({ op: 'del', db: 'app', coll: 'items', id });

/** A tiny model of the engine: what a list of batches rebuilds. */
class Model {
  readonly colls = new Map<string, Map<string, Record<string, unknown>>>();
  readonly indexes = new Map<string, Map<string, Record<string, unknown>>>();

  apply(batches: Iterable<JournalBatch>): this {
    for (const batch of batches) for (const op of batch) this.applyOp(op);
    return this;
  }

  private coll(ns: string): Map<string, Record<string, unknown>> {
    let c = this.colls.get(ns);
    if (!c) this.colls.set(ns, (c = new Map()));
    return c;
  }

  applyOp(op: JournalOp): void {
    switch (op.op) {
      case 'put':
        this.coll(`${op.db}.${op.coll}`).set(canon(op.doc._id), op.doc);
        break;
      case 'del':
        this.coll(`${op.db}.${op.coll}`).delete(canon(op.id));
        break;
      case 'createColl':
        this.coll(`${op.db}.${op.coll}`);
        break;
      case 'createIndex': {
        const ns = `${op.db}.${op.coll}`;
        this.coll(ns);
        if (!this.indexes.has(ns)) this.indexes.set(ns, new Map());
        this.indexes.get(ns)!.set(String(op.spec.name), op.spec);
        break;
      }
      case 'dropIndex':
        this.indexes.get(`${op.db}.${op.coll}`)?.delete(op.name);
        break;
      case 'dropColl':
        this.colls.delete(`${op.db}.${op.coll}`);
        this.indexes.delete(`${op.db}.${op.coll}`);
        break;
      case 'dropDb':
        for (const ns of [...this.colls.keys()]) if (ns.startsWith(`${op.db}.`)) this.colls.delete(ns);
        for (const ns of [...this.indexes.keys()]) if (ns.startsWith(`${op.db}.`)) this.indexes.delete(ns);
        break;
    }
  }

  /** What compaction's dump() returns for this state. */
  *dump(): Iterable<JournalOp> {
    for (const [ns, docs] of this.colls) {
      const [db, coll] = ns.split('.');
      yield { op: 'createColl', db, coll };
      for (const spec of this.indexes.get(ns)?.values() ?? []) yield { op: 'createIndex', db, coll, spec };
      for (const doc of docs.values()) yield { op: 'put', db, coll, doc };
    }
  }

  text(): string {
    const colls = [...this.colls].map(([ns, docs]) => [ns, [...docs].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, d]) => d)]);
    const idx = [...this.indexes].map(([ns, specs]) => [ns, [...specs.values()]]);
    return canon({ colls, idx });
  }

  ids(ns = 'app.items'): string[] {
    return [...(this.colls.get(ns)?.values() ?? [])].map((d) => String(d._id)).sort();
  }
}

async function files(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

async function rejection(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

const JOURNAL_1 = 'journal-00000001.log';

// ---------------------------------------------------------------- tests

describe('Journal', () => {
  describe('round trip', () => {
    test('batches appended are recovered in order, with BSON types intact', async () => {
      const dir = await tempDir();
      const batches: JournalBatch[] = [
        [{ op: 'createColl', db: 'app', coll: 'items' }],
        [{ op: 'createIndex', db: 'app', coll: 'items', spec: { key: { sku: 1 }, name: 'sku_1', unique: true } }],
        [
          put('a', {
            oid: new ObjectId(),
            when: new Date(1_700_000_000_000),
            dec: Decimal128.fromString('1.10'),
            uuid: new UUID(),
            bin: new Binary(Buffer.from([1, 2, 3]), 0x80),
            nested: { arr: [1, 'two', null, { three: 3.5 }] },
          }),
          put('b'),
        ],
        [del('b')],
        [],
      ];
      const { journal, recovered } = await Journal.open({ dir });
      expect(recovered).toEqual([]);
      for (const b of batches) await journal.append(b);
      await journal.close();

      const again = await Journal.open({ dir });
      expect(canon(again.recovered)).toBe(canon(batches));
      await again.journal.append([put('c')]);
      await again.journal.close();

      const third = await Journal.open({ dir });
      expect(canon(third.recovered)).toBe(canon([...batches, [put('c')]]));
      await third.journal.close();
    });

    test('creates the folder with mode 0700 and holds no temp files after close', async () => {
      const dir = join(await tempDir(), 'nested', 'data');
      const { journal } = await Journal.open({ dir });
      await journal.close();
      expect((await stat(dir)).mode & 0o777).toBe(0o700);
      expect(await files(dir)).toEqual([JOURNAL_1]);
    });

    test('the batch is captured at the call: mutating the ops afterwards changes nothing', async () => {
      const dir = await tempDir();
      const { journal } = await Journal.open({ dir });
      const doc = { _id: 'm', v: 1 };
      const p = journal.append([{ op: 'put', db: 'app', coll: 'items', doc }]);
      doc.v = 2;
      await p;
      await journal.close();
      const { journal: j2, recovered } = await Journal.open({ dir });
      expect(recovered[0][0]).toMatchObject({ doc: { v: 1 } });
      await j2.close();
    });

    test('a batch larger than the 16 MB BSON limit is one atomic record', async () => {
      const dir = await tempDir();
      const { journal } = await Journal.open({ dir, fsync: false });
      const big = (id: string): JournalOp => put(id, { blob: new Binary(randomBytes(7 * 1024 * 1024)) });
      const batch = [big('x'), big('y'), big('z')];
      await journal.append(batch);
      await journal.close();
      const { journal: j2, recovered } = await Journal.open({ dir });
      expect(recovered).toHaveLength(1);
      expect(canon(recovered[0])).toBe(canon(batch));
      await j2.close();
    });

    test('append after close is refused', async () => {
      const dir = await tempDir();
      const { journal } = await Journal.open({ dir });
      const pending = journal.append([put('late-but-queued')]);
      await journal.close();
      await expect(pending).resolves.toBeUndefined();
      const err = await rejection(journal.append([put('z')]));
      expect(err).toBeInstanceOf(JournalError);
      expect(err.code).toBe('JOURNAL_CLOSED');
    });
  });

  describe('group commit', () => {
    test('1,000 concurrent appends take a handful of flushes and resolve in call order', async () => {
      const dir = await tempDir();
      const { journal } = await Journal.open({ dir });
      const order: number[] = [];
      const all = Array.from({ length: 1000 }, (_, i) => journal.append([put(`d${i}`, { i })]).then(() => order.push(i)));
      await Promise.all(all);
      expect(order).toEqual(Array.from({ length: 1000 }, (_, i) => i));
      expect(journal.stats().flushes).toBeLessThanOrEqual(5);
      expect(journal.stats().appends).toBe(1000);
      await journal.close();

      const { journal: j2, recovered } = await Journal.open({ dir });
      expect(recovered.map((b) => (b[0] as Extract<JournalOp, { op: 'put' }>).doc.i)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
      await j2.close();
    });

    test('appends arriving while a flush runs share the next flush', async () => {
      const dir = await tempDir();
      const { journal } = await Journal.open({ dir });
      const order: string[] = [];
      const first = journal.append([put('first')]).then(() => order.push('first'));
      // Issued in later event-loop turns, while the first flush is in progress.
      const later: Promise<unknown>[] = [];
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
      for (let i = 0; i < 200; i++) later.push(journal.append([put(`l${i}`)]).then(() => order.push(`l${i}`)));
      await Promise.all([first, ...later]);
      expect(order).toEqual(['first', ...Array.from({ length: 200 }, (_, i) => `l${i}`)]);
      expect(journal.stats().flushes).toBeLessThanOrEqual(3);
      await journal.close();
    });
  });

  describe('torn tail', () => {
    async function twoBatches(): Promise<{ dir: string; path: string; sizeAfterFirst: number }> {
      const dir = await tempDir();
      const { journal } = await Journal.open({ dir });
      await journal.append([put('kept', { n: 1 })]);
      const path = join(dir, JOURNAL_1);
      const sizeAfterFirst = (await stat(path)).size;
      await journal.append([put('torn', { pad: 'x'.repeat(500) })]);
      await journal.close();
      return { dir, path, sizeAfterFirst };
    }

    const cases: Array<[string, (path: string, sizeAfterFirst: number) => Promise<void>]> = [
      ['a record cut in the middle', async (path, first) => truncate(path, first + 200)],
      ['only part of the next length field', async (path, first) => truncate(path, first + 3)],
      ['zeros where the kernel extended the file', async (path, first) => {
        await truncate(path, first);
        await appendFile(path, Buffer.alloc(8192));
      }],
      ['random garbage', async (path, first) => {
        await truncate(path, first);
        await appendFile(path, randomBytes(3000));
      }],
      ['a complete record with a flipped byte as the last record', async (path) => {
        const buf = await readFile(path);
        buf[buf.length - 10] ^= 0xff;
        await writeFile(path, buf);
      }],
    ];

    test.each(cases)('%s is cut off; earlier batches are intact and appends continue', async (_name, damage) => {
      const { dir, path, sizeAfterFirst } = await twoBatches();
      await damage(path, sizeAfterFirst);

      const { journal, recovered } = await Journal.open({ dir });
      expect(canon(recovered)).toBe(canon([[put('kept', { n: 1 })]]));
      expect((await stat(path)).size).toBe(sizeAfterFirst);
      expect(journal.stats().tornBytesAtOpen).toBeGreaterThan(0);
      await journal.append([put('after')]);
      await journal.close();

      const { journal: j2, recovered: r2 } = await Journal.open({ dir });
      expect(new Model().apply(r2).ids()).toEqual(['after', 'kept']);
      expect(j2.stats().tornBytesAtOpen).toBe(0);
      await j2.close();
    });

    test('a journal file that lost even its header starts over', async () => {
      const dir = await tempDir();
      const { journal } = await Journal.open({ dir });
      await journal.close();
      await truncate(join(dir, JOURNAL_1), 5);
      const { journal: j2, recovered } = await Journal.open({ dir });
      expect(recovered).toEqual([]);
      await j2.append([put('a')]);
      await j2.close();
      const { journal: j3, recovered: r3 } = await Journal.open({ dir });
      expect(new Model().apply(r3).ids()).toEqual(['a']);
      await j3.close();
    });
  });

  describe('corruption', () => {
    test('a damaged record followed by intact ones fails open and changes nothing', async () => {
      const dir = await tempDir();
      const { journal } = await Journal.open({ dir });
      const path = join(dir, JOURNAL_1);
      await journal.append([put('a')]);
      const middle = (await stat(path)).size;
      await journal.append([put('b', { pad: 'y'.repeat(100) })]);
      await journal.append([put('c')]);
      await journal.close();

      const buf = await readFile(path);
      buf[middle + 40] ^= 0x01;
      await writeFile(path, buf);

      const err = await rejection(Journal.open({ dir }));
      expect(err).toBeInstanceOf(JournalError);
      expect(err.code).toBe('JOURNAL_CORRUPT');
      expect(err.message).not.toContain('yyyy');
      expect(await readFile(path)).toEqual(buf);
      // The failed open released the lock: the same error again, not JOURNAL_LOCKED.
      expect((await rejection(Journal.open({ dir }))).code).toBe('JOURNAL_CORRUPT');
    });

    test('a damaged snapshot fails open', async () => {
      const dir = await tempDir();
      const model = new Model();
      const { journal } = await Journal.open({ dir });
      for (let i = 0; i < 20; i++) {
        const b = [put(`s${i}`)];
        model.apply([b]);
        await journal.append(b);
      }
      await journal.compact(() => model.dump());
      await journal.close();
      const snap = join(dir, 'snapshot-00000002.bson');
      const buf = await readFile(snap);
      buf[Math.floor(buf.length / 2)] ^= 0x10;
      await writeFile(snap, buf);
      expect((await rejection(Journal.open({ dir }))).code).toBe('JOURNAL_CORRUPT');
    });

    test('a missing journal generation fails open', async () => {
      const dir = await tempDir();
      const { journal } = await Journal.open({ dir });
      await journal.append([put('a')]);
      await journal.close();
      // journal-1 then journal-3: generation 2 is gone.
      await cp(join(dir, JOURNAL_1), join(dir, 'journal-00000003.log'));
      expect((await rejection(Journal.open({ dir }))).code).toBe('JOURNAL_CORRUPT');
    });
  });

  describe('compaction', () => {
    test('compact, keep appending, reopen: the same state from a snapshot and the new journal only', async () => {
      const dir = await tempDir();
      const model = new Model();
      const { journal } = await Journal.open({ dir, compactBytes: 4096 });
      const write = async (b: JournalBatch): Promise<void> => {
        model.apply([b]);
        await journal.append(b);
      };
      await write([{ op: 'createColl', db: 'app', coll: 'items' }]);
      await write([{ op: 'createIndex', db: 'app', coll: 'items', spec: { key: { n: 1 }, name: 'n_1', unique: true } }]);
      for (let i = 0; i < 100; i++) await write([put(`k${i}`, { n: i })]);
      for (let i = 0; i < 100; i += 3) await write([del(`k${i}`)]);
      expect(journal.needsCompaction()).toBe(true);

      const compacting = journal.compact(() => model.dump());
      expect(journal.needsCompaction()).toBe(false);
      // Appends made after compact() go to generation 2 while the snapshot is written.
      const during = Array.from({ length: 50 }, (_, i) => write([put(`after${i}`)]));
      await Promise.all([compacting, ...during]);
      expect(journal.stats()).toMatchObject({ gen: 2, compactions: 1 });
      await journal.close();

      expect(await files(dir)).toEqual(['journal-00000002.log', 'snapshot-00000002.bson']);
      const { journal: j2, recovered } = await Journal.open({ dir });
      expect(new Model().apply(recovered).text()).toBe(model.text());
      await j2.close();
    });

    test('a big state is streamed as many snapshot records', async () => {
      const dir = await tempDir();
      const model = new Model();
      for (let i = 0; i < 40; i++) model.applyOp(put(`big${i}`, { blob: new Binary(randomBytes(1024 * 1024)) }));
      const { journal } = await Journal.open({ dir, fsync: false });
      await journal.compact(() => model.dump());
      await journal.close();
      const { journal: j2, recovered } = await Journal.open({ dir });
      expect(recovered.length).toBeGreaterThan(5);
      expect(new Model().apply(recovered).text()).toBe(model.text());
      await j2.close();
    });

    test('a throwing dump changes nothing', async () => {
      const dir = await tempDir();
      const { journal } = await Journal.open({ dir });
      await journal.append([put('a')]);
      const boom = new Error('dump failed');
      await expect(
        journal.compact(function* () {
          yield put('a');
          throw boom;
        }),
      ).rejects.toBe(boom);
      await journal.append([put('b')]);
      await journal.close();
      expect(await files(dir)).toEqual([JOURNAL_1]);
      const { journal: j2, recovered } = await Journal.open({ dir });
      expect(new Model().apply(recovered).ids()).toEqual(['a', 'b']);
      await j2.close();
    });

    test('twice in a row, with reopen in between', async () => {
      const dir = await tempDir();
      const model = new Model();
      for (let round = 0; round < 3; round++) {
        const { journal, recovered } = await Journal.open({ dir });
        expect(new Model().apply(recovered).text()).toBe(model.text());
        for (let i = 0; i < 10; i++) {
          const b = [put(`r${round}-${i}`)];
          model.apply([b]);
          await journal.append(b);
        }
        await journal.compact(() => model.dump());
        await journal.compact(() => model.dump());
        await journal.close();
      }
      expect(await files(dir)).toEqual(['journal-00000007.log', 'snapshot-00000007.bson']);
    });
  });

  describe('crash during compaction', () => {
    /**
     * Runs a compaction while appends keep coming, copying the folder at each
     * durable step: each copy is what a crash at that moment leaves behind.
     * Appends use distinct ids, so a recovered state is "the first k batches".
     */
    test.each<CompactionStep>(['rotated', 'snapshotWritten', 'snapshotInstalled', 'cleaned'])(
      'a crash after step "%s" recovers every acknowledged batch, in order',
      async (crashStep) => {
        const dir = await tempDir();
        const crashDir = await tempDir();
        const base = new Model();
        const sequence: JournalBatch[] = [];
        let acked = 0;
        let ackedAtCrash = -1;

        const { journal } = await Journal.open({
          dir,
          onCompactionStep: async (step) => {
            if (step !== crashStep) return;
            ackedAtCrash = acked;
            await cp(dir, crashDir, { recursive: true, filter: (src) => !src.endsWith('LOCK') });
          },
        });
        for (let i = 0; i < 30; i++) {
          const b = [put(`pre${i}`)];
          base.apply([b]);
          await journal.append(b);
        }
        const compacting = journal.compact(() => base.dump());
        const during: Promise<void>[] = [];
        for (let i = 0; i < 40; i++) {
          const b = [put(`post${i}`)];
          sequence.push(b);
          during.push(journal.append(b).then(() => void acked++));
          if (i % 10 === 9) await new Promise((r) => setImmediate(r));
        }
        await Promise.all([compacting, ...during]);
        await journal.close();
        expect(ackedAtCrash).toBeGreaterThanOrEqual(0);

        const { journal: j2, recovered } = await Journal.open({ dir: crashDir });
        const ids = new Model().apply(recovered).ids();
        const post = ids.filter((id) => id.startsWith('post'));
        // A prefix of the post-compaction batches, containing every acknowledged one.
        const k = post.length;
        expect(k).toBeGreaterThanOrEqual(ackedAtCrash);
        const expected = new Model().apply([[...base.dump()]]).apply(sequence.slice(0, k));
        expect(new Model().apply(recovered).text()).toBe(expected.text());
        await j2.close();
        const left = await files(crashDir);
        expect(left.filter((f) => f.endsWith('.tmp'))).toEqual([]);
        const installed = crashStep === 'snapshotInstalled' || crashStep === 'cleaned';
        expect(left).toEqual(!installed ? [JOURNAL_1, 'journal-00000002.log'] : ['journal-00000002.log', 'snapshot-00000002.bson']);
      },
    );

    test('a half-written temp snapshot is ignored and removed; both journals are replayed', async () => {
      const dir = await tempDir();
      const crashDir = await tempDir();
      const model = new Model();
      const { journal } = await Journal.open({
        dir,
        onCompactionStep: async (step) => {
          if (step === 'snapshotWritten') await cp(dir, crashDir, { recursive: true, filter: (src) => !src.endsWith('LOCK') });
        },
      });
      for (let i = 0; i < 50; i++) {
        const b = [put(`a${i}`, { pad: 'z'.repeat(50) })];
        model.apply([b]);
        await journal.append(b);
      }
      const compacting = journal.compact(() => model.dump());
      const b = [put('after-compact')];
      model.apply([b]);
      await Promise.all([compacting, journal.append(b)]);
      await journal.close();

      const tmp = join(crashDir, 'snapshot-00000002.bson.tmp');
      await truncate(tmp, Math.floor((await stat(tmp)).size / 2));
      await writeFile(join(crashDir, 'snapshot-00000009.bson.tmp'), randomBytes(100));

      const { journal: j2, recovered } = await Journal.open({ dir: crashDir });
      expect(new Model().apply(recovered).text()).toBe(model.text());
      await j2.close();
      expect(await files(crashDir)).toEqual([JOURNAL_1, 'journal-00000002.log']);
    });
  });

  describe('lock', () => {
    test('a second open of the same folder in this process is refused', async () => {
      const dir = await tempDir();
      const { journal } = await Journal.open({ dir });
      const err = await rejection(Journal.open({ dir }));
      expect(err).toBeInstanceOf(JournalError);
      expect(err.code).toBe('JOURNAL_LOCKED');
      await journal.close();
      const again = await Journal.open({ dir });
      await again.journal.close();
    });

    test('a lock held by another live process is refused', async () => {
      const dir = await tempDir();
      const { journal } = await Journal.open({ dir });
      await journal.close();
      await writeFile(join(dir, 'LOCK'), JSON.stringify({ pid: process.ppid, start: null, host: hostname() }));
      expect((await rejection(Journal.open({ dir }))).code).toBe('JOURNAL_LOCKED');
    });

    test('a second process on the same folder gets JOURNAL_LOCKED', async () => {
      const dir = await tempDir();
      const { journal } = await Journal.open({ dir });
      const script = `
        const { Journal } = require(${JSON.stringify(join(__dirname, '..', 'journal.ts'))});
        Journal.open({ dir: ${JSON.stringify(dir)} }).then(
          () => { console.log('OPENED'); process.exit(0); },
          (err) => { console.log(err.code); process.exit(0); });`;
      const child = spawnSync(process.execPath, ['-r', 'tsx/cjs', '-e', script], { encoding: 'utf8', timeout: 20_000 });
      expect(child.stdout.trim()).toBe('JOURNAL_LOCKED');
      await journal.close();
    });

    test('a stale lock (owner gone, e.g. after SIGKILL) or an unreadable one is taken over', async () => {
      const dir = await tempDir();
      const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
      await writeFile(join(dir, 'LOCK'), JSON.stringify({ pid: dead, start: null, host: hostname() }));
      const first = await Journal.open({ dir });
      await first.journal.close();
      await writeFile(join(dir, 'LOCK'), 'garbage');
      const second = await Journal.open({ dir });
      await second.journal.close();
      expect(await files(dir)).toEqual([JOURNAL_1]);
    });
  });
});
