/**
 * @jest-environment <rootDir>/test/crypto/softhsm-environment.ts
 *
 * Master key rotation (rewrapAll) and data key versions. The SoftHSM2
 * environment lets one case move data keys from a key file into an HSM.
 */
import { Types } from 'mongoose';
import { KeyVault } from '../../lib/crypto/key-vault';
import { createFieldEncryptor, type FieldContext } from '../../lib/crypto/fields';
import { LocalMasterKeyProvider } from '../../lib/crypto/providers/local';
import { ensurePkcs11MasterKey, Pkcs11MasterKeyProvider } from '../../lib/crypto/providers/pkcs11';
import type { MasterKeyProvider } from '../../lib/crypto/providers/types';
import { newDataKeyVersion, retireIfUnused, rewrapAll } from '../../lib/crypto/rotation';
import { shredSubject } from '../../lib/crypto/shred';
import type { DataKeyRecord } from '../../lib/crypto/vault-store';
import { createSoftHsmToken, frozenClock, instrument, SOFTHSM_LIB, softHsmInstalled, startVaultDb, tempDir } from './kit';

let db: Awaited<ReturnType<typeof startVaultDb>>;
const keys = tempDir();
let m1: LocalMasterKeyProvider;
let m2: LocalMasterKeyProvider;

beforeAll(async () => {
  db = await startVaultDb();
  m1 = await LocalMasterKeyProvider.open({ keysDir: keys.dir, env: 'development', name: '1' });
  m2 = await LocalMasterKeyProvider.open({ keysDir: keys.dir, env: 'development', name: '2' });
});
afterAll(async () => {
  await db.close();
  keys.cleanup();
});

const rawKeys = () => db.conn.collection<DataKeyRecord>('key_vault');

function vault(masterKey: MasterKeyProvider, providers: MasterKeyProvider[] = [], extra: Partial<ConstructorParameters<typeof KeyVault>[0]> = {}): KeyVault {
  return new KeyVault({ store: db.store(), env: 'development', masterKey, providers, ...extra });
}

/** Writes `n` documents of a tenant with personal fields (subject keys) and a tenant field; returns their contexts and values. */
async function seed(v: KeyVault, tenantId: string, n: number): Promise<Array<{ ctx: FieldContext; value: string }>> {
  const fe = createFieldEncryptor({ vault: v });
  const docs = db.conn.collection(`docs_${tenantId}`);
  const out: Array<{ ctx: FieldContext; value: string }> = [];
  for (let i = 0; i < n; i++) {
    const _id = new Types.ObjectId();
    const ctx: FieldContext = { tenantId, collection: `docs_${tenantId}`, field: 'value', documentId: _id, subjectId: i % 2 ? `subject-${i}` : undefined };
    const value = `value-${tenantId}-${i}`;
    await docs.insertOne({ _id, value: await fe.encryptValue(value, ctx) });
    out.push({ ctx, value });
  }
  return out;
}

async function snapshot(tenantId: string): Promise<string> {
  const docs = await db.conn.collection(`docs_${tenantId}`).find().sort({ _id: 1 }).toArray();
  return JSON.stringify(docs.map((d) => [String(d._id), Buffer.from((d.value as { buffer: Uint8Array }).buffer).toString('hex')]));
}

async function readAll(v: KeyVault, tenantId: string, expected: Array<{ ctx: FieldContext; value: string }>): Promise<void> {
  const fe = createFieldEncryptor({ vault: v });
  const docs = db.conn.collection(`docs_${tenantId}`);
  for (const { ctx, value } of expected) {
    const doc = await docs.findOne({ _id: ctx.documentId as Types.ObjectId });
    expect(await fe.decryptValue(doc!.value, ctx)).toBe(value);
  }
}

