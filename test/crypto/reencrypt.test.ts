/**
 * The re-encryption job of a data key rotation (lib/crypto/reencrypt.ts)
 * over devdb, through the wire, on two toy encrypted models (personal data
 * under subject keys, notes under the tenant key): everything ends on the
 * current versions with the same values, readers never fail while it runs,
 * a killed run resumes from its checkpoint with counts that add up, shredded
 * subjects are left alone (and get no new key), and old versions are
 * retired only when no stored envelope names them.
 */
import { randomBytes } from 'node:crypto';
import mongoose, { Schema, type Connection, type Model } from 'mongoose';
import { startDevDb, type DevDb } from '../../devdb';
import { loadCryptoConfig, newDataKeyVersion, readKeyRef, sealValue, shredSubject } from '../../lib/crypto';
import { encryptedFields, isEnvelope, type UnreadableField } from '../../lib/crypto/model-encryption';
import { findUnfinishedJob, KEY_ROTATION_JOBS, reencryptTenant, ReencryptJobError, type ReencryptJob } from '../../lib/crypto/reencrypt';
import { openFieldCrypto, type FieldCryptoRuntime } from '../../lib/crypto/runtime';
import { tempDir } from './kit';

interface PersonDoc {
  _id: string;
  tenantId: string;
  subjectId: string;
  name: string | null;
  contact: { email: string | null; city: string | null } | null;
}
interface NoteDoc {
  _id: string;
  tenantId: string;
  body: string | null;
  score: number | null;
}

const Encrypted = { type: Schema.Types.Mixed, default: null };
const personSchema = new Schema<PersonDoc>(
  {
    _id: String,
    tenantId: { type: String, required: true },
    subjectId: { type: String, required: true },
    name: Encrypted,
    contact: { type: new Schema({ email: Encrypted, city: String }, { _id: false }), default: null },
  },
  { collection: 'rx_people', versionKey: false },
);
personSchema.plugin(encryptedFields, { collection: 'rx_people', paths: ['name', 'contact.email'], subjectPath: 'subjectId' });
const noteSchema = new Schema<NoteDoc>({ _id: String, tenantId: { type: String, required: true }, body: Encrypted, score: Encrypted }, { collection: 'rx_notes', versionKey: false });
noteSchema.plugin(encryptedFields, { collection: 'rx_notes', paths: ['body', 'score'] });

let devdb: DevDb;
let keys: { dir: string; cleanup(): void };
const unreadable: UnreadableField[] = [];

// Ids in insertion order, so `_id` order is predictable.
let seq = 0;
const nextId = () => `${String(++seq).padStart(8, '0')}${randomBytes(4).toString('hex')}`;

interface World {
  conn: Connection;
  runtime: FieldCryptoRuntime;
  People: Model<PersonDoc>;
  Notes: Model<NoteDoc>;
  tenant: string;
  other: string;
  close(): Promise<void>;
}

/** A fresh database: `people` documents over `subjects` subjects and `notes` notes in a tenant, and a few in another tenant. */
async function world(people = 60, subjects = 12, notes = 20): Promise<World> {
  const conn = await mongoose.createConnection(devdb.uri, { dbName: `reencrypt_${randomBytes(4).toString('hex')}` }).asPromise();
  const runtime = await openFieldCrypto(conn, { appEnv: 'development', crypto: loadCryptoConfig({}, { appEnv: 'development', keysDir: keys.dir }), onUnreadable: (f) => unreadable.push(f) });
  const People = conn.model<PersonDoc>('RxPerson', personSchema);
  const Notes = conn.model<NoteDoc>('RxNote', noteSchema);
  await Promise.all([People.init(), Notes.init()]);
  const tenant = `t-${randomBytes(3).toString('hex')}`;
  const other = `o-${randomBytes(3).toString('hex')}`;
  for (let i = 0; i < people; i++)
    await People.create({ _id: nextId(), tenantId: tenant, subjectId: `s-${i % subjects}`, name: `Person ${i}`, contact: { email: `p${i}@example.com`, city: 'Leeds' } });
  for (let i = 0; i < notes; i++) await Notes.create({ _id: nextId(), tenantId: tenant, body: `note ${i}`, score: i });
  for (let i = 0; i < 5; i++) await People.create({ _id: nextId(), tenantId: other, subjectId: `x-${i}`, name: `Other ${i}`, contact: { email: `o${i}@example.com`, city: 'Oslo' } });
  return {
    conn,
    runtime,
    People,
    Notes,
    tenant,
    other,
    close: async () => {
      await conn.close();
      await runtime.close();
    },
  };
}

