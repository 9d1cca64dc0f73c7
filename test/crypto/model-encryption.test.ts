/**
 * The encryptedFields mongoose plugin over devdb, through the wire: what is
 * stored is an envelope, what is read is the value; writes it cannot bind to
 * one document are refused; moved, tampered and shredded values read as
 * null and are reported; blind-index lookups filter false positives; and a
 * page of documents costs one key-vault query.
 */
import { randomBytes } from 'node:crypto';
import { Binary } from 'bson';
import mongoose, { Schema, type Connection, type Model } from 'mongoose';
import type { DevDb } from '../../devdb';
import { shredSubject } from '../../lib/crypto';
import {
  blindIndexFilter,
  blindIndexNormaliser,
  decryptDocuments,
  encryptDocuments,
  encryptedFields,
  encryptUpdateFor,
  isEnvelope,
  leaveSealed,
  PlaintextWriteRefusedError,
  type UnreadableField,
} from '../../lib/crypto/model-encryption';
import { disableFieldCrypto, type FieldCryptoRuntime } from '../../lib/crypto/runtime';
import { startEncryptedDb } from './kit';

interface PersonDoc {
  _id: string;
  tenantId: string;
  subjectId: string;
  name: string | null;
  contact: { email: string | null; phone: string | null; city: string | null } | null;
  tags: string[] | null;
  visits: number;
  bidx?: Record<string, string>;
}

const Encrypted = { type: Schema.Types.Mixed, default: null };
const personSchema = new Schema<PersonDoc>(
  {
    _id: String,
    tenantId: { type: String, required: true },
    subjectId: { type: String, required: true },
    name: Encrypted,
    contact: { type: new Schema({ email: Encrypted, phone: Encrypted, city: String }, { _id: false }), default: null },
    tags: Encrypted,
    visits: { type: Number, default: 0 },
  },
  { collection: 'people', versionKey: false },
);
personSchema.plugin(encryptedFields, {
  collection: 'people',
  paths: ['name', 'contact.email', 'contact.phone', 'tags'],
  subjectPath: 'subjectId',
  // 2 bits: four buckets, so a handful of people collide and the lookup must drop false positives.
  blindIndexes: [{ path: 'contact.email', name: 'email', normalise: 'email', bits: 2 }],
});

let devdb: DevDb;
let conn: Connection;
let runtime: FieldCryptoRuntime;
let People: Model<PersonDoc>;
const unreadable: UnreadableField[] = [];
const T1 = 'tenant-one';
const T2 = 'tenant-two';

const id = () => randomBytes(12).toString('hex');
const person = (over: Partial<PersonDoc> = {}): PersonDoc => ({
  _id: id(),
  tenantId: T1,
  subjectId: `subject-${id()}`,
  name: 'Ada Lovelace',
  contact: { email: 'Ada@Example.com', phone: '+44 20 7946 0958', city: 'London' },
  tags: ['vip', 'fragile'],
  visits: 0,
  ...over,
});
const raw = (docId: string) => conn.db!.collection('people').findOne({ _id: docId as never }) as Promise<Record<string, any> | null>;

let close: () => Promise<void>;

beforeAll(async () => {
  ({ devdb, conn, runtime, close } = await startEncryptedDb((f) => unreadable.push(f)));
  People = conn.model<PersonDoc>('Person', personSchema);
  await People.init();
});

afterAll(() => close());

beforeEach(() => {
  unreadable.length = 0;
});

