/**
 * The encryptedFields plugin in document mode (`envelope: 'document'`) over
 * devdb, through the wire: one envelope per document at `pii`, the declared
 * paths not stored; values read back exactly (lean, hydrated, aggregate),
 * nulls where a value is absent; a tampered, moved or shredded envelope
 * makes every path null with one report; documents of the older layouts
 * (per-field envelopes, plaintext) read as before and are converted by the
 * next write of their personal fields; updates are compare-and-set on the
 * envelope read, so two writers never lose a write; blind indexes follow;
 * the re-encryption job and erasure handle the envelope.
 */
import { randomBytes } from 'node:crypto';
import { Binary } from 'bson';
import { Schema, type Connection, type Model } from 'mongoose';
import type { DevDb } from '../../devdb';
import { newDataKeyVersion, readKeyRef, shredSubject } from '../../lib/crypto';
import { eraseSubject } from '../../lib/crypto/erasure';
import {
  blindIndexFilter,
  decryptDocuments,
  encryptDocuments,
  encryptedFields,
  encryptedFieldsOf,
  encryptUpdateFor,
  isEnvelope,
  leaveSealed,
  type UnreadableField,
} from '../../lib/crypto/model-encryption';
import { reencryptTenant } from '../../lib/crypto/reencrypt';
import type { FieldCryptoRuntime } from '../../lib/crypto/runtime';
import { startEncryptedDb } from './kit';

interface PersonDoc {
  _id: string;
  tenantId: string;
  subjectId: string;
  name: string | null;
  born: Date | null;
  contact: { email: string | null; phone: string | null; city: string | null } | null;
  tags: string[] | null;
  geo: { lat: number; lng: number; note: string | null } | null;
  visits: number;
  bidx?: Record<string, string>;
}

const PATHS = ['name', 'born', 'contact.email', 'contact.phone', 'tags', 'geo'];
const Sealed = { type: Schema.Types.Mixed };
const Encrypted = { type: Schema.Types.Mixed, default: null };
const definition = (field: typeof Sealed) => ({
  _id: String,
  tenantId: { type: String, required: true },
  subjectId: { type: String, required: true },
  name: field,
  born: field,
  contact: { type: new Schema({ email: field, phone: field, city: String }, { _id: false }), default: null },
  tags: field,
  geo: field,
  visits: { type: Number, default: 0 },
});
const blindIndexes = [{ path: 'contact.email', name: 'email', normalise: 'email' as const, bits: 16 }];

// The model under test, and the same collection as the model declared it before (an envelope per field).
const documentSchema = new Schema<PersonDoc>(definition(Sealed), { collection: 'dx_people', versionKey: false });
documentSchema.plugin(encryptedFields, { collection: 'dx_people', paths: PATHS, subjectPath: 'subjectId', blindIndexes, envelope: 'document' });
const fieldSchema = new Schema<PersonDoc>(definition(Encrypted), { collection: 'dx_people', versionKey: false });
fieldSchema.plugin(encryptedFields, { collection: 'dx_people', paths: PATHS, subjectPath: 'subjectId', blindIndexes });

let devdb: DevDb;
let conn: Connection;
let runtime: FieldCryptoRuntime;
let People: Model<PersonDoc>;
let FieldPeople: Model<PersonDoc>;
const unreadable: UnreadableField[] = [];
const T1 = 'tenant-one';
const T2 = 'tenant-two';

const id = () => randomBytes(12).toString('hex');
const BORN = new Date('1815-12-10T08:30:00.000Z');
const person = (over: Partial<PersonDoc> = {}): PersonDoc => ({
  _id: id(),
  tenantId: T1,
  subjectId: `subject-${id()}`,
  name: 'Ada Lovelace',
  born: BORN,
  contact: { email: 'Ada@Example.com', phone: '+44 20 7946 0958', city: 'London' },
  tags: ['vip', 'fragile'],
  geo: { lat: 51.5, lng: -0.12, note: null },
  visits: 0,
  ...over,
});
// Patterns a random id, HMAC (hex) or envelope (base64) cannot contain by chance: spaces, dashes, dots.
const SECRETS = /Lovelace|Example\.com|20 7946|fragile|1815-12-10|51\.5/i;
const coll = () => conn.db!.collection('dx_people');
const raw = (docId: string) => coll().findOne({ _id: docId as never }) as Promise<Record<string, any> | null>;
const emailIndex = async (tenantId: string, email: string) => (await blindIndexFilter(People, tenantId, 'email', email))['bidx.email'];
const tamper = (b: Binary): Binary => {
  const bytes = Buffer.from(b.buffer.subarray(0, b.position));
  bytes[bytes.length - 1] ^= 1;
  return new Binary(bytes, 0x80);
};