/** Key id of every envelope stored for a tenant, per collection. */
async function storedKeyIds(w: World, tenantId: string): Promise<string[]> {
  const out: string[] = [];
  for (const [coll, paths] of [
    ['rx_people', ['name', 'contact.email']],
    ['rx_notes', ['body', 'score']],
  ] as const) {
    for (const d of await w.conn.db!.collection(coll).find({ tenantId }).toArray()) {
      for (const p of paths) {
        const v = p.split('.').reduce<any>((o, k) => (o == null ? o : o[k]), d);
        if (isEnvelope(v)) out.push(readKeyRef(v).keyId);
      }
    }
  }
  return out;
}

/** Key ids of the current (highest active) version of every series of a tenant. */
async function currentKeyIds(w: World, tenantId: string): Promise<Set<string>> {
  const best = new Map<string, { id: string; version: number }>();
  for (const k of await w.runtime.vault.listKeys({ tenantId, status: ['active'] })) {
    const s = `${k.scope}:${k.subjectId}`;
    if (!best.has(s) || best.get(s)!.version < k.version) best.set(s, { id: k._id, version: k.version });
  }
  return new Set([...best.values()].map((b) => b.id));
}

async function rotateAll(w: World, tenantId: string): Promise<void> {
  await newDataKeyVersion(w.runtime.vault, { tenantId });
  const subjects = new Set((await w.runtime.vault.listKeys({ tenantId, scope: 'subject', status: ['active'] })).map((k) => k.subjectId!));
  for (const subjectId of subjects) await newDataKeyVersion(w.runtime.vault, { tenantId, subjectId });
}

const models = (w: World) => [w.People, w.Notes];

beforeAll(async () => {
  devdb = await startDevDb({ port: 0 });
  keys = tempDir();
});
afterAll(async () => {
  await devdb.stop();
  keys.cleanup();
});
beforeEach(() => {
  unreadable.length = 0;
});

