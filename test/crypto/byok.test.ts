/**
 * @jest-environment <rootDir>/test/crypto/softhsm-environment.ts
 *
 * Customer-managed master keys per tenant (BYOK, TENANT_MASTER_KEYS) through
 * `openFieldCrypto`, over devdb, on two toy encrypted models (personal data
 * under subject keys with a blind index, notes under the tenant key):
 *
 * - with key files: each tenant's data keys are wrapped by its own key, the
 *   others' by the platform key (key_vault records inspected); a key file
 *   that is gone (revoked) leaves that tenant's values null with the reason
 *   and its writes refused while the others are served; a key labelled for
 *   another environment refuses the start, every provider opened is closed;
 *   `keys:rotate-master` moves one tenant onto its own key, and a platform
 *   rotation sends a BYOK tenant's leftover keys onto its own key;
 * - with SoftHSM2 (two tenant keys in one token): the same wrapping, a key
 *   deleted from the token while the process runs (revocation), a restart
 *   without it, and a tenant moved from the platform key file onto its HSM
 *   key.
 */
import { copyFileSync, renameSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import mongoose, { Schema, type Connection, type Model } from 'mongoose';
import { startDevDb, type DevDb } from '../../devdb';
import { loadCryptoConfig, type CryptoConfig } from '../../lib/crypto/config';
import { readKeyRef } from '../../lib/crypto/fields';
import { blindIndexFilter, encryptedFields, isEnvelope, type UnreadableField } from '../../lib/crypto/model-encryption';
import { ensurePkcs11MasterKey, localKeyFile, LocalMasterKeyProvider } from '../../lib/crypto/providers';
import { newDataKeyVersion } from '../../lib/crypto/rotation';
import { openFieldCrypto, type FieldCryptoRuntime } from '../../lib/crypto/runtime';
import type { DataKeyRecord } from '../../lib/crypto/vault-store';
import { formatMasterRotation, rotateMasterKey } from '../../scripts/key-rotation';
import { keyInventory } from '../../subgraphs/identity/key-inventory';
import { createSoftHsmToken, destroySoftHsmKey, SOFTHSM_LIB, softHsmInstalled, tempDir, type SoftHsmToken } from './kit';

interface PersonDoc {
  _id: string;
  tenantId: string;
  subjectId: string;
  name: string | null;
  email: string | null;
}
interface NoteDoc {
  _id: string;
  tenantId: string;
  body: string | null;
}

const Encrypted = { type: Schema.Types.Mixed, default: null };
const personSchema = new Schema<PersonDoc>({ _id: String, tenantId: { type: String, required: true }, subjectId: { type: String, required: true }, name: Encrypted, email: Encrypted }, { collection: 'byok_people', versionKey: false });
personSchema.plugin(encryptedFields, { collection: 'byok_people', paths: ['name', 'email'], subjectPath: 'subjectId', blindIndexes: [{ path: 'email', name: 'email', normalise: 'email', bits: 16 }] });
const noteSchema = new Schema<NoteDoc>({ _id: String, tenantId: { type: String, required: true }, body: Encrypted }, { collection: 'byok_notes', versionKey: false });
noteSchema.plugin(encryptedFields, { collection: 'byok_notes', paths: ['body'] });

// Tenant ids: A and B bring their own keys, C uses the platform key.
const A = 'tenant-a';
const B = 'tenant-b';
const C = 'tenant-c';

let devdb: DevDb;
beforeAll(async () => {
  devdb = await startDevDb({ port: 0 });
});
afterAll(async () => {
  await devdb.stop();
});

interface Proc {
  conn: Connection;
  runtime: FieldCryptoRuntime;
  People: Model<PersonDoc>;
  Notes: Model<NoteDoc>;
  unreadable: UnreadableField[];
  unavailable: Array<{ masterKeyId: string; tenantIds: string[] }>;
  close(): Promise<void>;
}

/** A "process": its own connection to `dbName` and its own field crypto from `crypto`. */
async function proc(dbName: string, crypto: CryptoConfig): Promise<Proc> {
  const conn = await mongoose.createConnection(devdb.uri, { dbName }).asPromise();
  const unreadable: UnreadableField[] = [];
  const unavailable: Array<{ masterKeyId: string; tenantIds: string[] }> = [];
  let runtime: FieldCryptoRuntime;
  try {
    runtime = await openFieldCrypto(conn, { appEnv: 'development', crypto, onUnreadable: (f) => unreadable.push(f), onMasterKeyUnavailable: (i) => unavailable.push(i) });
  } catch (err) {
    await conn.close();
    throw err;
  }
  const People = conn.model<PersonDoc>('ByokPerson', personSchema);
  const Notes = conn.model<NoteDoc>('ByokNote', noteSchema);
  await Promise.all([People.init(), Notes.init()]);
  return {
    conn,
    runtime,
    People,
    Notes,
    unreadable,
    unavailable,
    close: async () => {
      await conn.close();
      await runtime.close();
    },
  };
}

const newDb = () => `byok_${randomBytes(4).toString('hex')}`;

/** Two people (two subjects) and a note per tenant. */
async function write(p: Proc, tenantId: string): Promise<void> {
  for (const i of [1, 2]) await p.People.create({ _id: `${tenantId}-p${i}`, tenantId, subjectId: `${tenantId}-s${i}`, name: `Person ${i} of ${tenantId}`, email: `p${i}@${tenantId}.example` });
  await p.Notes.create({ _id: `${tenantId}-n1`, tenantId, body: `note of ${tenantId}` });
}

/** What the tenant's documents read as through the models. */
async function read(p: Proc, tenantId: string): Promise<Array<string | null>> {
  const people = await p.People.find({ tenantId }).sort({ _id: 1 }).lean();
  const notes = await p.Notes.find({ tenantId }).sort({ _id: 1 }).lean();
  return [...people.flatMap((d) => [d.name, d.email]), ...notes.map((n) => n.body)];
}

const expected = (tenantId: string) => [`Person 1 of ${tenantId}`, `p1@${tenantId}.example`, `Person 2 of ${tenantId}`, `p2@${tenantId}.example`, `note of ${tenantId}`];

/** The master key ids the tenant's key_vault records name, and how many each. */
async function wrappedBy(conn: Connection, tenantId: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const r of await conn.db!.collection<DataKeyRecord>('key_vault').find({ tenantId, status: { $ne: 'destroyed' } }).toArray()) out[r.masterKeyId] = (out[r.masterKeyId] ?? 0) + 1;
  return out;
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  return p.then(
    () => undefined,
    (e: { code?: string }) => e.code,
  );
}