/** What a stored document holds besides its envelope: no value at any declared path. */
function expectNoValuesAtPaths(stored: Record<string, any>): void {
  for (const p of PATHS) expect(p.split('.').reduce<any>((o, k) => (o == null ? undefined : o[k]), stored)).toBeUndefined();
}

let close: () => Promise<void>;

beforeAll(async () => {
  ({ devdb, conn, runtime, close } = await startEncryptedDb((f) => unreadable.push(f)));
  People = conn.model<PersonDoc>('DxPerson', documentSchema);
  FieldPeople = conn.model<PersonDoc>('DxPersonByField', fieldSchema);
  await People.init();
});

afterAll(() => close());

beforeEach(() => {
  unreadable.length = 0;
});

describe('declaration', () => {
  test('the plugin declares the envelope field (Mixed), says so in encryptedFieldsOf, and refuses an envelope field that clashes', () => {
    expect((documentSchema.path('pii') as { instance?: string }).instance).toBe('Mixed');
    expect(encryptedFieldsOf(People)).toMatchObject({ envelope: 'document', envelopeField: 'pii' });
    expect(encryptedFieldsOf(FieldPeople)).toMatchObject({ envelope: 'field' });
    const s = () => new Schema({ tenantId: String, name: Schema.Types.Mixed, pii: String });
    expect(() => s().plugin(encryptedFields, { collection: 'x', paths: ['name'], envelope: 'document' })).toThrow(/envelopeField pii must be declared Schema.Types.Mixed/);
    expect(() => s().plugin(encryptedFields, { collection: 'x', paths: ['name'], envelope: 'document', envelopeField: 'name' })).toThrow(/top-level field of its own/);
    expect(() => s().plugin(encryptedFields, { collection: 'x', paths: ['name'], envelope: 'document', envelopeField: 'tenantId' })).toThrow(/top-level field of its own/);
    // An embedded object of nothing but encrypted paths is stored empty: mongoose must keep it.
    const box = (minimize?: boolean) => new Schema({ tenantId: String, box: { type: new Schema({ secret: Schema.Types.Mixed }, { _id: false }), ...(minimize === undefined ? {} : { minimize }) } });
    expect(() => box().plugin(encryptedFields, { collection: 'x', paths: ['box.secret'], envelope: 'document' })).toThrow(/box holds only encrypted paths: declare it minimize: false/);
    expect(() => box(false).plugin(encryptedFields, { collection: 'x', paths: ['box.secret'], envelope: 'document' })).not.toThrow();
  });
});

