/**
 * The one interface security events are recorded through. Today it writes
 * plain records; the audit-trail work adds the hash chain and signed
 * checkpoints behind the same `record` call.
 */
import type { Connection } from 'mongoose';
import { Schema } from 'mongoose';

export interface AuditEvent {
  /** What happened, e.g. `shipment.created`, `tenant.created`. */
  type: string;
  actor: string;
  tenantId?: string;
  /** Entity the event is about, e.g. `Shipment:665f…`. */
  target?: string;
  requestId?: string;
  /**
   * Non-personal details only — with one exception: the `reason` of a
   * `pii.revealed` record (lib/reveal.ts), which the audit trail exists to
   * keep (it never reaches logs).
   */
  details?: Record<string, unknown>;
}

export interface AuditSink {
  /** Resolves once the event is stored. Throwing fails the operation that caused it. */
  record(event: AuditEvent): Promise<void>;
}

export class MemoryAuditSink implements AuditSink {
  readonly events: Array<AuditEvent & { at: Date }> = [];
  async record(event: AuditEvent): Promise<void> {
    this.events.push({ ...event, at: new Date() });
  }
}

const auditSchema = new Schema(
  {
    type: { type: String, required: true },
    actor: { type: String, required: true },
    tenantId: String,
    target: String,
    requestId: String,
    details: Schema.Types.Mixed,
    at: { type: Date, required: true },
  },
  { collection: 'audit_events', versionKey: false },
);

export class MongoAuditSink implements AuditSink {
  private readonly model;
  constructor(conn: Connection) {
    this.model = conn.models.AuditEvent ?? conn.model('AuditEvent', auditSchema);
  }
  async record(event: AuditEvent): Promise<void> {
    await this.model.create({ ...event, at: new Date() });
  }
}
