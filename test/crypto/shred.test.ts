import { Types } from 'mongoose';
import { KeyVault } from '../../lib/crypto/key-vault';
import { createFieldEncryptor, readKeyRef, type FieldContext } from '../../lib/crypto/fields';
import { createBlindIndexer, normaliseEmail } from '../../lib/crypto/blind-index';
import { shredSubject, shredTenant } from '../../lib/crypto/shred';
import type { LocalMasterKeyProvider } from '../../lib/crypto/providers/local';
import type { DataKeyRecord } from '../../lib/crypto/vault-store';
import { frozenClock, localKey, startVaultDb, tempDir } from './kit';

let db: Awaited<ReturnType<typeof startVaultDb>>;
const keys = tempDir();
let master: LocalMasterKeyProvider;

beforeAll(async () => {
  db = await startVaultDb();
  master = await localKey(keys.dir);
});
afterAll(async () => {
  await db.close();
  keys.cleanup();
});

const clock = frozenClock();
function vault(): KeyVault {
  return new KeyVault({ store: db.store(), env: 'development', masterKey: master, now: clock.now, cacheTtlMs: 60_000 });
}
const rawKeys = () => db.conn.collection<DataKeyRecord>('key_vault');

interface Row {
  ctx: FieldContext;
  value: string;
}

/** A shipments collection with recipient names under subject keys and a reference under the tenant key. */
async function seed(v: KeyVault, tenantId: string): Promise<{ alice: Row[]; bob: Row[]; tenant: Row[] }> {
  const fe = createFieldEncryptor({ vault: v });
  const shipments = db.conn.collection(`shipments_${tenantId}`);
  const rows = { alice: [] as Row[], bob: [] as Row[], tenant: [] as Row[] };
  for (const [who, subjectId] of [['alice', 'recipient-alice'], ['alice', 'recipient-alice'], ['bob', 'recipient-bob']] as const) {
    const _id = new Types.ObjectId();
    const name: Row = { ctx: { tenantId, collection: 'shipments', field: 'recipient.name', documentId: _id, subjectId }, value: `${who} ${_id.toHexString().slice(-4)}` };
    const ref: Row = { ctx: { tenantId, collection: 'shipments', field: 'reference', documentId: _id }, value: `PO-${_id.toHexString().slice(-6)}` };
    await shipments.insertOne({ _id, tenantId, recipient: { name: await fe.encryptValue(name.value, name.ctx) }, reference: await fe.encryptValue(ref.value, ref.ctx) });
    rows[who].push(name);
    rows.tenant.push(ref);
  }
  return rows;
}

async function envelopeOf(collection: string, row: Row): Promise<unknown> {
  const doc = await db.conn.collection(collection).findOne({ _id: row.ctx.documentId as Types.ObjectId });
  return row.ctx.field === 'reference' ? doc!.reference : (doc!.recipient as { name: unknown }).name;
}

async function outcome(v: KeyVault, collection: string, row: Row): Promise<string> {
  try {
    return String(await createFieldEncryptor({ vault: v }).decryptValue(await envelopeOf(collection, row), row.ctx));
  } catch (err) {
    return `${(err as { code: string }).code}:${(err as { reason?: string }).reason}`;
  }
}

describe('crypto-shredding a data subject', () => {
  it("makes the subject's fields unreadable everywhere, backups included, and leaves everyone else's", async () => {
    const writer = vault();
    const rows = await seed(writer, 't1');
    // Another process that has read (and cached) alice's key before the shred.
    const otherProcess = vault();
    expect(await outcome(otherProcess, 'shipments_t1', rows.alice[0])).toBe(rows.alice[0].value);
    // A backup: a copy of the collection taken before the shred.
    const backup = await db.conn.collection('shipments_t1').find().toArray();
    await db.conn.collection('backup_t1').insertMany(backup);

    const result = await shredSubject(writer, { tenantId: 't1', subjectId: 'recipient-alice' });
    expect(result).toEqual({ destroyed: 1 });
    const record = await rawKeys().findOne({ tenantId: 't1', subjectId: 'recipient-alice' });
    expect(record).toMatchObject({ status: 'destroyed', wrappedKey: null, destroyedAt: clock.now() });

    for (const row of rows.alice) {
      expect(await outcome(writer, 'shipments_t1', row)).toBe('DECRYPTION_FAILED:KEY_DESTROYED');
      expect(await outcome(writer, 'backup_t1', row)).toBe('DECRYPTION_FAILED:KEY_DESTROYED');
      expect(await outcome(vault(), 'backup_t1', row)).toBe('DECRYPTION_FAILED:KEY_DESTROYED');
    }
    // The other process forgets the key when its cache entry expires.
    clock.advance(60_000);
    expect(await outcome(otherProcess, 'backup_t1', rows.alice[0])).toBe('DECRYPTION_FAILED:KEY_DESTROYED');

    for (const row of [...rows.bob, ...rows.tenant]) {
      expect(await outcome(vault(), 'shipments_t1', row)).toBe(row.value);
      expect(await outcome(vault(), 'backup_t1', row)).toBe(row.value);
    }
    // Shredding again is a no-op.
    expect(await shredSubject(writer, { tenantId: 't1', subjectId: 'recipient-alice' })).toEqual({ destroyed: 0 });
  });

  it('gives new data about the same subject a new key; the shredded data stays gone', async () => {
    const v = vault();
    const fe = createFieldEncryptor({ vault: v });
    const ctx = { tenantId: 't2', collection: 'shipments', field: 'recipient.phone', documentId: 'a', subjectId: 'recipient-carol' };
    const before = await fe.encryptValue('+1 555 0100', ctx);
    await shredSubject(v, { tenantId: 't2', subjectId: 'recipient-carol' });
    const after = await fe.encryptValue('+1 555 0199', ctx);
    expect(readKeyRef(after).version).toBe(2);
    expect(await fe.decryptValue(after, ctx)).toBe('+1 555 0199');
    await expect(fe.decryptValue(before, ctx)).rejects.toMatchObject({ code: 'DECRYPTION_FAILED' });
  });
});

describe('crypto-shredding a tenant', () => {
  it("destroys the tenant's own and all its subjects' keys, and no other tenant's", async () => {
    const v = vault();
    const gone = await seed(v, 't3');
    const kept = await seed(v, 't4');
    const indexer = createBlindIndexer({ vault: v, fields: [{ field: 'recipient.email', bits: 16, normalise: normaliseEmail }] });
    const indexBefore = await indexer.indexFor('t3', 'recipient.email', 'alice@example.com');

    expect(await shredTenant(v, 't3')).toEqual({ destroyed: 3 });
    expect(await rawKeys().countDocuments({ tenantId: 't3', status: { $ne: 'destroyed' } })).toBe(0);
    for (const row of [...gone.alice, ...gone.bob, ...gone.tenant]) {
      expect(await outcome(vault(), 'shipments_t3', row)).toBe('DECRYPTION_FAILED:KEY_DESTROYED');
    }
    for (const row of [...kept.alice, ...kept.bob, ...kept.tenant]) {
      expect(await outcome(vault(), 'shipments_t4', row)).toBe(row.value);
    }
    // The blind-index root died with the tenant key: old indexes no longer match.
    expect(await indexer.indexFor('t3', 'recipient.email', 'alice@example.com')).not.toBe(indexBefore);
  });

  it('requires the ids', () => {
    expect(() => shredSubject(vault(), { tenantId: 't', subjectId: '' })).toThrow(TypeError);
    expect(() => shredTenant(vault(), '')).toThrow(TypeError);
  });
});