describe('writes', () => {
  test('create stores envelopes (BSON Binary 0x80) at every declared path and leaves the rest in clear', async () => {
    const p = person();
    await People.create(p);
    const stored = (await raw(p._id))!;
    for (const v of [stored.name, stored.contact.email, stored.contact.phone, stored.tags]) {
      expect(v).toBeInstanceOf(Binary);
      expect((v as Binary).sub_type).toBe(0x80);
    }
    expect(stored.contact.city).toBe('London');
    expect(JSON.stringify(stored)).not.toMatch(/Lovelace|Example\.com|20 7946|fragile/i);
    // The blind index is stored beside the envelope; null values stay null and unindexed.
    expect(stored.bidx.email).toMatch(/^[0-9a-f]{2}$/);
    const q = person({ name: null, contact: null });
    await People.create(q);
    const storedQ = (await raw(q._id))!;
    expect(storedQ.name).toBeNull();
    expect(storedQ.bidx?.email).toBeUndefined();
  });

  test('updateOne and findOneAndUpdate by _id encrypt $set values, whole subdocuments included, and keep the blind index in step', async () => {
    const p = person();
    await People.create(p);
    const before = (await raw(p._id))!.bidx.email;
    await People.updateOne({ _id: p._id }, { $set: { name: 'Grace Hopper' }, $inc: { visits: 1 } });
    const updated = await People.findOneAndUpdate({ _id: p._id, tenantId: T1 }, { $set: { contact: { email: 'grace@navy.mil', phone: null, city: 'Arlington' } } }, { returnDocument: 'after' }).lean();
    expect(updated).toMatchObject({ name: 'Grace Hopper', visits: 1, contact: { email: 'grace@navy.mil', phone: null, city: 'Arlington' } });
    const stored = (await raw(p._id))!;
    expect(isEnvelope(stored.name)).toBe(true);
    expect(isEnvelope(stored.contact.email)).toBe(true);
    expect(stored.contact.phone).toBeNull();
    expect(stored.bidx.email).toBe((await blindIndexFilter(People, T1, 'email', 'grace@navy.mil'))['bidx.email']);
    expect(typeof before).toBe('string');
    // Clearing the indexed value clears its index.
    await People.updateOne({ _id: p._id }, { $set: { contact: null } });
    expect((await raw(p._id))!.bidx?.email).toBeUndefined();
  });

  test('save of a hydrated document re-encrypts what changed', async () => {
    const p = person();
    await People.create(p);
    const doc = (await People.findById(p._id))!;
    expect(doc.name).toBe('Ada Lovelace');
    doc.name = 'Ada King';
    doc.visits = 5;
    await doc.save();
    const stored = (await raw(p._id))!;
    expect(isEnvelope(stored.name)).toBe(true);
    expect(stored.visits).toBe(5);
    expect((await People.findById(p._id).lean())!.name).toBe('Ada King');
  });

  test.each([
    ['updateMany', () => People.updateMany({ tenantId: T1 }, { $set: { name: 'Everyone' } })],
    ['an update without _id', () => People.updateOne({ tenantId: T1 }, { $set: { name: 'Someone' } })],
    ['a path inside an encrypted value', () => People.updateOne({ _id: 'x' }, { $set: { 'tags.0': 'leak' } })],
    ['$push onto an encrypted array', () => People.updateOne({ _id: 'x' }, { $push: { tags: 'leak' } })],
    ['insertMany with plaintext', () => People.insertMany([person()])],
    ['bulkWrite insertOne with plaintext', () => People.bulkWrite([{ insertOne: { document: person() } }])],
    ['bulkWrite updateOne with plaintext', () => People.bulkWrite([{ updateOne: { filter: { _id: 'x' }, update: { $set: { name: 'leak' } } } }])],
  ])('refuses %s: PLAINTEXT_WRITE_REFUSED, nothing stored', async (_what, write) => {
    const count = await People.countDocuments({});
    await expect(write()).rejects.toMatchObject({ code: 'PLAINTEXT_WRITE_REFUSED' });
    await expect(write()).rejects.toBeInstanceOf(PlaintextWriteRefusedError);
    expect(await People.countDocuments({})).toBe(count);
  });

  test('writers around the plugin encrypt first: encryptDocuments and encryptUpdateFor', async () => {
    const p = person();
    await encryptDocuments(People, [p]);
    expect(isEnvelope(p.name)).toBe(true);
    await People.bulkWrite([{ insertOne: { document: p } }]);
    const update = await encryptUpdateFor(People, { $set: { name: 'Bulk Name' } }, { documentId: p._id, tenantId: T1, subjectId: p.subjectId });
    await People.bulkWrite([{ updateOne: { filter: { _id: p._id }, update } }]);
    expect((await People.findOne({ _id: p._id }).lean())!.name).toBe('Bulk Name');
  });
});

