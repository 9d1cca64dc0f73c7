/**
 * The re-encryption job of a data key rotation (lib/crypto/reencrypt.ts)
 * over devdb, through the wire, on two toy encrypted models (personal data
 * under subject keys, notes under the tenant key): everything ends on the
 * current versions with the same values, readers never fail while it runs,
 * a killed run resumes from its checkpoint with counts that add up, shredded
 * subjects are left alone (and get no new key), and old versions are
 * retired only when no stored envelope names them. Values stored in clear
 * (before encryption existed) are encrypted with their blind indexes, by a
 * compare-and-set that never overwrites an application write.
 */
import { randomBytes } from 'node:crypto';
import mongoose, { Schema, type Connection, type Model } from 'mongoose';
import { startDevDb, type DevDb } from '../../devdb';
import { loadCryptoConfig, newDataKeyVersion, readKeyRef, sealValue, shredSubject } from '../../lib/crypto';
import { blindIndexFilter, encryptedFields, isEnvelope, type UnreadableField } from '../../lib/crypto/model-encryption';
import { findUnfinishedJob, KEY_ROTATION_JOBS, reencryptTenant, ReencryptJobError, type ReencryptJob } from '../../lib/crypto/reencrypt';
import { openFieldCrypto, type FieldCryptoRuntime } from '../../lib/crypto/runtime';
import { formatDataRotation } from '../../scripts/key-rotation';
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
    expect(res.counts).toEqual({ scanned: 80, envelopes: 160, reencrypted: 160, current: 0, skipped: 0, shredded: 0, failed: 0 , plaintext: 0, encryptedPlaintext: 0 });
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
    expect(res.counts).toEqual({ scanned: 55, envelopes: 110, reencrypted: 110, current: 0, skipped: 0, shredded: 0, failed: 0 , plaintext: 0, encryptedPlaintext: 0 });
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
    expect(res.counts).toEqual({ scanned: 28, envelopes: 56, reencrypted: 48, current: 0, skipped: 0, shredded: 8, failed: 0 , plaintext: 0, encryptedPlaintext: 0 });
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

// ---------------------------------------------------------------------------------------------
// Values stored in clear

interface ContactDoc {
  _id: string;
  tenantId: string;
  subjectId: string;
  email: string | null;
  phone: string | null;
  profile: { city: string; tags: string[] } | null;
}
const contactSchema = new Schema<ContactDoc>(
  { _id: String, tenantId: { type: String, required: true }, subjectId: { type: String, required: true }, email: Encrypted, phone: Encrypted, profile: Encrypted },
  { collection: 'rx_contacts', versionKey: false },
);
contactSchema.plugin(encryptedFields, {
  collection: 'rx_contacts',
  paths: ['email', 'phone', 'profile'],
  subjectPath: 'subjectId',
  blindIndexes: [
    { path: 'email', name: 'email', normalise: 'email', bits: 16 },
    { path: 'phone', name: 'phone', normalise: 'phone', bits: 12 },
  ],
});

async function contacts(w: World): Promise<Model<ContactDoc>> {
  const Contacts = w.conn.model<ContactDoc>('RxContact', contactSchema);
  await Contacts.init();
  return Contacts;
}

/** `n` contacts written in clear straight into the collection, as before encryption existed. */
async function insertPlain(w: World, tenantId: string, n: number, prefix = 'c'): Promise<ContactDoc[]> {
  const docs: ContactDoc[] = Array.from({ length: n }, (_, i) => ({
    _id: nextId(),
    tenantId,
    subjectId: `${prefix}-s${i % 3}`,
    email: `${prefix}${i}@Example.com`,
    phone: i % 2 ? null : `+44 20 7946 09${String(i).padStart(2, '0')}`,
    profile: i === 0 ? { city: 'Leeds', tags: ['vip', 'night'] } : null,
  }));
  await w.conn.db!.collection('rx_contacts').insertMany(docs as never[]);
  return docs;
}

