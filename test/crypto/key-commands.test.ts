/**
 * @jest-environment <rootDir>/test/crypto/softhsm-environment.ts
 *
 * The cores of `npm run keys:rotate-data` and `npm run keys:rotate-master`
 * (scripts/key-rotation.ts) on the demo shipments over devdb: a data key
 * rotation through every encrypted model of the registry, the keys due for
 * rotation, the progress bar, and a master key rotation after which the data
 * reads with only the new master key (the old key file gone); and a master
 * key rotation between two HSM keys (SoftHSM2).
 */
import { existsSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import mongoose, { type Connection } from 'mongoose';
import { startDevDb, type DevDb } from '../../devdb';
import { demoPlan } from '../../lib/demo';
import { createKeyVault, KeyVault, loadCryptoConfig, MongooseKeyVaultStore, readKeyRef } from '../../lib/crypto';
import { isEnvelope, type UnreadableField } from '../../lib/crypto/model-encryption';
import { ensurePkcs11MasterKey, localKeyFile, Pkcs11MasterKeyProvider, type MasterKeyConfig } from '../../lib/crypto/providers';
import { openFieldCrypto, type FieldCryptoRuntime } from '../../lib/crypto/runtime';
import { encryptedModels } from '../../subgraphs/encrypted-models';
import { createModels } from '../../subgraphs/shipment/model';
import { seed as seedShipments } from '../../subgraphs/shipment/seed';
import { dueKeys, formatDataRotation, formatDue, formatMasterRotation, progressBar, rotateDataKeys, rotateMasterKey } from '../../scripts/key-rotation';
import type { ReencryptProgress } from '../../lib/crypto/reencrypt';
import { createSoftHsmToken, SOFTHSM_LIB, softHsmInstalled, tempDir } from './kit';

let devdb: DevDb;
let conn: Connection;
let runtime: FieldCryptoRuntime;
const keys = tempDir();
const unreadable: UnreadableField[] = [];
const plan = demoPlan();
const [A, B] = plan.tenants.map((t) => t.id);
const dbName = `key_commands_${randomBytes(4).toString('hex')}`;
const cryptoConfig = (name: string) => loadCryptoConfig({ MASTER_KEY_NAME: name }, { appEnv: 'development', keysDir: keys.dir });

/** Key ids of the envelopes stored in the encrypted collections of a tenant. */
async function envelopeKeyIds(c: Connection, tenantId: string): Promise<string[]> {
  const out: string[] = [];
  const walk = (v: unknown) => {
    if (isEnvelope(v)) out.push(readKeyRef(v).keyId);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object' && !(v instanceof Date) && !('_bsontype' in v)) Object.values(v).forEach(walk);
  };
  for (const coll of ['shipments', 'tracking_events']) for (const d of await c.db!.collection(coll).find({ tenantId }).toArray()) walk(d);
  return out;
}

beforeAll(async () => {
  devdb = await startDevDb({ port: 0 });
  conn = await mongoose.createConnection(devdb.uri, { dbName }).asPromise();
  runtime = await openFieldCrypto(conn, { appEnv: 'development', crypto: cryptoConfig('1'), onUnreadable: (f) => unreadable.push(f) });
  await seedShipments(conn, plan);
});
afterAll(async () => {
  await conn.close();
  await runtime.close();
  await devdb.stop();
  keys.cleanup();
});

test('the registry lists every encrypted model of the subgraphs', () => {
  const collections = encryptedModels(conn).map((m) => m.collection.collectionName);
  expect(collections).toEqual(expect.arrayContaining(['shipments', 'tracking_events']));
  expect(collections).not.toContain('tracking_number_claims');
});

test('keys:rotate-data: new versions for the tenant and its subjects, every stored value of the tenant moved onto them, the old versions retired', async () => {
  const otherBefore = await envelopeKeyIds(conn, B);
  const oldIds = new Set(await envelopeKeyIds(conn, A));
  expect(oldIds.size).toBeGreaterThan(1);
  const progress: ReencryptProgress[] = [];
  const res = await rotateDataKeys({ conn, vault: runtime.vault, tenantId: A, subjects: true, batchSize: 10, onProgress: (p) => progress.push(p) });
  expect(res.tenantVersion).toBe(2);
  expect(res.subjectSeries).toBeGreaterThan(0);
  expect(res.job.status).toBe('finished');
  const c = res.job.counts;
  expect(c.failed + c.shredded + c.skipped).toBe(0);
  expect(c.reencrypted).toBe(c.envelopes);
  expect(c.reencrypted).toBe((await envelopeKeyIds(conn, A)).length);
  expect(progress.filter((p) => p.phase === 'reencrypt').at(-1)).toMatchObject({ done: c.scanned, total: c.scanned });

  const after = await envelopeKeyIds(conn, A);
  expect(after.some((id) => oldIds.has(id))).toBe(false);
  const current = await runtime.vault.listKeys({ tenantId: A, status: ['active'] });
  expect(current.every((k) => k.version === 2)).toBe(true);
  // Every version the values named is retired (and the tenant's version 1, the blind-index root, which no value names).
  const retired = (await runtime.vault.listKeys({ tenantId: A, status: ['retired'] })).map((k) => k._id);
  expect(retired).toEqual(expect.arrayContaining([...oldIds]));
  expect(res.job.retired.map((k) => k.keyId).sort()).toEqual(retired.sort());
  expect(res.job.stillInUse).toEqual([]);
  // The other tenant is untouched; the tenant's data reads as before.
  expect(await envelopeKeyIds(conn, B)).toEqual(otherBefore);
  runtime.vault.clearCache();
  const shipments = await createModels(conn).Shipment.find({ tenantId: A }).lean();
  expect(shipments.length).toBeGreaterThan(0);
  expect(shipments.every((s) => s.recipient === null || typeof s.recipient.name === 'string')).toBe(true);
  expect(unreadable).toEqual([]);

  const text = formatDataRotation(res);
  expect(text).toMatch(new RegExp(`^tenant ${A}: data key version 2 now encrypts new writes; \\d+ subject key\\(s\\) got a new version\\n`));
  expect(text).toMatch(new RegExp(`re-encrypted ${c.reencrypted} value\\(s\\) in ${c.scanned} document\\(s\\) \\(job [0-9a-f]{24}\\): 0 already current, 0 skipped \\(written meanwhile\\), 0 shredded \\(left unreadable\\), 0 failed\\n`));
  expect(text).toMatch(/retired \d+ old key version\(s\)\n$/);

  // Nothing is left to resume.
  await expect(rotateDataKeys({ conn, vault: runtime.vault, tenantId: A, resume: true })).rejects.toThrow(/no unfinished/);
});

test('--due lists the series whose current version is older than the schedule, subject keys counted, never named', async () => {
  expect(await dueKeys(runtime.vault, 90)).toEqual([]);
  expect(formatDue([], 90)).toBe('no data key is due for rotation (KEY_ROTATION_DAYS=90)\n');
  const later = new KeyVault({ store: new MongooseKeyVaultStore(conn), env: 'development', masterKey: runtime.masterKey, now: () => new Date(Date.now() + 100 * 86_400_000) });
  const due = await dueKeys(later, 90);
  expect(new Set(due.map((d) => d.tenantId))).toEqual(new Set([A, B]));
  expect(due.filter((d) => d.scope === 'tenant').map((d) => [d.tenantId, d.version])).toEqual([
    [A, 2],
    [B, 1],
  ]);
  const text = formatDue(due, 90);
  expect(text).toMatch(/^data keys due for rotation \(current version at least 90 days old\):\n/);
  expect(text).toMatch(new RegExp(`  ${A}  tenant key v2  100 days  local:development/master-1  [0-9a-f]{32}\\n  ${A}  \\d+ subject key\\(s\\), the oldest 100 days  \\(--subjects\\)\\n    npm run keys:rotate-data -- --tenant ${A} --subjects\\n`));
  const subjects = (await runtime.vault.listKeys({ tenantId: A, scope: 'subject' })).map((k) => k.subjectId!);
  for (const s of subjects) expect(text).not.toContain(s);
  expect((await dueKeys(later, 90, B)).every((d) => d.tenantId === B)).toBe(true);
});

test('the progress bar: one line rewritten in place on a terminal, plain lines otherwise, with done/total, percent and docs/s', () => {
  let t = 0;
  const p = (done: number, phase: 'reencrypt' | 'verify' = 'reencrypt'): ReencryptProgress => ({ jobId: 'j', phase, collection: 'shipments', done, total: 200, counts: {} as never });
  const tty: string[] = [];
  const bar = progressBar({ isTTY: true, write: (s: string) => tty.push(s) }, { now: () => t, width: 10 });
  bar.update(p(0));
  t = 1000;
  bar.update(p(50));
  t = 1050;
  bar.update(p(60)); // within 100 ms: not drawn yet
  t = 2000;
  bar.update(p(100));
  bar.finish();
  expect(tty[0]).toBe('\r\x1b[2K[----------] 0/200 0.0% 0 docs/s re-encrypting shipments');
  expect(tty[1]).toBe('\r\x1b[2K[###-------] 50/200 25.0% 50 docs/s re-encrypting shipments');
  expect(tty[2]).toBe('\r\x1b[2K[#####-----] 100/200 50.0% 50 docs/s re-encrypting shipments');
  expect(tty.at(-1)).toBe('\n');

  const plain: string[] = [];
  t = 0;
  const log = progressBar({ isTTY: false, write: (s: string) => plain.push(s) }, { now: () => t, intervalMs: 5000, width: 10 });
  log.update(p(10));
  t = 1000;
  log.update(p(20));
  t = 6000;
  log.update(p(120));
  t = 7000;
  log.update(p(200, 'verify'));
  log.finish();
  expect(plain).toEqual([
    '[#---------] 10/200 5.0% 0 docs/s re-encrypting shipments\n',
    '[######----] 120/200 60.0% 18 docs/s re-encrypting shipments\n',
    '[##########] 200/200 100.0% 0 docs/s verifying shipments\n',
  ]);
});

test('keys:rotate-master: every data key rewrapped under the new key; the data then reads with only the new master key, the old key file gone', async () => {
  const total = (await runtime.vault.listKeys({ status: ['active', 'retired'] })).length;
  const res = await rotateMasterKey({ conn, masterKey: cryptoConfig('1').masterKey, to: '2' });
  expect(res).toEqual({ rewrapped: total, skipped: 0, from: 'local:development/master-1', to: 'local:development/master-2', remaining: 0 });
  expect(formatMasterRotation(res, { to: '2' })).toBe(
    [
      'master key rotation: local:development/master-1 → local:development/master-2',
      `rewrapped ${total} data key(s)`,
      'data keys still wrapped by local:development/master-1: 0',
      'next: set MASTER_KEY_NAME=2 for every process and restart them; then run this command again with --from <old name> --to 2',
      '      to rewrap keys created meanwhile. Keep local:development/master-1 until no data key names it (the count above is 0), then remove it.',
      '',
    ].join('\n'),
  );
  // Same name twice is refused; after the switch, --from the old name finds nothing left.
  await expect(rotateMasterKey({ conn, masterKey: cryptoConfig('2').masterKey, to: '2' })).rejects.toThrow(/--from/);
  expect(await rotateMasterKey({ conn, masterKey: cryptoConfig('2').masterKey, from: '1', to: '2' })).toMatchObject({ rewrapped: 0, remaining: 0 });

  rmSync(localKeyFile({ keysDir: keys.dir, env: 'development', name: '1' }));
  expect(existsSync(localKeyFile({ keysDir: keys.dir, env: 'development', name: '1' }))).toBe(false);
  // A new process configured with the new key only.
  const conn2 = await mongoose.createConnection(devdb.uri, { dbName }).asPromise();
  const seen: UnreadableField[] = [];
  const rt2 = await openFieldCrypto(conn2, { appEnv: 'development', crypto: cryptoConfig('2'), onUnreadable: (f) => seen.push(f) });
  try {
    expect(rt2.masterKey.id).toBe('local:development/master-2');
    const { Shipment, TrackingEvent } = createModels(conn2);
    const shipments = await Shipment.find({}).lean();
    expect(shipments.length).toBe(plan.shipments.length);
    expect(shipments.filter((s) => s.recipient).every((s) => typeof s.recipient!.name === 'string')).toBe(true);
    expect((await TrackingEvent.find({}).lean()).length).toBeGreaterThan(0);
    expect(seen).toEqual([]);
    // --from a key that does not exist is refused (never generated).
    await expect(rotateMasterKey({ conn: conn2, masterKey: cryptoConfig('2').masterKey, from: 'gone', to: '2' })).rejects.toThrow();
    expect(existsSync(localKeyFile({ keysDir: keys.dir, env: 'development', name: 'gone' }))).toBe(false);
  } finally {
    await conn2.close();
    await rt2.close();
  }
});

(softHsmInstalled ? test : test.skip)(`keys:rotate-master between two HSM keys (SoftHSM2); a new key missing from the token is refused${softHsmInstalled ? '' : ` — SKIPPED: ${SOFTHSM_LIB} not found`}`, async () => {
  const token = createSoftHsmToken();
  const base = { env: 'development' as const, modulePath: SOFTHSM_LIB, tokenLabel: token.tokenLabel, pin: token.pin };
  const oldKey: MasterKeyConfig = { kind: 'pkcs11', ...base, keyLabel: 'development/hsm-old' };
  await ensurePkcs11MasterKey({ ...base, keyLabel: 'development/hsm-old' });
  await ensurePkcs11MasterKey({ ...base, keyLabel: 'development/hsm-new' });
  const c = await mongoose.createConnection(devdb.uri, { dbName: `${dbName}_hsm` }).asPromise();
  const hsm = await Pkcs11MasterKeyProvider.open({ ...base, keyLabel: 'development/hsm-old' });
  try {
    const vault = await createKeyVault({ store: new MongooseKeyVaultStore(c), env: 'development', masterKey: hsm });
    for (const s of ['s1', 's2']) await vault.dataKeyFor({ tenantId: 'hsm-tenant', subjectId: s });
    await vault.dataKeyFor({ tenantId: 'hsm-tenant' });
    await expect(rotateMasterKey({ conn: c, masterKey: oldKey, to: 'hsm-missing' })).rejects.toThrow();
    const res = await rotateMasterKey({ conn: c, masterKey: oldKey, to: 'hsm-new', tenantId: 'hsm-tenant' });
    expect(res).toEqual({ rewrapped: 3, skipped: 0, from: 'pkcs11:development/hsm-old', to: 'pkcs11:development/hsm-new', remaining: 0, configured: 'pkcs11:development/hsm-old' });
    const hsmNew = await Pkcs11MasterKeyProvider.open({ ...base, keyLabel: 'development/hsm-new' });
    try {
      const fresh = await createKeyVault({ store: new MongooseKeyVaultStore(c), env: 'development', masterKey: hsmNew });
      for (const k of await fresh.listKeys({ tenantId: 'hsm-tenant' })) expect((await fresh.dataKeyById(k._id)).id).toBe(k._id);
    } finally {
      await hsmNew.close();
    }
  } finally {
    await hsm.close();
    await c.close();
  }
});