describe('reads', () => {
  test('find, findOne (lean and hydrated) and aggregate + decryptDocuments return the values', async () => {
    const p = person();
    await People.create(p);
    expect(await People.findOne({ _id: p._id }).lean()).toMatchObject({ name: 'Ada Lovelace', contact: { email: 'Ada@Example.com' }, tags: ['vip', 'fragile'] });
    const hydrated = (await People.findOne({ _id: p._id }))!;
    expect(hydrated.contact!.phone).toBe('+44 20 7946 0958');
    expect(hydrated.isModified()).toBe(false);
    const rows = await People.aggregate<PersonDoc>([{ $match: { _id: p._id } }]);
    expect(isEnvelope(rows[0].name)).toBe(true);
    await decryptDocuments(People, rows);
    expect(rows[0].name).toBe('Ada Lovelace');
  });

  test('a page of documents of many subjects costs one key-vault query once the keys are not cached', async () => {
    const docs = Array.from({ length: 30 }, () => person({ tenantId: T2 }));
    for (const d of docs) await People.create(d);
    runtime.vault.clearCache();
    devdb.resetStats();
    const page = await People.find({ tenantId: T2 }).lean();
    expect(page).toHaveLength(30);
    expect(page.every((d) => d.name === 'Ada Lovelace')).toBe(true);
    const byCollection = devdb.stats().byCollection;
    expect(byCollection['find:key_vault']).toBe(1);
    expect(byCollection['find:people']).toBe(1);
  });

  test('a ciphertext copied to another document, or tampered with, reads as null and is reported (never its value)', async () => {
    const a = person();
    const b = person({ subjectId: a.subjectId });
    await People.create(a);
    await People.create(b);
    const storedA = (await raw(a._id))!;
    await conn.db!.collection('people').updateOne({ _id: b._id as never }, { $set: { name: storedA.name } });
    const tampered = Buffer.from((storedA.contact.email as Binary).buffer);
    tampered[tampered.length - 1] ^= 1;
    await conn.db!.collection('people').updateOne({ _id: a._id as never }, { $set: { 'contact.email': new Binary(tampered, 0x80) } });
    const [readA, readB] = await Promise.all([People.findOne({ _id: a._id }).lean(), People.findOne({ _id: b._id }).lean()]);
    expect(readB!.name).toBeNull();
    expect(readA!.contact!.email).toBeNull();
    expect(readA!.name).toBe('Ada Lovelace');
    expect(unreadable).toEqual(
      expect.arrayContaining([
        { collection: 'people', path: 'name', documentId: b._id, reason: 'AUTHENTICATION' },
        { collection: 'people', path: 'contact.email', documentId: a._id, reason: 'AUTHENTICATION' },
      ]),
    );
    expect(JSON.stringify(unreadable)).not.toMatch(/Lovelace|Example/i);
  });

  test('leaveSealed keeps the named paths as envelopes in find, findOne and decryptDocuments, and decrypts the rest', async () => {
    const p = person();
    await People.create(p);
    const one = await leaveSealed(People.findOne({ _id: p._id }).lean<PersonDoc>(), ['contact.phone', 'tags']);
    expect(isEnvelope(one!.contact!.phone)).toBe(true);
    expect(isEnvelope(one!.tags)).toBe(true);
    expect(one).toMatchObject({ name: 'Ada Lovelace', contact: { email: 'Ada@Example.com', city: 'London' } });
    const many = await leaveSealed(People.find({ _id: p._id }).lean<PersonDoc[]>(), ['name']);
    expect(isEnvelope(many[0].name)).toBe(true);
    expect(many[0].tags).toEqual(['vip', 'fragile']);
    // Only the query it was given: the next read decrypts everything.
    expect((await People.findOne({ _id: p._id }).lean())!.name).toBe('Ada Lovelace');
    const rows = await People.aggregate<PersonDoc>([{ $match: { _id: p._id } }]);
    await decryptDocuments(People, rows, { leaveSealed: ['contact.email'] });
    expect(isEnvelope(rows[0].contact!.email)).toBe(true);
    expect(rows[0].contact!.phone).toBe('+44 20 7946 0958');
  });

  test("a value of another tenant's document moved here fails on its key, not just its tag", async () => {
    const mine = person();
    const theirs = person({ tenantId: T2 });
    await People.create(mine);
    await People.create(theirs);
    const storedTheirs = (await raw(theirs._id))!;
    await conn.db!.collection('people').updateOne({ _id: mine._id as never }, { $set: { name: storedTheirs.name } });
    expect((await People.findOne({ _id: mine._id }).lean())!.name).toBeNull();
    expect(unreadable.map((u) => u.reason)).toContain('KEY_NOT_FOUND');
  });
});

