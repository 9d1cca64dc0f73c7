/**
 * The `elevations` collection: one document per just-in-time elevation
 * request. The stored status is PENDING, APPROVED or DENIED; EXPIRED is never
 * written, it is read from `expiresAt` (see service.ts). Self-contained (no
 * import from ../model) so ../model.ts can mount it without an import cycle.
 */
import { Schema, Types, type Connection, type Model } from 'mongoose';
import { encryptedFields } from '../../../lib/crypto/model-encryption';
import { storedPiiPaths } from '../../../lib/pii';

/** What is stored. EXPIRED is computed, never stored. */
export const STORED_ELEVATION_STATUSES = ['PENDING', 'APPROVED', 'DENIED'] as const;
export type StoredElevationStatus = (typeof STORED_ELEVATION_STATUSES)[number];

export interface ElevationDoc {
  _id: string;
  tenantId: string;
  /** User id of the person asking. */
  requesterId: string;
  /** Exactly one of `role` and `scope` is set. */
  role: string | null;
  scope: string | null;
  /** Why the rights are needed. SENSITIVE: never in logs or audit details. */
  reason: string;
  /** Change or incident ticket, e.g. `CHG-1234`. */
  ticket: string;
  requestedAt: Date;
  durationMinutes: number;
  status: StoredElevationStatus;
  approvedBy: string | null;
  deniedBy: string | null;
  /** Why it was denied. SENSITIVE, like `reason`. */
  denialReason: string | null;
  decidedAt: Date | null;
  /** `decidedAt + durationMinutes` for an approval; null otherwise. The elevation is active while `now < expiresAt`. */
  expiresAt: Date | null;
  /** Approved outside the configured change window. Null until approved. */
  outsideChangeWindow: boolean | null;
  /** When the expiry was audited (lazily, the first time the expired elevation was read); null before. */
  expiryRecordedAt: Date | null;
}

const elevationSchema = new Schema<ElevationDoc>(
  {
    _id: { type: String, default: () => new Types.ObjectId().toHexString() },
    tenantId: { type: String, required: true },
    requesterId: { type: String, required: true },
    role: { type: String, default: null },
    scope: { type: String, default: null },
    reason: { type: Schema.Types.Mixed, required: true },
    ticket: { type: String, required: true },
    requestedAt: { type: Date, required: true },
    durationMinutes: { type: Number, required: true, min: 1, max: 240 },
    status: { type: String, enum: STORED_ELEVATION_STATUSES, required: true },
    approvedBy: { type: String, default: null },
    deniedBy: { type: String, default: null },
    denialReason: { type: Schema.Types.Mixed, default: null },
    decidedAt: { type: Date, default: null },
    expiresAt: { type: Date, default: null },
    outsideChangeWindow: { type: Boolean, default: null },
    expiryRecordedAt: { type: Date, default: null },
  },
  { collection: 'elevations', versionKey: false },
);
// `elevations(first, after)` for a SECURITY_ADMIN: newest first within the tenant.
elevationSchema.index({ tenantId: 1, requestedAt: -1, _id: -1 });
// Everyone else sees their own, newest first.
elevationSchema.index({ tenantId: 1, requesterId: 1, requestedAt: -1, _id: -1 });
// `activeElevationsFor` on every request: the caller's approvals not yet expired.
elevationSchema.index({ tenantId: 1, requesterId: 1, status: 1, expiresAt: 1 });
// Reasons are the requester's words about their work (SENSITIVE): envelopes under the requester's key.
elevationSchema.plugin(encryptedFields, { collection: 'elevations', paths: storedPiiPaths('identity', 'elevations').map((p) => p.path), subjectPath: 'requesterId' });

/** The elevation model on `conn`, compiled once per connection. */
export function createElevationModel(conn: Connection): Model<ElevationDoc> {
  return (conn.models.IdentityElevation as Model<ElevationDoc> | undefined) ?? conn.model<ElevationDoc>('IdentityElevation', elevationSchema);
}
