/**
 * `npm run tenant:shred` (scripts/tenant-shred.ts) over devdb reached by
 * MONGODB_URI, like an operator would run it: refused without a matching
 * `--confirm`; with one, every data key of the tenant destroyed and its
 * documents' blind indexes removed, another tenant untouched, an audit
 * record with counts; a second run finds nothing left. The run after the
 * first is spawned as the real command.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import mongoose, { type Connection } from 'mongoose';
import { startDevDb, type DevDb } from '../../devdb';
import { loadConfig } from '../../lib/config';
import { demoPlan } from '../../lib/demo';
import { isEnvelope } from '../../lib/crypto/model-encryption';
import { fieldCryptoOptions, openFieldCrypto, type FieldCryptoRuntime } from '../../lib/crypto/runtime';
import type { DataKeyRecord } from '../../lib/crypto/vault-store';
import { createModels as identityModels } from '../../subgraphs/identity/model';
import { createModels as shipmentModels } from '../../subgraphs/shipment/model';
import { seed as seedShipments } from '../../subgraphs/shipment/seed';
import { EXIT_REFUSED, runTenantShred } from '../../scripts/tenant-shred';
import { tempDir } from './kit';

const ROOT = path.resolve(__dirname, '../..');
const plan = demoPlan(4);
const [A, B] = plan.tenants.map((t) => t.id);
const keys = tempDir('tracksafe-tenant-shred-');
let devdb: DevDb;
let conn: Connection;
let runtime: FieldCryptoRuntime;
let env: NodeJS.ProcessEnv;

function io() {
  const out = { stdout: '', stderr: '' };
  return { out, io: { stdout: { write: (s: string) => (out.stdout += s) }, stderr: { write: (s: string) => (out.stderr += s) } } };
}

/** The real command in a process of its own. */
function spawnCommand(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(path.join(ROOT, 'node_modules/.bin/tsx'), ['scripts/tenant-shred.ts', ...args], { cwd: ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const keyStatuses = async (tenantId: string) => (await conn.collection<DataKeyRecord>('key_vault').find({ tenantId }).toArray()).map((k) => k.status);
const indexed = (collection: string, tenantId: string) => conn.collection(collection).countDocuments({ tenantId, bidx: { $exists: true, $ne: {} } });

beforeAll(async () => {
  devdb = await startDevDb({ port: 0 });
  env = { APP_ENV: 'development', MONGODB_URI: devdb.uri, MONGODB_DB: `tenant_shred_${randomBytes(4).toString('hex')}`, KEYS_DIR: keys.dir, DATA_DIR: keys.dir, LOG_LEVEL: 'silent' };
  const config = loadConfig(env);
  conn = await mongoose.createConnection(devdb.uri, { dbName: config.mongodbDb }).asPromise();
  runtime = await openFieldCrypto(conn, fieldCryptoOptions(config));
  await seedShipments(conn, plan);
  const { User } = identityModels(conn);
  for (const u of plan.users.slice(0, 2).concat(plan.users.filter((x) => x.tenantId === B).slice(0, 2)))
    await User.create({ _id: u.id, tenantId: u.tenantId, email: u.email, name: u.name, roles: u.roles, createdAt: new Date() });
});
afterAll(async () => {
  await conn?.close();
  await runtime?.close();
  await devdb?.stop();
  keys.cleanup();
});

describe('tenant:shred', () => {
  test.each([
    ['without --confirm', ['--tenant', 'TENANT'], /cannot be undone: repeat its id to confirm \(--confirm [0-9a-f]{24}\)/],
    ['with a --confirm of another tenant', ['--tenant', 'TENANT', '--confirm', 'OTHER'], /--confirm does not match --tenant/],
    ['without --tenant', ['--confirm', 'TENANT'], /name the tenant/],
    ['with an unknown option', ['--tenant', 'TENANT', '--confirm', 'TENANT', '--force'], /Unknown option/],
  ])('refuses %s and changes nothing', async (_what, args, message) => {
    const { out, io: streams } = io();
    const argv = args.map((a) => a.replace('TENANT', A).replace('OTHER', B));
    expect(await runTenantShred(argv, env, streams)).toBe(EXIT_REFUSED);
    expect(out.stderr).toMatch(message);
    expect(out.stdout).toBe('');
    expect(new Set(await keyStatuses(A))).toEqual(new Set(['active']));
  });

  test("refuses the platform operator's own tenant and changes nothing", async () => {
    const { out, io: streams } = io();
    expect(await runTenantShred(['--tenant', A, '--confirm', A], { ...env, PLATFORM_OPERATOR_TENANT_ID: A }, streams)).toBe(EXIT_REFUSED);
    expect(out.stderr).toContain("platform operator's own tenant");
    expect(new Set(await keyStatuses(A))).toEqual(new Set(['active']));
  });

  test('refuses without --confirm when run as the command, too', async () => {
    const res = await spawnCommand(['--tenant', A]);
    expect(res.code).toBe(EXIT_REFUSED);
    expect(res.stderr).toContain('tenant shred refused');
    expect(new Set(await keyStatuses(A))).toEqual(new Set(['active']));
  });

  test("destroys every data key of the tenant and removes its documents' blind indexes; the other tenant keeps everything", async () => {
    const keysBefore = (await keyStatuses(A)).length;
    const shipmentsA = await indexed('shipments', A);
    expect(keysBefore).toBeGreaterThan(plan.shipments.filter((s) => s.tenantId === A).length);
    expect(shipmentsA).toBe(4);
    const keysB = await keyStatuses(B);
    const indexedB = { shipments: await indexed('shipments', B), users: await indexed('users', B) };

    const { out, io: streams } = io();
    expect(await runTenantShred(['--tenant', A, '--confirm', A], env, streams)).toBe(0);
    expect(out.stdout).toContain(`tenant ${A} shredded: ${keysBefore} data key(s) destroyed; blind indexes removed from 6 document(s) (shipments: 4, users: 2)`);
    expect(out.stderr).toContain('database: MONGODB_URI');

    expect(new Set(await keyStatuses(A))).toEqual(new Set(['destroyed']));
    expect(await conn.collection('key_vault').countDocuments({ tenantId: A, wrappedKey: { $ne: null } })).toBe(0);
    expect(await indexed('shipments', A)).toBe(0);
    expect(await indexed('users', A)).toBe(0);
    expect(await keyStatuses(B)).toEqual(keysB);
    expect({ shipments: await indexed('shipments', B), users: await indexed('users', B) }).toEqual(indexedB);

    const audit = await conn.collection('audit_events').find({ type: 'tenant.shredded' }).toArray();
    expect(audit).toEqual([expect.objectContaining({ actor: 'system:tenant-shred', tenantId: A, target: `Tenant:${A}`, details: { keysDestroyed: keysBefore, documentsUnindexed: { shipments: 4, users: 2 } } })]);
  });

  test('the tenant reads as null through a process that starts now; the other tenant reads as before', async () => {
    // A fresh connection and key vault: this file's own vault still holds the keys it cached while seeding, as any
    // running service would until DATA_KEY_CACHE_TTL_MS has passed.
    const fresh = await mongoose.createConnection(devdb.uri, { dbName: env.MONGODB_DB }).asPromise();
    const freshCrypto = await openFieldCrypto(fresh, fieldCryptoOptions(loadConfig(env)));
    try {
      const { Shipment } = shipmentModels(fresh);
      const a = await Shipment.find({ tenantId: A }).lean();
      expect(a).toHaveLength(4);
      for (const s of a) {
        expect(s.recipient).toEqual({ name: null, phone: null, email: null });
        expect(s.trackingNumber).toMatch(/^TS/);
      }
      const rawA = await fresh.collection('shipments').findOne({ tenantId: A });
      // The document envelope is still there, unreadable without the tenant's keys.
      expect(isEnvelope(rawA!.pii)).toBe(true);
      const b = await Shipment.find({ tenantId: B }).lean();
      expect(b.every((s) => typeof s.recipient?.email === 'string' && s.recipient.email.endsWith('@example.com'))).toBe(true);
      const { User } = identityModels(fresh);
      expect((await User.find({ tenantId: A }).lean()).map((u) => u.email)).toEqual([null, null]);
    } finally {
      await fresh.close();
      await freshCrypto.close();
    }
  });

  test('running it again (the real command) finds nothing left', async () => {
    const res = await spawnCommand(['--tenant', A, '--confirm', A]);
    expect(res.stderr).not.toContain('failed');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(`tenant ${A} shredded: 0 data key(s) destroyed; blind indexes removed from 0 document(s) (shipments: 0, users: 0)`);
  });
});