test('moves every envelope of the tenant onto the current versions, values unchanged, retires the old versions, leaves other tenants alone', async () => {
  const w = await world();
  try {
    const before = await w.People.find({ tenantId: w.tenant }).sort({ _id: 1 }).lean();
    const otherBefore = JSON.stringify(await w.conn.db!.collection('rx_people').find({ tenantId: w.other }).toArray());
    const oldIds = new Set(await storedKeyIds(w, w.tenant));
    await rotateAll(w, w.tenant);
    const progress: number[] = [];
    const res = await reencryptTenant({ conn: w.conn, vault: w.runtime.vault, tenantId: w.tenant, models: models(w), batchSize: 7, onProgress: (p) => p.phase === 'reencrypt' && progress.push(p.done) });

    expect(res.status).toBe('finished');
    // 60 people × 2 paths + 20 notes × 2 paths.
    expect(res.counts).toEqual({ scanned: 80, envelopes: 160, reencrypted: 160, current: 0, skipped: 0, shredded: 0, failed: 0 });
    expect(progress[progress.length - 1]).toBe(80);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    const current = await currentKeyIds(w, w.tenant);
    const after = await storedKeyIds(w, w.tenant);
    expect(after.every((id) => current.has(id) && !oldIds.has(id))).toBe(true);
    // 12 subject keys and the tenant key: their version 1 is retired, version 2 is current.
    expect(res.retired).toHaveLength(13);
    expect(res.stillInUse).toEqual([]);
    const retired = await w.runtime.vault.listKeys({ tenantId: w.tenant, status: ['retired'] });
    expect(new Set(retired.map((k) => k._id))).toEqual(oldIds);
    // Same values, read back through the plugin (a fresh cache: keys come from the store).
    w.runtime.vault.clearCache();
    expect(await w.People.find({ tenantId: w.tenant }).sort({ _id: 1 }).lean()).toEqual(before);
    expect((await w.Notes.find({ tenantId: w.tenant }).sort({ _id: 1 }).lean()).map((n) => [n.body, n.score])).toEqual(Array.from({ length: 20 }, (_, i) => [`note ${i}`, i]));
    expect(JSON.stringify(await w.conn.db!.collection('rx_people').find({ tenantId: w.other }).toArray())).toBe(otherBefore);
    expect(unreadable).toEqual([]);
    // The checkpoint document says the same.
    const job = (await w.conn.db!.collection<ReencryptJob>(KEY_ROTATION_JOBS).findOne({ _id: res.jobId }))!;
    expect(job).toMatchObject({ status: 'finished', phase: 'done', tenantId: w.tenant, total: 80, leaseUntil: null, counts: res.counts });
    expect(job.finishedAt).toBeInstanceOf(Date);
    expect(job.collections.map((c) => [c.collection, c.done, c.counts.scanned])).toEqual([
      ['rx_people', true, 60],
      ['rx_notes', true, 20],
    ]);
  } finally {
    await w.close();
  }
});

test('rotation under load: readers decrypting and writers writing all the while see no failed read; nothing the app wrote is overwritten', async () => {
  const w = await world(80, 16, 10);
  try {
    // What each person's name may read as: the seeded value, or whatever a writer set.
    const names = new Map<string, Set<string>>();
    for (const p of await w.People.find({ tenantId: w.tenant }).lean()) names.set(p._id, new Set([p.name!]));
    const ids = [...names.keys()];
    await rotateAll(w, w.tenant);
    let running = true;
    let reads = 0;
    let writes = 0;
    const problems: string[] = [];
    const reader = async () => {
      while (running) {
        for (const p of await w.People.find({ tenantId: w.tenant }).lean()) {
          if (p.name === null || !names.get(p._id)!.has(p.name)) problems.push(`${p._id}: ${String(p.name)}`);
          if (p.contact?.email === null) problems.push(`${p._id}: email null`);
        }
        reads++;
      }
    };
    const writer = async () => {
      let i = 0;
      while (running) {
        const id = ids[(i * 7) % ids.length];
        const name = `Renamed ${i++}`;
        names.get(id)!.add(name);
        await w.People.updateOne({ _id: id }, { $set: { name } });
        writes++;
      }
    };
    const load = Promise.all([reader(), reader(), writer()]);
    const res = await reencryptTenant({ conn: w.conn, vault: w.runtime.vault, tenantId: w.tenant, models: models(w), batchSize: 5 }).finally(() => {
      running = false;
    });
    await load;
    expect(problems).toEqual([]);
    expect(unreadable).toEqual([]);
    expect(reads).toBeGreaterThan(1);
    expect(writes).toBeGreaterThan(1);
    expect(res.status).toBe('finished');
    expect(res.counts.failed).toBe(0);
    // Every envelope either rewritten by the job, already current (written by the app before the job reached it), or skipped (written meanwhile).
    expect(res.counts.reencrypted + res.counts.current + res.counts.skipped).toBe(res.counts.envelopes);
    const current = await currentKeyIds(w, w.tenant);
    expect((await storedKeyIds(w, w.tenant)).every((id) => current.has(id))).toBe(true);
    // The writers' last values stand.
    for (const p of await w.People.find({ tenantId: w.tenant }).lean()) expect(names.get(p._id)!.has(p.name!)).toBe(true);
  } finally {
    await w.close();
  }
});