describe('crypto-shredding', () => {
  test("shredding a subject's key erases their values everywhere, a copy taken before the shred included; other subjects are untouched", async () => {
    const erased = person();
    const kept = person();
    await People.create(erased);
    await People.create(kept);
    // A "backup": the raw documents copied to another collection before the shred.
    const backup = conn.db!.collection(`people_backup_${id()}`);
    await backup.insertMany([(await raw(erased._id))!, (await raw(kept._id))!] as never);

    await shredSubject(runtime.vault, { tenantId: T1, subjectId: erased.subjectId });

    const live = await People.findOne({ _id: erased._id }).lean();
    expect(live).toMatchObject({ name: null, contact: { email: null, phone: null, city: 'London' }, tags: null });
    const restored = (await backup.find({}).toArray()) as unknown as PersonDoc[];
    await decryptDocuments(People, restored);
    expect(restored.find((d) => d._id === erased._id)).toMatchObject({ name: null, tags: null });
    expect(restored.find((d) => d._id === kept._id)).toMatchObject({ name: 'Ada Lovelace' });
    expect(unreadable.some((u) => u.reason === 'KEY_DESTROYED' && u.documentId === erased._id)).toBe(true);
    // New data about the same subject gets a new key.
    await People.updateOne({ _id: erased._id }, { $set: { name: 'New Name' } });
    expect((await People.findOne({ _id: erased._id }).lean())!.name).toBe('New Name');
  });

  test('a path left sealed of a shredded subject still reads as null (its key is checked), and is reported', async () => {
    const erased = person();
    await People.create(erased);
    await shredSubject(runtime.vault, { tenantId: T1, subjectId: erased.subjectId });
    unreadable.length = 0;
    const read = await leaveSealed(People.findOne({ _id: erased._id }).lean<PersonDoc>(), ['tags', 'name']);
    expect(read).toMatchObject({ name: null, tags: null, contact: { email: null } });
    expect(unreadable.filter((u) => u.documentId === erased._id).map((u) => u.path).sort()).toEqual(['contact.email', 'contact.phone', 'name', 'tags']);
  });
});

describe('blind indexes', () => {
  test('lookups by a coarse index find candidates, and decryption drops the false positives', async () => {
    const tenant = `bi-${id()}`;
    const people = Array.from({ length: 12 }, (_, i) => person({ tenantId: tenant, contact: { email: `user${i}@example.com`, phone: null, city: null } }));
    for (const p of people) await People.create(p);
    const wanted = 'USER7@example.com ';
    const candidates = await People.find(await blindIndexFilter(People, tenant, 'email', wanted)).lean();
    // 12 values in 4 buckets: other people share user7's bucket.
    expect(candidates.length).toBeGreaterThan(1);
    const normalise = blindIndexNormaliser(People, 'email');
    const matches = candidates.filter((c) => c.contact?.email && normalise(c.contact.email) === normalise(wanted));
    expect(matches.map((m) => m._id)).toEqual([people[7]._id]);
    // Another tenant's index key differs: the same email lands elsewhere or nowhere.
    expect(await blindIndexFilter(People, T2, 'email', wanted)).not.toEqual(await blindIndexFilter(People, tenant, 'email', wanted));
  });
});

describe('encryption off (benchmarks)', () => {
  test('a connection with encryption off stores and reads plaintext', async () => {
    const plain = await mongoose.createConnection(devdb.uri, { dbName: `model_plain_${id()}` }).asPromise();
    try {
      disableFieldCrypto(plain);
      const Plain = plain.model<PersonDoc>('Person', personSchema);
      const p = person();
      await Plain.create(p);
      expect((await plain.db!.collection('people').findOne({ _id: p._id as never }))!.name).toBe('Ada Lovelace');
      expect((await Plain.findOne({ _id: p._id }).lean())!.name).toBe('Ada Lovelace');
    } finally {
      await plain.close();
    }
  });

  test('a connection with no field crypto bound refuses to write personal data', async () => {
    const bare = await mongoose.createConnection(devdb.uri, { dbName: `model_bare_${id()}` }).asPromise();
    try {
      const Bare = bare.model<PersonDoc>('Person', personSchema);
      await expect(Bare.create(person())).rejects.toMatchObject({ code: 'FIELD_CRYPTO_NOT_CONFIGURED' });
    } finally {
      await bare.close();
    }
  });
});

describe('declaration', () => {
  test('a declared path that is not Mixed is refused at declaration', () => {
    const s = new Schema({ tenantId: String, name: String });
    expect(() => s.plugin(encryptedFields, { collection: 'x', paths: ['name'] })).toThrow(/must be declared Schema.Types.Mixed/);
  });
});