describe('values stored in clear', () => {
  test('are encrypted by the job with their blind indexes, counted apart, read back through the models, and reported by the command', async () => {
    const w = await world(4, 2, 3);
    try {
      const Contacts = await contacts(w);
      const plain = await insertPlain(w, w.tenant, 6);
      const otherPlain = await insertPlain(w, w.other, 2, 'o');
      // An encrypted contact beside them, and plaintext in documents that also hold envelopes.
      await Contacts.create({ _id: nextId(), tenantId: w.tenant, subjectId: 'c-s0', email: 'enc@example.com', phone: null, profile: null });
      const person = (await w.conn.db!.collection('rx_people').find({ tenantId: w.tenant }).sort({ _id: 1 }).limit(1).next())!;
      await w.conn.db!.collection('rx_people').updateOne({ _id: person._id }, { $set: { name: 'Written in clear' } });
      const note = (await w.conn.db!.collection('rx_notes').find({ tenantId: w.tenant }).sort({ _id: 1 }).limit(1).next())!;
      await w.conn.db!.collection('rx_notes').updateOne({ _id: note._id }, { $set: { body: 'clear note', score: 42 } });

      const res = await reencryptTenant({ conn: w.conn, vault: w.runtime.vault, tenantId: w.tenant, models: [...models(w), Contacts], batchSize: 4 });
      // 6 emails, 3 phones, 1 profile; a name; a body and a score.
      const inClear = 6 + 3 + 1 + 1 + 2;
      // 4 people × 2, 3 notes × 2, 1 contact, less the three values overwritten in clear.
      expect(res.counts).toEqual({ scanned: 4 + 3 + 7, envelopes: 8 + 6 + 1 - 3, reencrypted: 0, current: 12, skipped: 0, shredded: 0, failed: 0, plaintext: inClear, encryptedPlaintext: inClear });
      expect(formatDataRotation({ subjectSeries: 0, job: res })).toContain(`\nencrypted ${inClear} value(s) stored in clear (of ${inClear} found)\n`);

      // Raw BSON: envelopes and blind indexes, no plaintext left at a declared path.
      const raw = await w.conn.db!.collection('rx_contacts').find({ tenantId: w.tenant }).sort({ _id: 1 }).toArray();
      for (const d of raw) for (const p of ['email', 'phone', 'profile']) expect(d[p] === null || isEnvelope(d[p])).toBe(true);
      expect(JSON.stringify(raw)).not.toMatch(/example\.com|20 7946|Leeds/i);
      for (const c of plain) {
        const d = raw.find((r) => r._id === (c._id as unknown))!;
        expect(d.bidx.email).toBe((await blindIndexFilter(Contacts, w.tenant, 'email', c.email!))['bidx.email']);
        if (c.phone) expect(d.bidx.phone).toBe((await blindIndexFilter(Contacts, w.tenant, 'phone', c.phone))['bidx.phone']);
        else expect(d.bidx).not.toHaveProperty('phone');
      }
      expect(isEnvelope((await w.conn.db!.collection('rx_people').findOne({ _id: person._id }))!.name)).toBe(true);
      const rawNote = (await w.conn.db!.collection('rx_notes').findOne({ _id: note._id }))!;
      expect(isEnvelope(rawNote.body) && isEnvelope(rawNote.score)).toBe(true);

      // Read through the models, from the store (a cold cache): the same values; lookups by blind index find them.
      w.runtime.vault.clearCache();
      const back = await Contacts.find({ tenantId: w.tenant, _id: { $in: plain.map((c) => c._id) } }).sort({ _id: 1 }).lean();
      expect(back).toEqual(plain.map((c) => ({ ...c, bidx: expect.any(Object) })));
      const found = await Contacts.find(await blindIndexFilter(Contacts, w.tenant, 'email', 'C3@example.COM')).lean();
      expect(found.map((c) => c.email)).toEqual(['c3@Example.com']);
      expect((await w.People.findById(person._id).lean())!.name).toBe('Written in clear');
      expect(await w.Notes.findById(note._id).lean()).toMatchObject({ body: 'clear note', score: 42 });
      expect(unreadable).toEqual([]);
      // Under the subjects' keys: the job created the first key of subjects that had none.
      const keyIds = new Set(raw.flatMap((d) => (isEnvelope(d.email) ? [readKeyRef(d.email).keyId] : [])));
      const subjects = (await w.runtime.vault.listKeys({ tenantId: w.tenant, scope: 'subject' })).filter((k) => keyIds.has(k._id)).map((k) => k.subjectId);
      expect(new Set(subjects)).toEqual(new Set(['c-s0', 'c-s1', 'c-s2']));

      // The other tenant is not touched; a second run finds nothing in clear.
      expect(await w.conn.db!.collection('rx_contacts').find({ tenantId: w.other }).sort({ _id: 1 }).toArray()).toEqual(otherPlain);
      const again = await reencryptTenant({ conn: w.conn, vault: w.runtime.vault, tenantId: w.tenant, models: [...models(w), Contacts] });
      expect(again.counts).toMatchObject({ plaintext: 0, encryptedPlaintext: 0, failed: 0, current: 12 + inClear });
    } finally {
      await w.close();
    }
  });

  test('an application write between the read and the compare-and-set is not overwritten: the path counts as skipped, the rest of the document is encrypted', async () => {
    const w = await world(0, 1, 0);
    try {
      const Contacts = await contacts(w);
      const plain = await insertPlain(w, w.tenant, 4);
      const coll = Contacts.collection;
      const original = coll.updateOne.bind(coll);
      let raced: string | undefined;
      const spy = jest.spyOn(coll, 'updateOne').mockImplementation((async (filter: Record<string, unknown>, update: unknown, ...rest: unknown[]) => {
        // The job's compare-and-set holds the plaintext in its filter: the application writes that document first.
        if (!raced && filter && 'email' in filter && filter._id === plain[0]._id) {
          raced = filter._id as string;
          await Contacts.updateOne({ _id: raced }, { $set: { email: 'app@new.example' } });
        }
        return (original as (...a: unknown[]) => unknown)(filter, update, ...rest);
      }) as never);
      let res;
      try {
        res = await reencryptTenant({ conn: w.conn, vault: w.runtime.vault, tenantId: w.tenant, models: [Contacts] });
      } finally {
        spy.mockRestore();
      }
      expect(raced).toBe(plain[0]._id);
      // 4 emails, 2 phones, 1 profile in clear; the raced email was written by the application.
      expect(res.counts).toMatchObject({ scanned: 4, plaintext: 7, encryptedPlaintext: 6, skipped: 1, failed: 0 });
      const first = (await Contacts.findById(plain[0]._id).lean())!;
      expect(first).toMatchObject({ email: 'app@new.example', phone: plain[0].phone, profile: plain[0].profile });
      const rawFirst = (await w.conn.db!.collection('rx_contacts').findOne({ _id: plain[0]._id as never }))!;
      expect(rawFirst.bidx.email).toBe((await blindIndexFilter(Contacts, w.tenant, 'email', 'app@new.example'))['bidx.email']);
      for (const c of plain.slice(1)) expect((await Contacts.findById(c._id).lean())!.email).toBe(c.email);
    } finally {
      await w.close();
    }
  });

  test("is left alone, and counted failed, when its subject's keys were shredded (no key is created for an erased subject) or it cannot be encrypted", async () => {
    const w = await world(0, 1, 0);
    try {
      const Contacts = await contacts(w);
      await Contacts.create({ _id: nextId(), tenantId: w.tenant, subjectId: 'gone', email: 'gone@example.com', phone: null, profile: null });
      await shredSubject(w.runtime.vault, { tenantId: w.tenant, subjectId: 'gone' });
      const [leftover] = await insertPlain(w, w.tenant, 1, 'gone');
      await w.conn.db!.collection('rx_contacts').updateOne({ _id: leftover._id as never }, { $set: { subjectId: 'gone' } });
      const odd = { _id: nextId(), tenantId: w.tenant, subjectId: 'odd', email: new mongoose.Types.ObjectId(), phone: null, profile: null };
      await w.conn.db!.collection('rx_contacts').insertOne(odd as never);
      const before = await w.conn.db!.collection('rx_contacts').find({ _id: { $in: [leftover._id, odd._id] } as never }).sort({ _id: 1 }).toArray();

      const res = await reencryptTenant({ conn: w.conn, vault: w.runtime.vault, tenantId: w.tenant, models: [Contacts] });
      // The shredded envelope; the leftover's email, phone and profile, and the odd value, in clear.
      expect(res.counts).toMatchObject({ envelopes: 1, shredded: 1, plaintext: 4, encryptedPlaintext: 0, failed: 4 });
      expect(await w.conn.db!.collection('rx_contacts').find({ _id: { $in: [leftover._id, odd._id] } as never }).sort({ _id: 1 }).toArray()).toEqual(before);
      expect((await w.runtime.vault.listKeys({ tenantId: w.tenant, subjectId: 'gone' })).map((k) => k.status)).toEqual(['destroyed']);
    } finally {
      await w.close();
    }
  });

  test('a job checkpointed before these counts existed resumes with them', async () => {
    const w = await world(12, 3, 0);
    try {
      await rotateAll(w, w.tenant);
      const abort = new AbortController();
      const first = await reencryptTenant({ conn: w.conn, vault: w.runtime.vault, tenantId: w.tenant, models: models(w), batchSize: 5, signal: abort.signal, afterBatch: () => abort.abort() });
      expect(first.status).toBe('interrupted');
      const jobs = w.conn.db!.collection<ReencryptJob>(KEY_ROTATION_JOBS);
      const stored = (await jobs.findOne({ _id: first.jobId }))!;
      const old = ({ plaintext: _p, encryptedPlaintext: _e, ...rest }: Record<string, number>) => rest;
      await jobs.updateOne({ _id: first.jobId }, { $set: { counts: old(stored.counts as never) as never, collections: stored.collections.map((c) => ({ ...c, counts: old(c.counts as never) as never })) } });
      const res = await reencryptTenant({ conn: w.conn, vault: w.runtime.vault, tenantId: w.tenant, models: models(w), resume: true });
      expect(res.counts).toEqual({ scanned: 12, envelopes: 24, reencrypted: 24, current: 0, skipped: 0, shredded: 0, failed: 0, plaintext: 0, encryptedPlaintext: 0 });
    } finally {
      await w.close();
    }
  });
});