test('a killed run resumes from its checkpoint: every document ends on the new version and the counts add up', async () => {
  const w = await world(40, 8, 15);
  try {
    await rotateAll(w, w.tenant);
    const crash = new Error('simulated crash');
    await expect(
      reencryptTenant({
        conn: w.conn,
        vault: w.runtime.vault,
        tenantId: w.tenant,
        models: models(w),
        batchSize: 6,
        afterBatch: ({ batch }) => {
          if (batch === 3) throw crash;
        },
      }),
    ).rejects.toBe(crash);
    const failed = (await findUnfinishedJob(w.conn, w.tenant))!;
    expect(failed).toMatchObject({ status: 'failed', error: 'simulated crash', leaseUntil: null, phase: 'reencrypt' });
    expect(failed.counts).toMatchObject({ scanned: 18, reencrypted: 36 });
    expect(failed.collections[0]).toMatchObject({ collection: 'rx_people', done: false });
    // Half done: some envelopes still name old versions.
    const current = await currentKeyIds(w, w.tenant);
    expect((await storedKeyIds(w, w.tenant)).filter((id) => !current.has(id))).toHaveLength(80 + 30 - 36);

    // A new job is refused while this one is unfinished.
    await expect(reencryptTenant({ conn: w.conn, vault: w.runtime.vault, tenantId: w.tenant, models: models(w) })).rejects.toBeInstanceOf(ReencryptJobError);
    // A job whose runner holds a live lease (killed a moment ago) is not taken over; once the lease has expired it is.
    const jobs = w.conn.db!.collection<ReencryptJob>(KEY_ROTATION_JOBS);
    await jobs.updateOne({ _id: failed._id }, { $set: { status: 'running', leaseUntil: new Date(Date.now() + 60_000) } });
    await expect(reencryptTenant({ conn: w.conn, vault: w.runtime.vault, tenantId: w.tenant, models: models(w), resume: true })).rejects.toThrow(/being run by another process/);
    await jobs.updateOne({ _id: failed._id }, { $set: { leaseUntil: new Date(Date.now() - 1) } });

    const res = await reencryptTenant({ conn: w.conn, vault: w.runtime.vault, tenantId: w.tenant, models: models(w), resume: true });
    expect(res.jobId).toBe(failed._id);
    expect(res.status).toBe('finished');
    expect(res.counts).toEqual({ scanned: 55, envelopes: 110, reencrypted: 110, current: 0, skipped: 0, shredded: 0, failed: 0 });
    expect((await storedKeyIds(w, w.tenant)).every((id) => current.has(id))).toBe(true);
    expect(res.retired).toHaveLength(9);
    expect(await findUnfinishedJob(w.conn, w.tenant)).toBeNull();
    await expect(reencryptTenant({ conn: w.conn, vault: w.runtime.vault, tenantId: w.tenant, models: models(w), resume: true })).rejects.toThrow(/no unfinished/);
    expect((await w.People.find({ tenantId: w.tenant }).lean()).every((p) => p.name?.startsWith('Person '))).toBe(true);
  } finally {
    await w.close();
  }
});

test('an interrupted run (signal) stops between batches and resumes', async () => {
  const w = await world(30, 5, 0);
  try {
    await rotateAll(w, w.tenant);
    const abort = new AbortController();
    const first = await reencryptTenant({ conn: w.conn, vault: w.runtime.vault, tenantId: w.tenant, models: models(w), batchSize: 10, signal: abort.signal, afterBatch: () => abort.abort() });
    expect(first).toMatchObject({ status: 'interrupted', counts: { scanned: 10 } });
    const res = await reencryptTenant({ conn: w.conn, vault: w.runtime.vault, tenantId: w.tenant, models: models(w), resume: true });
    expect(res).toMatchObject({ status: 'finished', counts: { scanned: 30, reencrypted: 60 } });
  } finally {
    await w.close();
  }
});

