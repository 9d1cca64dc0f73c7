/**
 * Mongoose schemas of the privacy subgraph. Both collections are
 * tenant-owned: every document carries `tenantId`, and every query filters
 * on it (see service.ts). Personal data here: the settings themselves and
 * the contents of data-subject requests (DOMAIN.md, PII classification).
 */
import { createHash } from 'node:crypto';
import { Schema, type Connection, type Model, type Types } from 'mongoose';
import { encryptedFields } from '../../lib/crypto/model-encryption';
import { storedPiiPaths } from '../../lib/pii';

export const NOTIFICATION_CHANNELS = ['EMAIL', 'SMS', 'PUSH'] as const;
export type NotificationChannel = (typeof NOTIFICATION_CHANNELS)[number];

export const DSR_KINDS = ['ACCESS', 'ERASURE', 'PORTABILITY'] as const;
export type DsrKind = (typeof DSR_KINDS)[number];

export const DSR_STATUSES = ['RECEIVED', 'IN_PROGRESS', 'COMPLETED', 'REJECTED', 'EXTENDED'] as const;
export type DsrStatus = (typeof DSR_STATUSES)[number];

export interface DataSharing {
  analytics: boolean;
  marketing: boolean;
  partners: boolean;
}

export interface PrivacySettingsDoc {
  /** `settingsId(tenantId, subjectId)`: known before the first write, so upserts can bind encrypted values to it. */
  _id: string;
  tenantId: string;
  subjectId: string;
  notificationChannels: NotificationChannel[];
  dataSharing: DataSharing;
  updatedAt: Date;
  rev?: number;
}

export interface DataSubjectRequestDoc {
  _id: Types.ObjectId;
  tenantId: string;
  subjectId: string;
  kind: DsrKind;
  status: DsrStatus;
  receivedAt: Date;
  dueAt: Date;
  extendedAt: Date | null;
  legalHolds: string[];
  completedAt: Date | null;
  /** Set when an ERASURE is completed: what its execution did (counts only, never personal data). */
  erasure?: DsrErasureDoc | null;
  createdAt: Date;
  updatedAt: Date;
}

/** The record of an executed erasure (lib/crypto/erasure.ts): when, and the counts of that run. */
export interface DsrErasureDoc {
  executedAt: Date;
  /** Data key versions destroyed by the run that completed the request (0 when an earlier attempt had). */
  keysDestroyed: number;
  /** Documents whose blind indexes that run removed, by collection. */
  documentsUnindexed: Record<string, number>;
}

/** One data subject's choices in one tenant. Absent document = defaults. */
const privacySettingsSchema = new Schema<PrivacySettingsDoc>(
  {
    _id: { type: String, required: true },
    tenantId: { type: String, required: true },
    subjectId: { type: String, required: true },
    // Encrypted whole (envelopes at rest, the subject's key): the service validates the channels and toggles.
    notificationChannels: { type: Schema.Types.Mixed, default: null },
    dataSharing: { type: Schema.Types.Mixed, default: null },
    updatedAt: { type: Date, required: true },
    /** Bumped by every write: changes are read-merge-write (the values are encrypted whole), compared on it. */
    rev: { type: Number, default: 0 },
  },
  { collection: 'privacy_settings', versionKey: false },
);
// One settings document per subject per tenant; also serves `tenantId` lookups (prefix).
privacySettingsSchema.index({ tenantId: 1, subjectId: 1 }, { unique: true });
// A person's choices are their personal data: envelopes under the subject's key, erased with it.
privacySettingsSchema.plugin(encryptedFields, { collection: 'privacy_settings', paths: storedPiiPaths('privacy', 'privacy_settings').map((p) => p.path), subjectPath: 'subjectId' });

/**
 * The `_id` of a subject's settings in a tenant: derived, so the first
 * write can name it, and hashed, so the subject id does not travel in
 * audit targets and entity references.
 */
export function settingsId(tenantId: string, subjectId: string): string {
  return createHash('sha256').update(`privacy-settings\0${tenantId}\0${subjectId}`, 'utf8').digest('hex').slice(0, 24);
}

const dataSubjectRequestSchema = new Schema<DataSubjectRequestDoc>(
  {
    tenantId: { type: String, required: true },
    subjectId: { type: String, required: true },
    kind: { type: String, enum: DSR_KINDS, required: true },
    status: { type: String, enum: DSR_STATUSES, required: true },
    receivedAt: { type: Date, required: true },
    dueAt: { type: Date, required: true },
    /** Set once, when the deadline was extended; a request is extended at most once. */
    extendedAt: { type: Date, default: null },
    legalHolds: { type: [String], default: [] },
    completedAt: { type: Date, default: null },
    erasure: {
      type: new Schema<DsrErasureDoc>({ executedAt: { type: Date, required: true }, keysDestroyed: { type: Number, required: true }, documentsUnindexed: { type: Schema.Types.Mixed, default: {} } }, { _id: false }),
      default: null,
    },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'data_subject_requests', versionKey: false },
);
// The list order (oldest deadline first, id as tie-break) within a tenant.
dataSubjectRequestSchema.index({ tenantId: 1, dueAt: 1, _id: 1 });
dataSubjectRequestSchema.index({ tenantId: 1, subjectId: 1 });


export interface PrivacyModels {
  PrivacySettings: Model<PrivacySettingsDoc>;
  DataSubjectRequest: Model<DataSubjectRequestDoc>;
}

/** The models on `conn`, compiled once per connection. */
export function createModels(conn: Connection): PrivacyModels {
  return {
    PrivacySettings: (conn.models.PrivacySettings as Model<PrivacySettingsDoc>) ?? conn.model<PrivacySettingsDoc>('PrivacySettings', privacySettingsSchema),
    DataSubjectRequest:
      (conn.models.DataSubjectRequest as Model<DataSubjectRequestDoc>) ?? conn.model<DataSubjectRequestDoc>('DataSubjectRequest', dataSubjectRequestSchema),
  };
}

/** Builds the declared indexes (unique settings per subject and tenant); call before serving. */
export async function ensureIndexes(models: PrivacyModels): Promise<void> {
  await Promise.all([models.PrivacySettings.init(), models.DataSubjectRequest.init()]);
}