describe('rewrapAll: master key rotation', () => {
  it('rewraps every data key under the new master key and touches no data', async () => {
    const before = vault(m1);
    const written = await seed(before, 'rot-a', 8);
    const dataBefore = await snapshot('rot-a');
    const result = await rewrapAll(before, m1, m2, { tenantId: 'rot-a' });
    expect(result).toEqual({ rewrapped: 5, skipped: 0 }); // the tenant key and four subject keys
    expect(await rawKeys().countDocuments({ tenantId: 'rot-a', masterKeyId: m1.id })).toBe(0);
    expect(await snapshot('rot-a')).toBe(dataBefore);
    // A process that holds only the new master key reads everything.
    await readAll(vault(m2), 'rot-a', written);
    // Idempotent: nothing left to do.
    expect(await rewrapAll(before, m1, m2, { tenantId: 'rot-a' })).toEqual({ rewrapped: 0, skipped: 0 });
  });

  it('resumes after a crash half-way, reads working throughout', async () => {
    const v = vault(m1);
    const written = await seed(v, 'rot-b', 10);
    const failing = instrument(m2, { failWrapAfter: 2 });
    await expect(rewrapAll(v, m1, failing, { tenantId: 'rot-b' })).rejects.toThrow('simulated provider outage');
    expect(await rawKeys().countDocuments({ tenantId: 'rot-b', masterKeyId: m2.id })).toBe(2);
    expect(await rawKeys().countDocuments({ tenantId: 'rot-b', masterKeyId: m1.id })).toBe(4);
    // Mid-rotation, a reader that knows both master keys reads everything.
    await readAll(vault(m1, [m2]), 'rot-b', written);
    const resumed = await rewrapAll(vault(m1), m1, m2, { tenantId: 'rot-b' });
    expect(resumed).toEqual({ rewrapped: 4, skipped: 0 });
    await readAll(vault(m2), 'rot-b', written);
  });

  it('never brings a shredded key back', async () => {
    const v = vault(m1);
    await seed(v, 'rot-c', 4);
    await shredSubject(v, { tenantId: 'rot-c', subjectId: 'subject-1' });
    await rewrapAll(v, m1, m2, { tenantId: 'rot-c' });
    const shredded = await rawKeys().findOne({ tenantId: 'rot-c', subjectId: 'subject-1' });
    expect(shredded).toMatchObject({ status: 'destroyed', wrappedKey: null, masterKeyId: m1.id });
  });

  it('stays within one tenant when asked (a tenant moving to its own key)', async () => {
    const v = vault(m1);
    await seed(v, 'rot-d', 2);
    await seed(v, 'rot-e', 2);
    await rewrapAll(v, m1, m2, { tenantId: 'rot-d' });
    expect(await rawKeys().countDocuments({ tenantId: 'rot-d', masterKeyId: m1.id })).toBe(0);
    expect(await rawKeys().countDocuments({ tenantId: 'rot-e', masterKeyId: m2.id })).toBe(0);
  });

  it('refuses the same key twice and a key of another environment', async () => {
    const staging = await LocalMasterKeyProvider.open({ keysDir: keys.dir, env: 'staging', generate: true });
    await expect(rewrapAll(vault(m1), m1, m1)).rejects.toMatchObject({ code: 'KEY_VAULT' });
    await expect(rewrapAll(vault(m1), m1, staging)).rejects.toMatchObject({ code: 'KEY_ENVIRONMENT_MISMATCH' });
  });

  (softHsmInstalled ? it : it.skip)(`moves data keys from a key file into an HSM (SoftHSM2) without touching data${softHsmInstalled ? '' : ` — SKIPPED: ${SOFTHSM_LIB} not found`}`, async () => {
    const token = createSoftHsmToken();
    const hsmOpts = { env: 'development' as const, modulePath: SOFTHSM_LIB, tokenLabel: token.tokenLabel, pin: token.pin };
    await ensurePkcs11MasterKey(hsmOpts);
    const hsm = await Pkcs11MasterKeyProvider.open(hsmOpts);
    try {
      const v = vault(m1);
      const written = await seed(v, 'rot-hsm', 6);
      const before = await snapshot('rot-hsm');
      expect(await rewrapAll(v, m1, hsm, { tenantId: 'rot-hsm' })).toEqual({ rewrapped: 4, skipped: 0 });
      expect(await snapshot('rot-hsm')).toBe(before);
      expect(await rawKeys().countDocuments({ tenantId: 'rot-hsm', masterKeyId: 'pkcs11:development/tracksafe-master' })).toBe(4);
      await readAll(vault(hsm), 'rot-hsm', written);
    } finally {
      await hsm.close();
    }
  });
});

describe('data key versions', () => {
  it('writes new values with the new version and retires an old one only when nothing uses it', async () => {
    const clock = frozenClock();
    const v = vault(m1, [], { now: clock.now });
    const fe = createFieldEncryptor({ vault: v });
    const ctx = { tenantId: 'ver', collection: 'shipments', field: 'notes', documentId: 'x' };
    const old = await fe.encryptValue('old', ctx);
    const v2 = await newDataKeyVersion(v, { tenantId: 'ver' });
    expect(v2).toMatchObject({ version: 2, status: 'active' });
    const fresh = await fe.encryptValue('new', ctx);

    expect(await retireIfUnused(v, { tenantId: 'ver', version: 2 }, async () => false)).toEqual({ retired: false, reason: 'CURRENT' });
    let used = true;
    const isUsed = jest.fn(async () => used);
    expect(await retireIfUnused(v, { tenantId: 'ver', version: 1 }, isUsed)).toEqual({ retired: false, reason: 'IN_USE' });
    expect(isUsed).toHaveBeenCalledWith(expect.objectContaining({ tenantId: 'ver', version: 1 }));
    used = false;
    clock.advance(1000);
    const outcome = await retireIfUnused(v, { tenantId: 'ver', version: 1 }, isUsed);
    expect(outcome).toMatchObject({ retired: true, key: { version: 1, status: 'retired', retiredAt: clock.now() } });
    expect(await retireIfUnused(v, { tenantId: 'ver', version: 1 }, isUsed)).toEqual({ retired: false, reason: 'NOT_ACTIVE' });

    // A retired key still decrypts (a restored backup), never encrypts.
    const cold = createFieldEncryptor({ vault: vault(m1) });
    expect(await cold.decryptValue(old, ctx)).toBe('old');
    expect(await cold.decryptValue(fresh, ctx)).toBe('new');
    expect((await v.dataKeyFor({ tenantId: 'ver' })).version).toBe(2);
  });

  it('refuses to retire a version that does not exist', async () => {
    await expect(retireIfUnused(vault(m1), { tenantId: 'nobody', version: 7 }, async () => false)).rejects.toMatchObject({ code: 'KEY_VAULT' });
  });
});