test('values of a shredded subject are skipped and counted, never rewritten, and the subject gets no new key', async () => {
  const w = await world(24, 6, 4);
  try {
    const shredded = await w.conn.db!.collection('rx_people').find({ tenantId: w.tenant, subjectId: 's-2' }).sort({ _id: 1 }).toArray();
    expect(shredded).toHaveLength(4);
    await rotateAll(w, w.tenant);
    await shredSubject(w.runtime.vault, { tenantId: w.tenant, subjectId: 's-2' });
    const res = await reencryptTenant({ conn: w.conn, vault: w.runtime.vault, tenantId: w.tenant, models: models(w), batchSize: 5 });
    expect(res.counts).toEqual({ scanned: 28, envelopes: 56, reencrypted: 48, current: 0, skipped: 0, shredded: 8, failed: 0 });
    expect(await w.conn.db!.collection('rx_people').find({ tenantId: w.tenant, subjectId: 's-2' }).sort({ _id: 1 }).toArray()).toEqual(shredded);
    const keysOfSubject = await w.runtime.vault.listKeys({ tenantId: w.tenant, scope: 'subject', subjectId: 's-2' });
    expect(keysOfSubject.map((k) => k.status)).toEqual(['destroyed', 'destroyed']);
    // Five living subjects and the tenant: version 1 retired.
    expect(res.retired).toHaveLength(6);
  } finally {
    await w.close();
  }
});

test('an old version still named by a stored value (a writer with a stale key cache) is not retired; the next run moves it and retires it; the current version never is', async () => {
  const w = await world(0, 1, 12);
  try {
    const [v1] = await w.runtime.vault.listKeys({ tenantId: w.tenant, scope: 'tenant' });
    await newDataKeyVersion(w.runtime.vault, { tenantId: w.tenant });
    const oldKey = await w.runtime.vault.dataKeyById(v1._id);
    let staleWritten = false;
    const res = await reencryptTenant({
      conn: w.conn,
      vault: w.runtime.vault,
      tenantId: w.tenant,
      models: models(w),
      batchSize: 5,
      // After the job has passed it, a process still on version 1 rewrites the first note.
      afterBatch: async ({ collection }) => {
        if (collection !== 'rx_notes' || staleWritten) return;
        staleWritten = true;
        const first = (await w.conn.db!.collection('rx_notes').find({ tenantId: w.tenant }).sort({ _id: 1 }).limit(1).next())!;
        const body = sealValue('stale writer', oldKey, { tenantId: w.tenant, collection: 'rx_notes', field: 'body', documentId: first._id as unknown as string });
        await w.conn.db!.collection('rx_notes').updateOne({ _id: first._id }, { $set: { body } });
      },
    });
    expect(res.status).toBe('finished');
    expect(res.retired).toEqual([]);
    expect(res.stillInUse).toEqual([{ keyId: v1._id, scope: 'tenant', version: 1, envelopes: 1 }]);
    expect((await w.runtime.vault.listKeys({ tenantId: w.tenant, scope: 'tenant' })).map((k) => [k.version, k.status])).toEqual(
      expect.arrayContaining([
        [1, 'active'],
        [2, 'active'],
      ]),
    );
    const again = await reencryptTenant({ conn: w.conn, vault: w.runtime.vault, tenantId: w.tenant, models: models(w) });
    expect(again.counts).toMatchObject({ reencrypted: 1, current: 23 });
    expect(again.retired).toEqual([{ keyId: v1._id, scope: 'tenant', version: 1 }]);
    const statuses = Object.fromEntries((await w.runtime.vault.listKeys({ tenantId: w.tenant, scope: 'tenant' })).map((k) => [k.version, k.status]));
    expect(statuses).toEqual({ 1: 'retired', 2: 'active' });
    expect((await w.Notes.find({ tenantId: w.tenant }).sort({ _id: 1 }).lean())[0].body).toBe('stale writer');
  } finally {
    await w.close();
  }
});