describe('writes', () => {
  test('create stores one envelope and nothing at the declared paths; plain siblings and the blind index stay', async () => {
    const p = person();
    await People.create(p);
    const stored = (await raw(p._id))!;
    expect(isEnvelope(stored.pii)).toBe(true);
    expectNoValuesAtPaths(stored);
    // The object holding declared paths is kept (a present contact stays told apart from none).
    expect(stored.contact).toEqual({ city: 'London' });
    expect(JSON.stringify(stored)).not.toMatch(SECRETS);
    expect(stored.bidx.email).toBe(await emailIndex(T1, 'ada@example.com'));
    // Under the subject's key.
    const key = await runtime.vault.dataKeyById(readKeyRef(stored.pii).keyId);
    expect(key.subjectId).toBe(p.subjectId);
  });

  test('a document without personal values stores no envelope; one with a null contact keeps it null', async () => {
    const p = person({ name: null, born: null, contact: null, tags: null, geo: null });
    await People.create(p);
    const stored = (await raw(p._id))!;
    expect(stored).not.toHaveProperty('pii');
    expect(stored.contact).toBeNull();
    expect(stored.bidx?.email).toBeUndefined();
    expect(await People.findById(p._id).lean()).toMatchObject({ name: null, born: null, contact: null, tags: null, geo: null });
  });

  test('updateOne and findOneAndUpdate by _id: $set of a path and of an object holding paths, $unset, null; blind index in step', async () => {
    const p = person();
    await People.create(p);
    await People.updateOne({ _id: p._id }, { $set: { name: 'Grace Hopper' }, $inc: { visits: 1 } });
    const updated = await People.findOneAndUpdate({ _id: p._id, tenantId: T1 }, { $set: { contact: { email: 'grace@navy.mil', phone: null, city: 'Arlington' } } }, { returnDocument: 'after' }).lean();
    expect(updated).toMatchObject({ name: 'Grace Hopper', visits: 1, born: BORN, contact: { email: 'grace@navy.mil', phone: null, city: 'Arlington' }, tags: ['vip', 'fragile'] });
    // The envelope is taken out of what a read returns.
    expect((updated as { pii?: unknown }).pii).toBeUndefined();
    let stored = (await raw(p._id))!;
    expect(isEnvelope(stored.pii)).toBe(true);
    expectNoValuesAtPaths(stored);
    expect(stored.contact).toEqual({ city: 'Arlington' });
    expect(stored.bidx.email).toBe(await emailIndex(T1, 'grace@navy.mil'));
    await People.updateOne({ _id: p._id }, { $unset: { tags: 1 }, $set: { geo: null } });
    expect(await People.findById(p._id).lean()).toMatchObject({ name: 'Grace Hopper', tags: null, geo: null });
    // The object set to null takes its paths and its index with it.
    await People.updateOne({ _id: p._id }, { $set: { contact: null } });
    stored = (await raw(p._id))!;
    expect(stored.contact).toBeNull();
    expect(stored.bidx?.email).toBeUndefined();
    expect(await People.findById(p._id).lean()).toMatchObject({ name: 'Grace Hopper', born: BORN, contact: null });
    // Every value gone: no envelope left.
    await People.updateOne({ _id: p._id }, { $unset: { name: 1, born: 1 } });
    expect((await raw(p._id))!).not.toHaveProperty('pii');
  });

  test('replaceOne seals the replacement (nothing of the old record is kept)', async () => {
    const p = person();
    await People.create(p);
    await People.replaceOne({ _id: p._id }, { ...person({ _id: p._id, subjectId: p.subjectId, name: 'Replaced', tags: null, geo: null }) });
    const stored = (await raw(p._id))!;
    expect(isEnvelope(stored.pii)).toBe(true);
    expectNoValuesAtPaths(stored);
    expect(await People.findById(p._id).lean()).toMatchObject({ name: 'Replaced', tags: null, geo: null, born: BORN });
  });

  test('save of a hydrated document rewrites the envelope from what is stored, with its changes', async () => {
    const p = person();
    await People.create(p);
    const doc = (await People.findById(p._id))!;
    expect(doc.name).toBe('Ada Lovelace');
    expect(doc.isModified()).toBe(false);
    doc.name = 'Ada King';
    doc.visits = 5;
    await doc.save();
    // Memory holds the values again, not the envelope.
    expect(doc.name).toBe('Ada King');
    expect(doc.get('pii')).toBeUndefined();
    const stored = (await raw(p._id))!;
    expect(isEnvelope(stored.pii)).toBe(true);
    expectNoValuesAtPaths(stored);
    expect(stored.visits).toBe(5);
    expect(await People.findById(p._id).lean()).toMatchObject({ name: 'Ada King', born: BORN, tags: ['vip', 'fragile'], contact: { email: 'Ada@Example.com' } });
    // Saved again (its $where is not left behind).
    doc.tags = ['calm'];
    await doc.save();
    expect((await People.findById(p._id).lean())!.tags).toEqual(['calm']);
  });

  test.each([
    ['updateMany', () => People.updateMany({ tenantId: T1 }, { $set: { name: 'Everyone' } })],
    ['updateMany clearing a path', () => People.updateMany({ tenantId: T1 }, { $unset: { name: 1 } })],
    ['an update without _id', () => People.updateOne({ tenantId: T1 }, { $set: { name: 'Someone' } })],
    ['a path inside an encrypted value', () => People.updateOne({ _id: 'x' }, { $set: { 'tags.0': 'leak' } })],
    ['$push onto an encrypted array', () => People.updateOne({ _id: 'x' }, { $push: { tags: 'leak' } })],
    ['$inc of an encrypted path', () => People.updateOne({ _id: 'x' }, { $inc: { born: 1 } })],
    ['$rename onto an encrypted path', () => People.updateOne({ _id: 'x' }, { $rename: { visits: 'name' } })],
    ['setting the envelope with plaintext beside it', () => People.updateOne({ _id: 'x' }, { $set: { pii: new Binary(Buffer.alloc(60), 0x80), name: 'leak' } })],
    ['setting the envelope to plaintext', () => People.updateOne({ _id: 'x' }, { $set: { pii: { name: 'leak' } } })],
    ['bulkWrite setting the envelope to plaintext', () => People.bulkWrite([{ updateOne: { filter: { _id: 'x' }, update: { $set: { pii: 'leak' } } } }])],
    ['insertMany with plaintext', () => People.insertMany([person()])],
    ['insertMany with a plaintext envelope field', () => People.insertMany([{ _id: 'y', tenantId: T1, subjectId: 's', pii: { name: 'leak' } }])],
    ['bulkWrite insertOne with plaintext', () => People.bulkWrite([{ insertOne: { document: person() } }])],
    ['bulkWrite updateOne with plaintext', () => People.bulkWrite([{ updateOne: { filter: { _id: 'x' }, update: { $set: { name: 'leak' } } } }])],
    ['bulkWrite updateOne clearing a path', () => People.bulkWrite([{ updateOne: { filter: { _id: 'x' }, update: { $unset: { name: 1 } } } }])],
  ])('refuses %s: PLAINTEXT_WRITE_REFUSED, nothing stored', async (_what, write) => {
    const before = JSON.stringify(await coll().find({}).sort({ _id: 1 }).toArray());
    await expect(write()).rejects.toMatchObject({ code: 'PLAINTEXT_WRITE_REFUSED' });
    expect(JSON.stringify(await coll().find({}).sort({ _id: 1 }).toArray())).toBe(before);
  });

  test('writers around the plugin: encryptDocuments seals, encryptUpdateFor rewrites the envelope and puts its compare-and-set in the filter', async () => {
    const p = person();
    await encryptDocuments(People, [p]);
    expect(isEnvelope((p as unknown as { pii: unknown }).pii)).toBe(true);
    expect(p.name).toBeUndefined();
    expect(p.contact).toEqual({ city: 'London' });
    await People.bulkWrite([{ insertOne: { document: p } }]);
    const target = { documentId: p._id, tenantId: T1, subjectId: p.subjectId };
    await expect(encryptUpdateFor(People, { $set: { name: 'Bulk Name' } }, target)).rejects.toThrow(/needs the write's filter/);
    const filter: Record<string, unknown> = { _id: p._id };
    const update = await encryptUpdateFor(People, { $set: { name: 'Bulk Name' } }, target, filter);
    expect(isEnvelope(filter.pii)).toBe(true);
    // Through the plugin too: an update that sets the envelope is taken as sealed.
    await People.bulkWrite([{ updateOne: { filter, update } }]);
    expect(await People.findById(p._id).lean()).toMatchObject({ name: 'Bulk Name', born: BORN, tags: ['vip', 'fragile'] });
    // The same update again: its filter names an envelope that is gone, it matches nothing.
    const again = await People.updateOne(filter, update);
    expect(again.matchedCount).toBe(0);
  });
});

describe('reads', () => {
  test('find, findOne (lean and hydrated) and aggregate + decryptDocuments: every value exactly, the envelope not returned', async () => {
    const p = person();
    await People.create(p);
    const lean = (await People.findOne({ _id: p._id }).lean())!;
    expect(lean).toEqual({ ...p, bidx: { email: expect.any(String) } });
    expect(lean.born).toBeInstanceOf(Date);
    const hydrated = (await People.findOne({ _id: p._id }))!;
    expect(hydrated.contact!.phone).toBe('+44 20 7946 0958');
    expect(hydrated.born!.getTime()).toBe(BORN.getTime());
    expect(hydrated.isModified()).toBe(false);
    expect(hydrated.get('pii')).toBeUndefined();
    const rows = await People.aggregate<PersonDoc & { pii?: unknown }>([{ $match: { _id: p._id } }]);
    expect(isEnvelope(rows[0].pii)).toBe(true);
    await decryptDocuments(People, rows);
    expect(rows[0]).toEqual({ ...p, bidx: { email: expect.any(String) } });
  });

  test('a page of documents costs one key-vault query and one decryption each', async () => {
    const docs = Array.from({ length: 30 }, () => person({ tenantId: T2 }));
    for (const d of docs) await People.create(d);
    runtime.vault.clearCache();
    devdb.resetStats();
    const page = await People.find({ tenantId: T2 }).lean();
    expect(page).toHaveLength(30);
    expect(page.every((d) => d.name === 'Ada Lovelace' && d.contact?.email === 'Ada@Example.com')).toBe(true);
    expect(devdb.stats().byCollection['find:key_vault']).toBe(1);
  });

  test('projections: what is left out is neither fetched nor put back; none of the paths: no envelope read at all', async () => {
    const p = person();
    await People.create(p);
    const some = (await People.findOne({ _id: p._id }, { name: 1, 'contact.city': 1 }).lean())!;
    expect(some).toEqual({ _id: p._id, name: 'Ada Lovelace', contact: { city: 'London' }, tenantId: T1, subjectId: p.subjectId });
    const without = (await People.findOne({ _id: p._id }, { contact: 0, tags: 0 }).lean())!;
    expect(without).toMatchObject({ name: 'Ada Lovelace', born: BORN, geo: p.geo });
    expect(without).not.toHaveProperty('contact');
    expect(without).not.toHaveProperty('tags');
    // Observed through a tampered envelope: opened (and reported) only when a path is wanted.
    const stored = (await raw(p._id))!;
    await coll().updateOne({ _id: p._id as never }, { $set: { pii: tamper(stored.pii) } });
    const plain = (await People.findOne({ _id: p._id }, { name: 0, born: 0, contact: 0, tags: 0, geo: 0 }).lean())!;
    expect(plain).toMatchObject({ visits: 0 });
    expect((plain as { pii?: unknown }).pii).toBeUndefined();
    expect((await People.findOne({ _id: p._id }, { visits: 1 }).lean())!).not.toHaveProperty('name');
    expect(await People.findOne({ _id: p._id }, { _id: 1 }).lean()).toEqual({ _id: p._id });
    expect(unreadable).toEqual([]);
    await People.findOne({ _id: p._id }, { born: 1 }).lean();
    expect(unreadable).toHaveLength(1);
    // The envelope named: excluded, none of the values; included alone, all of them.
    unreadable.length = 0;
    expect((await People.findOne({ _id: p._id }, { pii: 0 }).lean())!).toMatchObject({ contact: { city: 'London' } });
    expect(unreadable).toEqual([]);
    expect((await People.findOne({ _id: p._id }, { pii: 1 }).lean())!).toMatchObject({ name: null, tags: null });
    expect(unreadable).toHaveLength(1);
  });

  test('a tampered envelope: every path null, reported once (never a value)', async () => {
    const p = person();
    await People.create(p);
    const stored = (await raw(p._id))!;
    await coll().updateOne({ _id: p._id as never }, { $set: { pii: tamper(stored.pii) } });
    const read = (await People.findOne({ _id: p._id }).lean())!;
    expect(read).toMatchObject({ name: null, born: null, contact: { email: null, phone: null, city: 'London' }, tags: null, geo: null, visits: 0 });
    expect(unreadable).toEqual([{ collection: 'dx_people', path: 'pii', documentId: p._id, reason: 'AUTHENTICATION' }]);
    // Writing over what cannot be read is refused: it is not erased, only unreadable here.
    await expect(People.updateOne({ _id: p._id }, { $set: { name: 'Over it' } })).rejects.toMatchObject({ code: 'DECRYPTION_FAILED' });
  });

  test('an envelope moved to another document of the same subject fails on its tag; from another tenant, on its key', async () => {
    const a = person();
    const b = person({ subjectId: a.subjectId, name: 'Someone Else' });
    const theirs = person({ tenantId: T2 });
    for (const d of [a, b, theirs]) await People.create(d);
    await coll().updateOne({ _id: b._id as never }, { $set: { pii: (await raw(a._id))!.pii } });
    await coll().updateOne({ _id: a._id as never }, { $set: { pii: (await raw(theirs._id))!.pii } });
    const [readA, readB] = await Promise.all([People.findById(a._id).lean(), People.findById(b._id).lean()]);
    expect(readB).toMatchObject({ name: null, contact: { email: null } });
    expect(readA).toMatchObject({ name: null, tags: null });
    expect(unreadable).toEqual(
      expect.arrayContaining([
        { collection: 'dx_people', path: 'pii', documentId: b._id, reason: 'AUTHENTICATION' },
        { collection: 'dx_people', path: 'pii', documentId: a._id, reason: 'KEY_NOT_FOUND' },
      ]),
    );
    expect(JSON.stringify(unreadable)).not.toMatch(SECRETS);
  });

  test('leaveSealed changes nothing: the envelope is opened whole', async () => {
    const p = person();
    await People.create(p);
    const one = await leaveSealed(People.findOne({ _id: p._id }).lean<PersonDoc>(), ['tags', 'contact.phone']);
    expect(one).toMatchObject({ tags: ['vip', 'fragile'], contact: { phone: '+44 20 7946 0958' } });
  });
});

describe('older layouts', () => {
  test('a document stored with an envelope per field reads as before; the next write of a personal field folds it into one envelope', async () => {
    const p = person();
    await FieldPeople.create(p);
    const before = (await raw(p._id))!;
    expect(isEnvelope(before.name) && isEnvelope(before.contact.email)).toBe(true);
    expect(before).not.toHaveProperty('pii');
    expect(await People.findById(p._id).lean()).toEqual({ ...p, bidx: { email: expect.any(String) } });
    expect(unreadable).toEqual([]);
    // A write of a plain field leaves the layout as it is…
    await People.updateOne({ _id: p._id }, { $inc: { visits: 1 } });
    expect(isEnvelope((await raw(p._id))!.name)).toBe(true);
    // …one of a personal field converts it, every value kept.
    await People.updateOne({ _id: p._id }, { $set: { tags: ['converted'] } });
    const after = (await raw(p._id))!;
    expect(isEnvelope(after.pii)).toBe(true);
    expectNoValuesAtPaths(after);
    expect(after.contact).toEqual({ city: 'London' });
    expect(after.bidx.email).toBe(await emailIndex(T1, 'Ada@Example.com'));
    expect(await People.findById(p._id).lean()).toEqual({ ...p, visits: 1, tags: ['converted'], bidx: { email: expect.any(String) } });
  });

  test('plaintext at the declared paths (stored before encryption) reads as it is and is converted by the next write', async () => {
    const p = person();
    await coll().insertOne(p as never);
    expect(await People.findById(p._id).lean()).toEqual(p);
    await People.updateOne({ _id: p._id }, { $set: { 'contact.phone': '+44 20 7946 0000' } });
    const after = (await raw(p._id))!;
    expect(isEnvelope(after.pii)).toBe(true);
    expectNoValuesAtPaths(after);
    expect(JSON.stringify(after)).not.toMatch(SECRETS);
    expect(after.bidx.email).toBe(await emailIndex(T1, 'ada@example.com'));
    expect(await People.findById(p._id).lean()).toEqual({ ...p, contact: { ...p.contact, phone: '+44 20 7946 0000' }, bidx: { email: expect.any(String) } });
  });
});

describe('concurrent writers', () => {
  test('a writer whose envelope changed after it read matches nothing (no lost update); it sees the conflict and its retry keeps both', async () => {
    const p = person();
    await People.create(p);
    // Another writer slips in between the plugin's read of the envelope and its write.
    const collection = People.collection;
    const findOne = collection.findOne.bind(collection);
    const spy = jest.spyOn(collection, 'findOne').mockImplementationOnce((async (...args: Parameters<typeof findOne>) => {
      const read = await findOne(...args);
      await People.updateOne({ _id: p._id }, { $set: { 'contact.email': 'winner@example.com' } });
      return read;
    }) as never);
    try {
      const lost = await People.updateOne({ _id: p._id }, { $set: { name: 'Loser' } });
      expect(lost.matchedCount).toBe(0);
    } finally {
      spy.mockRestore();
    }
    expect(await People.findById(p._id).lean()).toMatchObject({ name: 'Ada Lovelace', contact: { email: 'winner@example.com' } });
    // The loser retries, as the services do on 0 matches: both writes stand.
    expect((await People.updateOne({ _id: p._id }, { $set: { name: 'Loser' } })).matchedCount).toBe(1);
    expect(await People.findById(p._id).lean()).toMatchObject({ name: 'Loser', contact: { email: 'winner@example.com' } });
    expect((await raw(p._id))!.bidx.email).toBe(await emailIndex(T1, 'winner@example.com'));
  });

  test('many writers of different paths at once, each retrying on 0 matches: every write is in the final record', async () => {
    const p = person();
    await People.create(p);
    let conflicts = 0;
    const write = async (set: Record<string, unknown>) => {
      for (let attempt = 0; attempt < 50; attempt++) {
        if ((await People.updateOne({ _id: p._id }, { $set: set })).matchedCount === 1) return;
        conflicts++;
      }
      throw new Error('never won');
    };
    await Promise.all([write({ name: 'N' }), write({ born: new Date(0) }), write({ 'contact.email': 'e@example.com' }), write({ 'contact.phone': '+1555' }), write({ tags: ['t'] }), write({ geo: { lat: 1, lng: 2, note: 'n' } })]);
    expect(await People.findById(p._id).lean()).toMatchObject({ name: 'N', born: new Date(0), contact: { email: 'e@example.com', phone: '+1555', city: 'London' }, tags: ['t'], geo: { lat: 1, lng: 2, note: 'n' } });
    expect(conflicts).toBeGreaterThan(0);
  });

  test('findOneAndUpdate that loses returns null; a hydrated save that loses fails (DocumentNotFoundError) and keeps its values in memory', async () => {
    const p = person();
    await People.create(p);
    const doc = (await People.findById(p._id))!;
    await People.updateOne({ _id: p._id }, { $set: { name: 'First' } });
    doc.name = 'Second';
    // The save reads the record fresh: a write between its read and its own write is what it must not overwrite.
    const collection = People.collection;
    const findOne = collection.findOne.bind(collection);
    const spy = jest.spyOn(collection, 'findOne').mockImplementationOnce((async (...args: Parameters<typeof findOne>) => {
      const read = await findOne(...args);
      await People.updateOne({ _id: p._id }, { $set: { tags: ['meanwhile'] } });
      return read;
    }) as never);
    try {
      await expect(doc.save()).rejects.toMatchObject({ name: 'DocumentNotFoundError' });
    } finally {
      spy.mockRestore();
    }
    expect(doc.name).toBe('Second');
    expect(await People.findById(p._id).lean()).toMatchObject({ name: 'First', tags: ['meanwhile'] });
  });
});

describe('crypto-shredding and erasure', () => {
  test("shredding the subject's key: every path null, reported once; a copy taken before reads the same; new data gets a new key", async () => {
    const erased = person();
    const kept = person();
    await People.create(erased);
    await People.create(kept);
    const backup = conn.db!.collection(`dx_backup_${id()}`);
    await backup.insertMany([(await raw(erased._id))!, (await raw(kept._id))!] as never);
    await shredSubject(runtime.vault, { tenantId: T1, subjectId: erased.subjectId });
    expect(await People.findById(erased._id).lean()).toMatchObject({ name: null, born: null, contact: { email: null, phone: null, city: 'London' }, tags: null, geo: null });
    expect(unreadable).toEqual([{ collection: 'dx_people', path: 'pii', documentId: erased._id, reason: 'KEY_DESTROYED' }]);
    const restored = (await backup.find({}).toArray()) as unknown as PersonDoc[];
    await decryptDocuments(People, restored);
    expect(restored.find((d) => d._id === erased._id)).toMatchObject({ name: null, tags: null });
    expect(restored.find((d) => d._id === kept._id)).toMatchObject({ name: 'Ada Lovelace', born: BORN });
    // The erased values are gone for good: a new write starts a new record under a new key version.
    await People.updateOne({ _id: erased._id }, { $set: { name: 'New Name' } });
    expect(await People.findById(erased._id).lean()).toMatchObject({ name: 'New Name', born: null, tags: null });
    expect((await runtime.vault.dataKeyById(readKeyRef((await raw(erased._id))!.pii).keyId)).version).toBe(2);
  });

  test('eraseSubject: the envelope unreadable, the blind index removed', async () => {
    const erased = person({ tenantId: `erase-${id()}` });
    await People.create(erased);
    expect((await raw(erased._id))!.bidx.email).toEqual(expect.any(String));
    const res = await eraseSubject([People], runtime.vault, { tenantId: erased.tenantId, subjectId: erased.subjectId });
    expect(res).toEqual({ keysDestroyed: 1, documentsUnindexed: { dx_people: 1 } });
    const stored = (await raw(erased._id))!;
    expect(isEnvelope(stored.pii)).toBe(true);
    expect(stored.bidx).toEqual({});
    expect(await People.findById(erased._id).lean()).toMatchObject({ name: null, contact: { email: null } });
  });
});

describe('re-encryption', () => {
  /** The envelopes of a tenant's documents, by key id. */
  async function keyIdsOf(tenantId: string): Promise<string[]> {
    return (await coll().find({ tenantId }).toArray()).flatMap((d) => [d.pii, d.name, d.contact?.email].filter(isEnvelope).map((e) => readKeyRef(e).keyId));
  }

  test('rotation re-seals each document envelope under the current version (compare-and-set), resumes after a crash, and folds older layouts in', async () => {
    const tenantId = `rx-${id()}`;
    const subjects = ['s-1', 's-2', 's-3'];
    const docs = Array.from({ length: 12 }, (_, i) => person({ _id: `${String(i).padStart(4, '0')}${id()}`, tenantId, subjectId: subjects[i % 3], name: `Person ${i}` }));
    for (const d of docs.slice(0, 10)) await People.create(d);
    // One in the per-field layout, one in clear.
    await FieldPeople.create(docs[10]);
    await coll().insertOne(docs[11] as never);
    const oldIds = new Set(await keyIdsOf(tenantId));
    await newDataKeyVersion(runtime.vault, { tenantId });
    for (const subjectId of subjects) await newDataKeyVersion(runtime.vault, { tenantId, subjectId });

    const crash = new Error('simulated crash');
    await expect(
      reencryptTenant({ conn, vault: runtime.vault, tenantId, models: [People], batchSize: 4, afterBatch: ({ batch }) => {
        if (batch === 1) throw crash;
      } }),
    ).rejects.toBe(crash);
    const res = await reencryptTenant({ conn, vault: runtime.vault, tenantId, models: [People], resume: true });
    expect(res.status).toBe('finished');
    // 10 document envelopes; the per-field document's 6 envelopes and the plaintext document's 6 values folded in.
    expect(res.counts).toEqual({ scanned: 12, envelopes: 16, reencrypted: 16, current: 0, skipped: 0, shredded: 0, failed: 0, plaintext: 6, encryptedPlaintext: 6 });
    const stored = await coll().find({ tenantId }).toArray();
    for (const d of stored) {
      expect(isEnvelope(d.pii)).toBe(true);
      expectNoValuesAtPaths(d);
    }
    const ids = await keyIdsOf(tenantId);
    expect(ids).toHaveLength(12);
    expect(ids.some((k) => oldIds.has(k))).toBe(false);
    expect(res.retired).toHaveLength(4);
    runtime.vault.clearCache();
    const back = await People.find({ tenantId }).sort({ _id: 1 }).lean();
    expect(back).toEqual(docs.map((d) => ({ ...d, bidx: { email: expect.any(String) } })));
    expect(unreadable).toEqual([]);
  });

  test('a shredded subject is left alone (counted), tampered envelopes fail, and nothing is rewritten for them', async () => {
    const tenantId = `rx-${id()}`;
    const alive = person({ tenantId, subjectId: 'alive' });
    const gone = person({ tenantId, subjectId: 'gone' });
    const broken = person({ tenantId, subjectId: 'broken' });
    for (const d of [alive, gone, broken]) await People.create(d);
    await coll().updateOne({ _id: broken._id as never }, { $set: { pii: tamper((await raw(broken._id))!.pii) } });
    await newDataKeyVersion(runtime.vault, { tenantId, subjectId: 'alive' });
    await newDataKeyVersion(runtime.vault, { tenantId, subjectId: 'broken' });
    await shredSubject(runtime.vault, { tenantId, subjectId: 'gone' });
    const before = await Promise.all([gone._id, broken._id].map(raw));
    const res = await reencryptTenant({ conn, vault: runtime.vault, tenantId, models: [People] });
    expect(res.counts).toMatchObject({ scanned: 3, envelopes: 3, reencrypted: 1, shredded: 1, failed: 1 });
    expect(await Promise.all([gone._id, broken._id].map(raw))).toEqual(before);
    expect((await People.findById(alive._id).lean())!.name).toBe('Ada Lovelace');
  });
});
