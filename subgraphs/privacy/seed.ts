/**
 * Demo data of the privacy subgraph from the shared demo plan: settings of
 * some shipment recipients and users, and three data-subject requests per
 * tenant in different states. Idempotent: every document is an upsert with
 * `$setOnInsert` under a stable key, so a second run writes nothing and
 * changes made since are kept.
 */
import { Types, type Connection } from 'mongoose';
import { encryptDocuments } from '../../lib/crypto/model-encryption';
import { demoId, type DemoPlan } from '../../lib/demo';
import { addCalendarMonths, DUE_MONTHS, EXTENDED_DUE_MONTHS, legalHoldsFor } from './dsr-rules';
import { createModels, ensureIndexes, type DataSubjectRequestDoc, type DsrKind, type DsrStatus, type NotificationChannel, type PrivacySettingsDoc, settingsId } from './model';

const DAY = 24 * 60 * 60 * 1000;

/** Channel choices the demo subjects made, cycled. */
const CHOICES: Array<Pick<PrivacySettingsDoc, 'notificationChannels' | 'dataSharing'>> = [
  { notificationChannels: ['EMAIL'], dataSharing: { analytics: true, marketing: false, partners: false } },
  { notificationChannels: ['SMS', 'PUSH'], dataSharing: { analytics: false, marketing: false, partners: false } },
  { notificationChannels: ['EMAIL', 'SMS'], dataSharing: { analytics: true, marketing: true, partners: false } },
  { notificationChannels: [] as NotificationChannel[], dataSharing: { analytics: false, marketing: false, partners: true } },
];

/** The requests each tenant has received: kind, status, days since receipt. */
const REQUESTS: Array<{ kind: DsrKind; status: DsrStatus; ageDays: number }> = [
  { kind: 'ACCESS', status: 'RECEIVED', ageDays: 3 },
  { kind: 'ERASURE', status: 'IN_PROGRESS', ageDays: 20 },
  { kind: 'PORTABILITY', status: 'EXTENDED', ageDays: 25 },
];

export async function seed(conn: Connection, plan: DemoPlan): Promise<void> {
  const models = createModels(conn);
  await ensureIndexes(models);
  const firstRequest = new Types.ObjectId(demoId('dsr', 0));
  if (await models.DataSubjectRequest.exists({ _id: firstRequest })) return;
  // Dates relative to the first seeding, so the demo's deadlines are current.
  const now = Date.now();

  const settings: Array<Omit<PrivacySettingsDoc, '_id'>> = [];
  plan.shipments.forEach((s, i) => {
    // About a third of the recipients chose; the rest see the defaults.
    if (i % 3 !== 0) return;
    settings.push({ tenantId: s.tenantId, subjectId: s.recipientSubjectId, ...CHOICES[i % CHOICES.length], updatedAt: new Date(now - (i + 1) * DAY) });
  });
  plan.users.forEach((u, i) => {
    if (i % 2 !== 0) return;
    settings.push({ tenantId: u.tenantId, subjectId: u.id, ...CHOICES[(i + 1) % CHOICES.length], updatedAt: new Date(now - (i + 2) * DAY) });
  });

  const requests: DataSubjectRequestDoc[] = [];
  plan.tenants.forEach((t, ti) => {
    const recipients = plan.shipments.filter((s) => s.tenantId === t.id);
    REQUESTS.forEach((r, ri) => {
      const receivedAt = new Date(now - r.ageDays * DAY);
      const changedAt = new Date(receivedAt.getTime() + 2 * DAY);
      requests.push({
        _id: new Types.ObjectId(demoId('dsr', ti * 100 + ri)),
        tenantId: t.id,
        subjectId: recipients[(ri * 7) % recipients.length].recipientSubjectId,
        kind: r.kind,
        status: r.status,
        receivedAt,
        dueAt: addCalendarMonths(receivedAt, r.status === 'EXTENDED' ? EXTENDED_DUE_MONTHS : DUE_MONTHS),
        extendedAt: r.status === 'EXTENDED' ? changedAt : null,
        legalHolds: legalHoldsFor(r.kind, t.homeRegion),
        completedAt: null,
        createdAt: receivedAt,
        updatedAt: r.status === 'RECEIVED' ? receivedAt : changedAt,
      });
    });
  });

  // Raw upserts skip the plugin's write hooks: encrypt the choices first.
  const docs = settings.map((s) => ({ _id: settingsId(s.tenantId, s.subjectId), ...s }));
  await encryptDocuments(models.PrivacySettings, docs);
  await models.PrivacySettings.bulkWrite(
    docs.map(({ _id, ...rest }) => ({ updateOne: { filter: { _id }, update: { $setOnInsert: rest }, upsert: true } })),
    { ordered: false },
  );
  await models.DataSubjectRequest.bulkWrite(
    requests.map(({ _id, ...rest }) => ({ updateOne: { filter: { _id }, update: { $setOnInsert: rest }, upsert: true } })),
    { ordered: false },
  );
}
