/**
 * Mongoose schemas of the privacy subgraph. Both collections are
 * tenant-owned: every document carries `tenantId`, and every query filters
 * on it (see service.ts). Personal data here: the settings themselves and
 * the contents of data-subject requests (DOMAIN.md, PII classification).
 */
import { Schema, type Connection, type Model, type Types } from 'mongoose';

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
  _id: Types.ObjectId;
  tenantId: string;
  subjectId: string;
  notificationChannels: NotificationChannel[];
  dataSharing: DataSharing;
  updatedAt: Date;
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
  createdAt: Date;
  updatedAt: Date;
}

const dataSharingSchema = new Schema<DataSharing>(
  {
    analytics: { type: Boolean, required: true, default: false },
    marketing: { type: Boolean, required: true, default: false },
    partners: { type: Boolean, required: true, default: false },
  },
  { _id: false },
);

/** One data subject's choices in one tenant. Absent document = defaults. */
const privacySettingsSchema = new Schema<PrivacySettingsDoc>(
  {
    tenantId: { type: String, required: true },
    subjectId: { type: String, required: true },
    notificationChannels: { type: [{ type: String, enum: NOTIFICATION_CHANNELS }], default: [] },
    dataSharing: { type: dataSharingSchema, required: true, default: () => ({}) },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'privacy_settings', versionKey: false },
);
// One settings document per subject per tenant; also serves `tenantId` lookups (prefix).
privacySettingsSchema.index({ tenantId: 1, subjectId: 1 }, { unique: true });

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
