import { randomBytes } from 'node:crypto';
import { connectDataStores, type DataStores } from '../../../lib/db';
import { demoPlan } from '../../../lib/demo';
import { testFieldCrypto } from '../../kit/crypto';
import { startDevDb, type DevDb } from '../../../devdb';
import { createModels, settingsId, type PrivacyModels } from '../../../subgraphs/privacy/model';
import { seed } from '../../../subgraphs/privacy/seed';

let devdb: DevDb;
let stores: DataStores;
let models: PrivacyModels;
const plan = demoPlan();

beforeAll(async () => {
  devdb = await startDevDb({ port: 0 });
  stores = await connectDataStores(devdb.uri, `test_privacy_seed_${randomBytes(4).toString('hex')}`, testFieldCrypto());
  models = createModels(stores.forRegion());
});
afterAll(async () => {
  await stores?.close();
  await devdb?.stop();
});

describe('seed', () => {
  test('writes settings of some recipients and users, and three requests per tenant', async () => {
    await seed(stores.forRegion(), plan);
    const settings = await models.PrivacySettings.find().lean();
    expect(settings.length).toBeGreaterThan(10);
    const recipients = new Set(plan.shipments.map((s) => s.recipientSubjectId));
    const users = new Set(plan.users.map((u) => u.id));
    expect(settings.some((s) => recipients.has(s.subjectId))).toBe(true);
    expect(settings.some((s) => users.has(s.subjectId))).toBe(true);
    for (const t of plan.tenants) {
      const requests = await models.DataSubjectRequest.find({ tenantId: t.id }).lean();
      expect(requests.map((r) => r.kind).sort()).toEqual(['ACCESS', 'ERASURE', 'PORTABILITY']);
      const erasure = requests.find((r) => r.kind === 'ERASURE')!;
      expect(erasure.legalHolds).toEqual([`customs:${t.homeRegion}:${t.homeRegion === 'EU' ? '3y' : '5y'}`]);
      for (const r of requests) expect(r.dueAt.getTime()).toBeGreaterThan(r.receivedAt.getTime());
    }
  });

  test('is idempotent and keeps changes made since', async () => {
    const before = { settings: await models.PrivacySettings.countDocuments(), requests: await models.DataSubjectRequest.countDocuments() };
    const subject = plan.shipments[0].recipientSubjectId;
    const tenantId = plan.shipments[0].tenantId;
    await models.PrivacySettings.updateOne({ _id: settingsId(tenantId, subject), tenantId, subjectId: subject }, { $set: { notificationChannels: ['PUSH'] } });
    await models.DataSubjectRequest.deleteMany({ tenantId: plan.tenants[1].id, kind: 'ACCESS' });
    await seed(stores.forRegion(), plan);
    expect(await models.PrivacySettings.countDocuments()).toBe(before.settings);
    expect(await models.DataSubjectRequest.countDocuments()).toBe(before.requests - 1);
    expect((await models.PrivacySettings.findOne({ subjectId: subject }).lean())!.notificationChannels).toEqual(['PUSH']);
  });
});
