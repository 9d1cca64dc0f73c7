import { Types } from 'mongoose';
import { KeyVault } from '../../lib/crypto/key-vault';
import { createFieldEncryptor, ENVELOPE_SUBTYPE, readKeyRef } from '../../lib/crypto/fields';
import { LocalMasterKeyProvider } from '../../lib/crypto/providers/local';
import { MongooseKeyVaultStore, type DataKeyRecord } from '../../lib/crypto/vault-store';
import { frozenClock, instrument, localKey, startVaultDb, tempDir } from './kit';

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

function vault(opts: Partial<ConstructorParameters<typeof KeyVault>[0]> = {}): KeyVault {
  return new KeyVault({ store: db.store(), env: 'development', masterKey: master, ...opts });
}

const raw = () => db.conn.collection<DataKeyRecord>('key_vault');

describe('key vault over mongoose (devdb)', () => {
  beforeAll(async () => {
    await vault().init();
  });

  it('keeps a unique index on (scope, tenantId, subjectId, version)', async () => {
    const indexes = await raw().listIndexes().toArray();
    expect(indexes.find((i) => i.name === 'series_version_unique')).toMatchObject({ unique: true, key: { scope: 1, tenantId: 1, subjectId: 1, version: 1 } });
  });

  it('creates a tenant key lazily and stores only its wrapped form', async () => {
    const v = vault();
    expect(await raw().countDocuments({ tenantId: 'lazy' })).toBe(0);
    const key = await v.dataKeyFor({ tenantId: 'lazy' });
    const stored = await raw().findOne({ tenantId: 'lazy' });
    expect(stored).toMatchObject({ _id: key.id, scope: 'tenant', tenantId: 'lazy', subjectId: null, version: 1, masterKeyId: 'local:development/master-1', status: 'active' });
    const wrapped = Buffer.from((stored!.wrappedKey as unknown as { buffer: Uint8Array }).buffer);
    expect(wrapped).toHaveLength(61);
    expect(wrapped.includes(key.key.export())).toBe(false);
    expect(key.id).toMatch(/^[0-9a-f]{32}$/);
  });

  it('gives concurrent creators in two processes the same key, stored once', async () => {
    const a = vault();
    const b = vault();
    const got = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).dataKeyFor({ tenantId: 'race', subjectId: 'subject-1' })));
    expect(new Set(got.map((k) => k.id)).size).toBe(1);
    expect(await raw().countDocuments({ tenantId: 'race' })).toBe(1);
    expect(got[0].key.export().equals(got[1].key.export())).toBe(true);
  });

  it('keeps tenant and subject keys apart', async () => {
    const v = vault();
    const t = await v.dataKeyFor({ tenantId: 'apart' });
    const s1 = await v.dataKeyFor({ tenantId: 'apart', subjectId: 's1' });
    const s2 = await v.dataKeyFor({ tenantId: 'apart', subjectId: 's2' });
    expect(new Set([t.id, s1.id, s2.id]).size).toBe(3);
    expect([t.scope, s1.scope, s1.subjectId]).toEqual(['tenant', 'subject', 's1']);
  });

  it('bounds the cache: the least recently used key is unwrapped again, recent ones are not', async () => {
    const counting = instrument(master);
    const v = vault({ masterKey: counting, cacheMaxKeys: 3 });
    const ids = ['s1', 's2', 's3', 's4', 's5'];
    for (const subjectId of ids) await v.dataKeyFor({ tenantId: 'lru', subjectId });
    expect(v.cacheStats()).toMatchObject({ size: 3, max: 3 });
    // Keys were just created here: no unwrap yet.
    expect(counting.unwraps).toBe(0);
    await v.dataKeyFor({ tenantId: 'lru', subjectId: 's5' });
    expect(counting.unwraps).toBe(0);
    await v.dataKeyFor({ tenantId: 'lru', subjectId: 's1' });
    expect(counting.unwraps).toBe(1);
    expect(v.cacheStats().size).toBe(3);
  });

  it('trusts a cached key for the TTL only (frozen clock)', async () => {
    const clock = frozenClock();
    const counting = instrument(master);
    const a = vault({ masterKey: counting, cacheTtlMs: 60_000, now: clock.now });
    const first = await a.dataKeyFor({ tenantId: 'ttl' });
    const other = vault({ now: clock.now, cacheTtlMs: 60_000 });
    // Another process rotates the tenant's data key.
    await other.newDataKeyVersion({ tenantId: 'ttl' });
    clock.advance(59_999);
    expect((await a.dataKeyFor({ tenantId: 'ttl' })).id).toBe(first.id);
    expect(counting.unwraps).toBe(0);
    clock.advance(1);
    const second = await a.dataKeyFor({ tenantId: 'ttl' });
    expect(second.version).toBe(2);
    expect(counting.unwraps).toBe(1);
  });

  it('stores envelopes through mongoose as Binary 0x80 that decrypt after a round trip', async () => {
    const fe = createFieldEncryptor({ vault: vault() });
    const Shipments = db.conn.collection('shipments');
    const _id = new Types.ObjectId();
    const ctx = { tenantId: 'roundtrip', collection: 'shipments', field: 'recipient.email', documentId: _id };
    await Shipments.insertOne({ _id, tenantId: 'roundtrip', recipient: { email: await fe.encryptValue('jane@example.com', ctx) } });
    const back = await Shipments.findOne({ _id });
    expect((back!.recipient as { email: { sub_type: number } }).email.sub_type).toBe(ENVELOPE_SUBTYPE);
    expect(await fe.decryptValue((back!.recipient as { email: unknown }).email, ctx)).toBe('jane@example.com');
    // The BSON type tells ciphertext from a value left in clear.
    await Shipments.insertOne({ tenantId: 'roundtrip', recipient: { email: 'leaked@example.com' } });
    expect(await Shipments.countDocuments({ tenantId: 'roundtrip', 'recipient.email': { $not: { $type: 'binData' } } })).toBe(1);
  });

  it('uses the tenant master key chosen by masterKeyFor (BYOK) and needs it to decrypt', async () => {
    const tenantMaster = await LocalMasterKeyProvider.open({ keysDir: keys.dir, env: 'development', name: 'acme-byok' });
    const v = vault({ masterKeyFor: (tenantId) => (tenantId === 'acme' ? tenantMaster : master) });
    const fe = createFieldEncryptor({ vault: v });
    const ctx = { tenantId: 'acme', collection: 'shipments', field: 'recipient.name', documentId: 'd1' };
    const envelope = await fe.encryptValue('Wile E.', ctx);
    await v.dataKeyFor({ tenantId: 'globex' });
    expect((await raw().findOne({ tenantId: 'acme' }))!.masterKeyId).toBe('local:development/master-acme-byok');
    expect((await raw().findOne({ tenantId: 'globex' }))!.masterKeyId).toBe('local:development/master-1');
    // A process that does not hold the tenant's master key cannot open its data: unreadable, with the reason.
    await expect(createFieldEncryptor({ vault: vault() }).decryptValue(envelope, ctx)).rejects.toMatchObject({ code: 'DECRYPTION_FAILED', reason: 'MASTER_KEY_UNAVAILABLE' });
    expect(await createFieldEncryptor({ vault: vault({ providers: [tenantMaster] }) }).decryptValue(envelope, ctx)).toBe('Wile E.');
  });

  it('refuses master keys and stored data keys labelled for another environment', async () => {
    const staging = await LocalMasterKeyProvider.open({ keysDir: keys.dir, env: 'staging', generate: true });
    expect(() => vault({ masterKey: staging })).toThrow(expect.objectContaining({ code: 'KEY_ENVIRONMENT_MISMATCH' }));
    expect(() => vault({ providers: [staging] })).toThrow(expect.objectContaining({ code: 'KEY_ENVIRONMENT_MISMATCH' }));
    const v = vault();
    const key = await v.dataKeyFor({ tenantId: 'envcheck' });
    await raw().updateOne({ _id: key.id }, { $set: { masterKeyId: 'local:staging/master-1' } });
    v.clearCache();
    await expect(v.dataKeyById(key.id)).rejects.toMatchObject({ code: 'KEY_ENVIRONMENT_MISMATCH' });
  });

  it('fails to unwrap a tampered wrapped key, or one moved to another record', async () => {
    const v = vault();
    const a = await v.dataKeyFor({ tenantId: 'swap', subjectId: 'a' });
    const b = await v.dataKeyFor({ tenantId: 'swap', subjectId: 'b' });
    const recA = (await db.store().findById(a.id))!;
    await raw().updateOne({ _id: b.id }, { $set: { wrappedKey: recA.wrappedKey } });
    v.clearCache();
    await expect(v.dataKeyById(b.id)).rejects.toMatchObject({ code: 'KEY_UNWRAP_FAILED' });
    const tampered = Buffer.from(recA.wrappedKey!);
    tampered[40] ^= 1;
    // Two writes: devdb (via mingo) may treat a one-bit change of a Binary as a no-op $set (reported to the lead).
    await raw().updateOne({ _id: a.id }, { $set: { wrappedKey: null } });
    await raw().updateOne({ _id: a.id }, { $set: { wrappedKey: tampered } });
    expect((await db.store().findById(a.id))!.wrappedKey!.equals(tampered)).toBe(true);
    await expect(v.dataKeyById(a.id)).rejects.toMatchObject({ code: 'KEY_UNWRAP_FAILED' });
  });

  it('answers DECRYPTION_FAILED for an envelope naming a key it does not hold', async () => {
    await expect(vault().dataKeyById('0'.repeat(32))).rejects.toMatchObject({ code: 'DECRYPTION_FAILED', reason: 'KEY_NOT_FOUND' });
  });

  it('lists keys with their age for the admin view', async () => {
    const clock = frozenClock();
    const v = vault({ now: clock.now });
    await v.dataKeyFor({ tenantId: 'ages' });
    clock.advance(3 * 86_400_000 + 5);
    const [info] = await v.listKeys({ tenantId: 'ages' });
    expect(info).toMatchObject({ tenantId: 'ages', version: 1, ageDays: 3, status: 'active' });
    expect(info).not.toHaveProperty('wrappedKey');
  });

  it('validates tenant and subject ids', async () => {
    await expect(vault().dataKeyFor({ tenantId: '' })).rejects.toMatchObject({ code: 'KEY_VAULT' });
    await expect(vault().dataKeyFor({ tenantId: { $ne: null } as unknown as string })).rejects.toMatchObject({ code: 'KEY_VAULT' });
  });

  it('reads the version an envelope names after rotation, from a cold cache', async () => {
    const v = vault();
    const fe = createFieldEncryptor({ vault: v });
    const ctx = { tenantId: 'mixed', collection: 'shipments', field: 'notes', documentId: 'n1' };
    const e1 = await fe.encryptValue('door code 1234', ctx);
    await v.newDataKeyVersion({ tenantId: 'mixed' });
    const e2 = await fe.encryptValue('leave at reception', ctx);
    expect([readKeyRef(e1).version, readKeyRef(e2).version]).toEqual([1, 2]);
    const cold = createFieldEncryptor({ vault: vault() });
    expect(await cold.decryptValue(e1, ctx)).toBe('door code 1234');
    expect(await cold.decryptValue(e2, ctx)).toBe('leave at reception');
  });
});

describe('MongooseKeyVaultStore', () => {
  it('reuses its model on a connection', () => {
    expect(new MongooseKeyVaultStore(db.conn).model).toBe(new MongooseKeyVaultStore(db.conn).model);
  });
});