describe('tenant master keys in key files', () => {
  const keys = tempDir();
  const base = { appEnv: 'development' as const, keysDir: keys.dir };
  const config = (extra: Record<string, string> = {}) => loadCryptoConfig({ TENANT_MASTER_KEYS: `${A}=local:acme, ${B}=local:globex`, ...extra }, base);
  const acmeFile = localKeyFile({ keysDir: keys.dir, env: 'development', name: 'acme' });

  beforeAll(async () => {
    // The customers' keys exist before the platform uses them (a tenant key is never generated by a process).
    for (const name of ['acme', 'globex']) await (await LocalMasterKeyProvider.open({ keysDir: keys.dir, env: 'development', name, generate: true })).close();
  });
  afterAll(() => keys.cleanup());

  test("each tenant's data keys are wrapped by its own key file, the others' by the platform key; everything reads back in another process", async () => {
    const dbName = newDb();
    const p = await proc(dbName, config());
    try {
      for (const t of [A, B, C]) await write(p, t);
      // Two subject keys and the tenant key (notes and the blind-index root) per tenant.
      expect(await wrappedBy(p.conn, A)).toEqual({ 'local:development/master-acme': 3 });
      expect(await wrappedBy(p.conn, B)).toEqual({ 'local:development/master-globex': 3 });
      expect(await wrappedBy(p.conn, C)).toEqual({ 'local:development/master-1': 3 });
      // Stored as envelopes naming the tenant's own data keys, with blind indexes.
      const raw = await p.conn.db!.collection('byok_people').findOne({ _id: `${A}-p1` as never });
      expect(isEnvelope(raw!.name) && isEnvelope(raw!.email)).toBe(true);
      expect(typeof (raw!.bidx as { email: unknown }).email).toBe('string');
      const keyOfA = await p.conn.db!.collection<DataKeyRecord>('key_vault').findOne({ _id: readKeyRef(raw!.name).keyId });
      expect(keyOfA).toMatchObject({ tenantId: A, subjectId: `${A}-s1`, masterKeyId: 'local:development/master-acme' });
      expect(p.runtime.masterKeyOf(A)).toEqual({ masterKeyId: 'local:development/master-acme', customerManaged: true, available: true });
      expect(p.runtime.masterKeyOf(C)).toEqual({ masterKeyId: 'local:development/master-1', customerManaged: false, available: true });
      const inv = await keyInventory(p.runtime, A);
      expect(inv.masterKey).toEqual({ id: 'local:development/master-acme', customerManaged: true, available: true });
      expect(inv.tenantKeys.map((k) => k.masterKeyId)).toEqual(['local:development/master-acme']);
      expect(inv.subjectKeys.masterKeys).toEqual([{ masterKeyId: 'local:development/master-acme', keys: 2 }]);
      expect(JSON.stringify(inv)).not.toContain(`${A}-s1`);
    } finally {
      await p.close();
    }
    const q = await proc(dbName, config());
    try {
      for (const t of [A, B, C]) expect(await read(q, t)).toEqual(expected(t));
      const filter = await blindIndexFilter(q.People, A, 'email', 'P2@tenant-a.example');
      expect((await q.People.find(filter).lean()).map((d) => d._id)).toEqual([`${A}-p2`]);
      expect(q.unreadable).toEqual([]);
    } finally {
      await q.close();
    }
  });

  test("a revoked tenant key: the tenant's values read as null with the reason, its writes are refused (no fallback to the platform key), the others are served", async () => {
    const dbName = newDb();
    const p = await proc(dbName, config());
    for (const t of [A, B, C]) await write(p, t);
    await p.close();

    // The customer revokes: the key file is gone when the process starts.
    renameSync(acmeFile, `${acmeFile}.revoked`);
    try {
      const q = await proc(dbName, config());
      try {
        expect(q.unavailable).toEqual([{ masterKeyId: 'local:development/master-acme', tenantIds: [A] }]);
        expect(q.runtime.masterKeyOf(A)).toEqual({ masterKeyId: 'local:development/master-acme', customerManaged: true, available: false });
        expect(await read(q, A)).toEqual([null, null, null, null, null]);
        expect(q.unreadable).toHaveLength(5);
        expect(new Set(q.unreadable.map((u) => u.reason))).toEqual(new Set(['MASTER_KEY_UNAVAILABLE']));
        expect(q.unreadable.every((u) => !JSON.stringify(u).includes('Person'))).toBe(true);
        for (const t of [B, C]) expect(await read(q, t)).toEqual(expected(t));

        const keysOfA = await wrappedBy(q.conn, A);
        expect(await codeOf(q.People.create({ _id: `${A}-p3`, tenantId: A, subjectId: `${A}-s3`, name: 'New', email: 'n@a.example' }))).toBe('MASTER_KEY_UNAVAILABLE');
        expect(await codeOf(q.People.create({ _id: `${A}-p4`, tenantId: A, subjectId: `${A}-s1`, name: 'Same subject', email: null }))).toBe('MASTER_KEY_UNAVAILABLE');
        expect(await codeOf(q.Notes.create({ _id: `${A}-n2`, tenantId: A, body: 'new note' }))).toBe('MASTER_KEY_UNAVAILABLE');
        expect(await codeOf(blindIndexFilter(q.People, A, 'email', 'p1@tenant-a.example'))).toBe('MASTER_KEY_UNAVAILABLE');
        expect(await wrappedBy(q.conn, A)).toEqual(keysOfA);
        expect(await q.conn.db!.collection('byok_people').countDocuments({ tenantId: A })).toBe(2);
        // Other tenants write as before.
        await q.Notes.create({ _id: `${C}-n2`, tenantId: C, body: 'still working' });
        await q.People.create({ _id: `${B}-p3`, tenantId: B, subjectId: `${B}-s3`, name: 'New B', email: 'n@b.example' });
        expect((await q.Notes.findById(`${C}-n2`).lean())!.body).toBe('still working');
        expect((await q.People.findById(`${B}-p3`).lean())!.name).toBe('New B');

        const inv = await keyInventory(q.runtime, A);
        expect(inv.masterKey).toEqual({ id: 'local:development/master-acme', customerManaged: true, available: false });
        expect(inv.tenantKeys).toHaveLength(1);
      } finally {
        await q.close();
      }
      // A process configured without the tenant's entry at all reads null too, rather than failing.
      const r = await proc(dbName, config({ TENANT_MASTER_KEYS: `${B}=local:globex` }));
      try {
        expect(await read(r, A)).toEqual([null, null, null, null, null]);
        expect(new Set(r.unreadable.map((u) => u.reason))).toEqual(new Set(['MASTER_KEY_UNAVAILABLE']));
        expect(await read(r, B)).toEqual([...expected(B).slice(0, 4), 'New B', 'n@b.example', `note of ${B}`]);
      } finally {
        await r.close();
      }
    } finally {
      renameSync(`${acmeFile}.revoked`, acmeFile);
    }
    // The key back (a revocation undone): the data reads again.
    const s = await proc(dbName, config());
    try {
      expect(await read(s, A)).toEqual(expected(A));
    } finally {
      await s.close();
    }
  });

  test('a revoked tenant key and document envelopes: each document reads as null (one report), a write is refused as for fields (MASTER_KEY_UNAVAILABLE), nothing written', async () => {
    const docSchema = new Schema<PersonDoc>({ _id: String, tenantId: { type: String, required: true }, subjectId: { type: String, required: true }, name: Schema.Types.Mixed, email: Schema.Types.Mixed }, { collection: 'byok_records', versionKey: false });
    docSchema.plugin(encryptedFields, { collection: 'byok_records', paths: ['name', 'email'], subjectPath: 'subjectId', envelope: 'document' });
    const dbName = newDb();
    const p = await proc(dbName, config());
    const Records = p.conn.model<PersonDoc>('ByokRecord', docSchema);
    for (const t of [A, C]) await Records.create({ _id: `${t}-r1`, tenantId: t, subjectId: `${t}-s1`, name: `Record of ${t}`, email: `r@${t}.example` });
    await p.close();
    renameSync(acmeFile, `${acmeFile}.revoked`);
    try {
      const q = await proc(dbName, config());
      try {
        const Q = q.conn.model<PersonDoc>('ByokRecord', docSchema);
        expect(await Q.findById(`${A}-r1`).lean()).toMatchObject({ name: null, email: null });
        expect(q.unreadable).toEqual([{ collection: 'byok_records', path: 'pii', documentId: `${A}-r1`, reason: 'MASTER_KEY_UNAVAILABLE' }]);
        const before = await q.conn.db!.collection('byok_records').findOne({ _id: `${A}-r1` as never });
        expect(await codeOf(Q.updateOne({ _id: `${A}-r1` }, { $set: { name: 'Over it' } }))).toBe('MASTER_KEY_UNAVAILABLE');
        expect(await codeOf(Q.create({ _id: `${A}-r2`, tenantId: A, subjectId: `${A}-s2`, name: 'New', email: null }))).toBe('MASTER_KEY_UNAVAILABLE');
        expect(await q.conn.db!.collection('byok_records').findOne({ _id: `${A}-r1` as never })).toEqual(before);
        expect(await q.conn.db!.collection('byok_records').countDocuments({ tenantId: A })).toBe(1);
        expect((await Q.findById(`${C}-r1`).lean())!.name).toBe(`Record of ${C}`);
      } finally {
        await q.close();
      }
    } finally {
      renameSync(`${acmeFile}.revoked`, acmeFile);
    }
  });

  test('a key of another environment is refused: the start fails and every provider opened is closed', async () => {
    expect(() => config({ TENANT_MASTER_KEYS: `${A}=local:staging/acme` })).toThrow(/environment "staging"/);
    // A staging key file copied into the development folder under a tenant's key name.
    const staging = tempDir();
    try {
      await (await LocalMasterKeyProvider.open({ keysDir: staging.dir, env: 'staging', name: 'evil', generate: true })).close();
      copyFileSync(localKeyFile({ keysDir: staging.dir, env: 'staging', name: 'evil' }), path.join(keys.dir, 'development', 'master-evil.key'));
    } finally {
      staging.cleanup();
    }
    const close = jest.spyOn(LocalMasterKeyProvider.prototype, 'close');
    try {
      await expect(proc(newDb(), config({ TENANT_MASTER_KEYS: `${A}=local:acme,${B}=local:globex,tenant-d=local:evil` }))).rejects.toMatchObject({ code: 'KEY_ENVIRONMENT_MISMATCH' });
      // The platform key, acme and globex.
      expect(close).toHaveBeenCalledTimes(3);
      close.mockClear();
      // A running process closes every provider it opened, a key shared by two tenants once.
      const p = await proc(newDb(), config({ TENANT_MASTER_KEYS: `${A}=local:acme,${B}=local:globex,${C}=local:acme,tenant-e=local:1` }));
      expect(p.runtime.masterKeyOf('tenant-e')).toEqual({ masterKeyId: 'local:development/master-1', customerManaged: false, available: true });
      await p.close();
      expect(close).toHaveBeenCalledTimes(3);
    } finally {
      close.mockRestore();
    }
  });

  test('keys:rotate-master --tenant T --to local:<name>: the tenant moves onto its own key (created in development), nothing else moves; then configured, its new keys stay there', async () => {
    const dbName = newDb();
    const p = await proc(dbName, config());
    for (const t of [A, B, C]) await write(p, t);
    const otherBefore = { a: await wrappedBy(p.conn, A), b: await wrappedBy(p.conn, B) };
    const envelopesBefore = JSON.stringify(await p.conn.db!.collection('byok_people').find({ tenantId: C }).toArray());
    try {
      const cfg = config();
      const res = await rotateMasterKey({ conn: p.conn, masterKey: cfg.masterKey, tenantMasterKeys: cfg.tenantMasterKeys, keySettings: cfg.keySettings, to: 'local:cust-c', tenantId: C });
      expect(res).toEqual({ rewrapped: 3, skipped: 0, from: 'local:development/master-1', to: 'local:development/master-cust-c', remaining: 0, configured: 'local:development/master-1' });
      expect(formatMasterRotation(res, { tenantId: C, to: 'local:cust-c' })).toBe(
        [
          `master key move of tenant ${C}: local:development/master-1 → local:development/master-cust-c`,
          'rewrapped 3 data key(s)',
          `data keys of tenant ${C} not wrapped by local:development/master-cust-c: 0`,
          `next: the tenant's new data keys are still wrapped by local:development/master-1: set TENANT_MASTER_KEYS (or its file) to ${C}=local:cust-c for every process`,
          '      and restart them; then run this command again to move keys created meanwhile.',
          '',
        ].join('\n'),
      );
      expect(await wrappedBy(p.conn, C)).toEqual({ 'local:development/master-cust-c': 3 });
      expect({ a: await wrappedBy(p.conn, A), b: await wrappedBy(p.conn, B) }).toEqual(otherBefore);
      // No stored value changed.
      expect(JSON.stringify(await p.conn.db!.collection('byok_people').find({ tenantId: C }).toArray())).toBe(envelopesBefore);
      // Again: nothing left to move.
      expect(await rotateMasterKey({ conn: p.conn, masterKey: cfg.masterKey, keySettings: cfg.keySettings, to: 'local:cust-c', tenantId: C })).toMatchObject({ rewrapped: 0, remaining: 0, from: '' });
    } finally {
      await p.close();
    }
    const withC = config({ TENANT_MASTER_KEYS: `${A}=local:acme,${B}=local:globex,${C}=local:cust-c` });
    const q = await proc(dbName, withC);
    try {
      expect(await read(q, C)).toEqual(expected(C));
      await newDataKeyVersion(q.runtime.vault, { tenantId: C });
      await q.People.create({ _id: `${C}-p9`, tenantId: C, subjectId: `${C}-s9`, name: 'After the move', email: null });
      expect(await wrappedBy(q.conn, C)).toEqual({ 'local:development/master-cust-c': 5 });
      const res = await rotateMasterKey({ conn: q.conn, masterKey: withC.masterKey, tenantMasterKeys: withC.tenantMasterKeys, keySettings: withC.keySettings, to: 'local:cust-c', tenantId: C });
      expect(res.configured).toBe('local:development/master-cust-c');
      expect(formatMasterRotation(res, { tenantId: C, to: 'local:cust-c' })).not.toContain('next:');
    } finally {
      await q.close();
    }
  });

  test("a platform rotation moves a BYOK tenant's keys still on the platform key onto its own key, the rest onto the new platform key; tenants' own keys stay", async () => {
    const dbName = newDb();
    // Tenant C wrote before it brought its own key.
    const before = await proc(dbName, config());
    for (const t of [A, C]) await write(before, t);
    await before.close();
    await (await LocalMasterKeyProvider.open({ keysDir: keys.dir, env: 'development', name: 'own-c', generate: true })).close();
    const cfg = config({ TENANT_MASTER_KEYS: `${A}=local:acme,${C}=local:own-c` });
    const p = await proc(dbName, cfg);
    try {
      await write(p, B);
      expect(await wrappedBy(p.conn, C)).toEqual({ 'local:development/master-1': 3 });
      const res = await rotateMasterKey({ conn: p.conn, masterKey: cfg.masterKey, tenantMasterKeys: cfg.tenantMasterKeys, keySettings: cfg.keySettings, to: 'next' });
      expect(res).toEqual({ rewrapped: 6, skipped: 0, ontoTenantKeys: 3, from: 'local:development/master-1', to: 'local:development/master-next', remaining: 0 });
      expect(formatMasterRotation(res, { to: 'next' })).toContain("rewrapped 6 data key(s) (3 onto tenants' own master keys)\n");
      expect(await wrappedBy(p.conn, A)).toEqual({ 'local:development/master-acme': 3 });
      expect(await wrappedBy(p.conn, B)).toEqual({ 'local:development/master-next': 3 });
      expect(await wrappedBy(p.conn, C)).toEqual({ 'local:development/master-own-c': 3 });
    } finally {
      await p.close();
    }
    const q = await proc(dbName, config({ MASTER_KEY_NAME: 'next', TENANT_MASTER_KEYS: `${A}=local:acme,${C}=local:own-c` }));
    try {
      for (const t of [A, B, C]) expect(await read(q, t)).toEqual(expected(t));
      expect(q.unreadable).toEqual([]);
    } finally {
      await q.close();
    }
  });
});

const hsmSuite = softHsmInstalled ? describe : describe.skip;
const skipped = softHsmInstalled ? '' : ` — SKIPPED: ${SOFTHSM_LIB} not found (apt-get install -y softhsm2)`;

hsmSuite(`tenant master keys in an HSM (SoftHSM2)${skipped}`, () => {
  const keys = tempDir();
  let token: SoftHsmToken;
  const hsmEnv = () => ({ PKCS11_MODULE: SOFTHSM_LIB, PKCS11_TOKEN_LABEL: token.tokenLabel, PKCS11_PIN: token.pin });
  // The platform key is a key file here: PKCS#11 settings are read because tenant keys live in the token.
  const config = (tenants: string) => loadCryptoConfig({ ...hsmEnv(), TENANT_MASTER_KEYS: tenants }, { appEnv: 'development', keysDir: keys.dir });
  const hsmKey = (name: string) => ensurePkcs11MasterKey({ env: 'development', modulePath: SOFTHSM_LIB, tokenLabel: token.tokenLabel, pin: token.pin, keyLabel: `development/${name}` });

  beforeAll(async () => {
    token = createSoftHsmToken();
    // Two customers' keys in the token, made by the HSM's tooling.
    for (const name of ['tenant-a', 'tenant-b']) expect(await hsmKey(name)).toMatchObject({ created: true });
  });
  afterAll(() => keys.cleanup());

  test("two tenants' data keys wrapped inside the token by their own keys; one deleted from the token while the process runs: that tenant reads null, the others are served; a restart without it starts", async () => {
    const dbName = newDb();
    const tenants = `${A}=pkcs11:tenant-a,${B}=pkcs11:tenant-b`;
    const p = await proc(dbName, config(tenants));
    try {
      for (const t of [A, B, C]) await write(p, t);
      expect(await wrappedBy(p.conn, A)).toEqual({ 'pkcs11:development/tenant-a': 3 });
      expect(await wrappedBy(p.conn, B)).toEqual({ 'pkcs11:development/tenant-b': 3 });
      expect(await wrappedBy(p.conn, C)).toEqual({ 'local:development/master-1': 3 });
      p.runtime.vault.clearCache();
      for (const t of [A, B, C]) expect(await read(p, t)).toEqual(expected(t));

      // The customer's contract ends: their key is deleted from the HSM.
      expect(destroySoftHsmKey(token, 'development/tenant-a')).toBe(1);
      p.runtime.vault.clearCache();
      expect(await read(p, A)).toEqual([null, null, null, null, null]);
      expect(new Set(p.unreadable.map((u) => u.reason))).toEqual(new Set(['MASTER_KEY_UNAVAILABLE']));
      for (const t of [B, C]) expect(await read(p, t)).toEqual(expected(t));
      expect(await codeOf(p.Notes.create({ _id: `${A}-n2`, tenantId: A, body: 'after revocation' }))).toBe('MASTER_KEY_UNAVAILABLE');
      expect(await codeOf(p.People.create({ _id: `${A}-p3`, tenantId: A, subjectId: `${A}-s3`, name: 'New', email: null }))).toBe('MASTER_KEY_UNAVAILABLE');
      expect(await wrappedBy(p.conn, A)).toEqual({ 'pkcs11:development/tenant-a': 3 });
      await p.Notes.create({ _id: `${B}-n2`, tenantId: B, body: 'B still writes' });
      expect((await p.Notes.findById(`${B}-n2`).lean())!.body).toBe('B still writes');
    } finally {
      await p.close();
    }
    const q = await proc(dbName, config(tenants));
    try {
      expect(q.unavailable).toEqual([{ masterKeyId: 'pkcs11:development/tenant-a', tenantIds: [A] }]);
      expect(await read(q, A)).toEqual([null, null, null, null, null]);
      expect(await read(q, B)).toEqual([...expected(B), 'B still writes']);
    } finally {
      await q.close();
    }
  });

  test('keys:rotate-master --tenant T --to pkcs11:<name> moves a tenant from the platform key file onto its HSM key', async () => {
    const dbName = newDb();
    const p = await proc(dbName, config(`${B}=pkcs11:tenant-b`));
    for (const t of [B, C]) await write(p, t);
    await p.close();
    await hsmKey('tenant-c');
    const cfg = config(`${B}=pkcs11:tenant-b,${C}=pkcs11:tenant-c`);
    // A key missing from the token is refused, never created.
    const conn = await mongoose.createConnection(devdb.uri, { dbName }).asPromise();
    try {
      await expect(rotateMasterKey({ conn, masterKey: cfg.masterKey, keySettings: cfg.keySettings, to: 'pkcs11:tenant-missing', tenantId: C })).rejects.toMatchObject({ code: 'KEY_PROVIDER_CONFIG' });
      const res = await rotateMasterKey({ conn, masterKey: cfg.masterKey, tenantMasterKeys: cfg.tenantMasterKeys, keySettings: cfg.keySettings, to: 'pkcs11:tenant-c', tenantId: C });
      expect(res).toEqual({ rewrapped: 3, skipped: 0, from: 'local:development/master-1', to: 'pkcs11:development/tenant-c', remaining: 0, configured: 'pkcs11:development/tenant-c' });
      expect(await wrappedBy(conn, C)).toEqual({ 'pkcs11:development/tenant-c': 3 });
      expect(await wrappedBy(conn, B)).toEqual({ 'pkcs11:development/tenant-b': 3 });
    } finally {
      await conn.close();
    }
    const q = await proc(dbName, cfg);
    try {
      for (const t of [B, C]) expect(await read(q, t)).toEqual(expected(t));
      await q.People.create({ _id: `${C}-p9`, tenantId: C, subjectId: `${C}-s9`, name: 'After', email: null });
      expect(await wrappedBy(q.conn, C)).toEqual({ 'pkcs11:development/tenant-c': 4 });
      expect((await keyInventory(q.runtime, C)).masterKey).toEqual({ id: 'pkcs11:development/tenant-c', customerManaged: true, available: true });
    } finally {
      await q.close();
    }
  });
});
